package nomad

import (
	"cmp"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/hearthfn/hearth/agent/instance"
)

// jobEntry is what the driver keeps of one of hearth's jobs: the job list's stub, trimmed.
type jobEntry struct {
	ID          string
	Meta        map[string]string
	Stop        bool // stopped (`nomad job stop`) but not purged
	CreateIndex uint64
	ModifyIndex uint64
}

func jobFromStub(j *api.JobListStub) jobEntry {
	return jobEntry{ID: j.ID, Meta: j.Meta, Stop: j.Stop, CreateIndex: j.CreateIndex, ModifyIndex: j.ModifyIndex}
}

func jobFromJob(j *api.Job) jobEntry {
	e := jobEntry{Meta: j.Meta}
	if j.ID != nil {
		e.ID = *j.ID
	}
	if j.Stop != nil {
		e.Stop = *j.Stop
	}
	if j.CreateIndex != nil {
		e.CreateIndex = *j.CreateIndex
	}
	if j.ModifyIndex != nil {
		e.ModifyIndex = *j.ModifyIndex
	}
	return e
}

// owned reports whether a job is one of hearth's instances: a job named like one but made by
// someone else is not touched.
func (j jobEntry) owned() bool {
	return j.Meta[instance.LabelOwner] == instance.OwnerValue && j.Meta[instance.LabelInstance] != ""
}

// stubOf trims a full allocation to the list's stub, which is what the view keeps.
func stubOf(a *api.Allocation) *api.AllocationListStub {
	return &api.AllocationListStub{
		ID: a.ID, EvalID: a.EvalID, Name: a.Name, Namespace: a.Namespace, NodeID: a.NodeID, NodeName: a.NodeName,
		JobID: a.JobID, TaskGroup: a.TaskGroup, AllocatedResources: a.AllocatedResources,
		DesiredStatus: a.DesiredStatus, DesiredDescription: a.DesiredDescription,
		ClientStatus: a.ClientStatus, ClientDescription: a.ClientDescription, TaskStates: a.TaskStates,
		CreateIndex: a.CreateIndex, ModifyIndex: a.ModifyIndex, CreateTime: a.CreateTime, ModifyTime: a.ModifyTime,
	}
}

// merge replaces a map with a list Nomad answered at index at, keeping what the driver learnt
// itself after that index: an entry it added that the answer predates, and the removal of
// one the answer still lists (removed: key → index of the removal). Of an entry in both, the
// later one wins. A blocking query's answer may be computed just before a write the driver
// made and arrive just after it; without this, a job Start just registered would vanish from
// List for a moment, and one Stop just purged would come back.
func merge[T any](cur map[string]T, list []T, at uint64, key func(T) string, index func(T) uint64, removed map[string]uint64) map[string]T {
	next := make(map[string]T, len(list))
	for _, e := range list {
		k := key(e)
		if r, ok := removed[k]; ok && r > at {
			continue
		}
		if c, ok := cur[k]; ok && index(c) > index(e) {
			e = c
		}
		next[k] = e
	}
	for k, c := range cur {
		if _, ok := next[k]; ok || index(c) <= at {
			continue
		}
		if r, ok := removed[k]; ok && r > at {
			continue
		}
		next[k] = c
	}
	return next
}

// instanceAlloc picks the allocation that is the instance: the job's first (the one Start saw
// run). Nomad makes no other for hearth's jobs, which neither restart nor reschedule, except
// when it migrates one off a draining node or an operator stops one (`nomad alloc stop`):
// the instance is then gone (its endpoint went with its allocation) and the pool replaces it.
// Allocations older than the job are of an earlier job of the same name.
func instanceAlloc(j jobEntry, allocs []*api.AllocationListStub) *api.AllocationListStub {
	var first *api.AllocationListStub
	for _, a := range allocs {
		if a.JobID != j.ID || a.CreateIndex < j.CreateIndex {
			continue
		}
		if first == nil || a.CreateIndex < first.CreateIndex {
			first = a
		}
	}
	return first
}

// statusOf is an instance's status from its job and allocation (nil: not placed yet).
func statusOf(j jobEntry, a *api.AllocationListStub) instance.Status {
	st := instance.Status{
		Instance: instance.Instance{ID: j.Meta[instance.LabelInstance]},
		Function: j.Meta[instance.LabelFunction],
		Labels:   j.Meta,
		State:    instance.StateStarting,
	}
	if a == nil {
		if j.Stop {
			st.State, st.Reason = instance.StateExited, "the job was stopped"
		}
		return st
	}
	st.Instance.DriverRef = a.ID
	st.Instance.Endpoint = endpointOf(a.AllocatedResources)
	ts := a.TaskStates[taskName]
	st.Instance.StartedAt = time.Unix(0, a.CreateTime)
	if ts != nil && !ts.StartedAt.IsZero() {
		st.Instance.StartedAt = ts.StartedAt
	}
	switch a.ClientStatus {
	case api.AllocClientStatusPending:
		st.State = instance.StateStarting
	case api.AllocClientStatusRunning:
		st.State = instance.StateRunning
	case api.AllocClientStatusComplete, api.AllocClientStatusFailed, api.AllocClientStatusLost:
		st.State = instance.StateExited
		st.ExitCode, st.OOMKilled, st.Reason = exitOf(a)
	default: // unknown: its node is disconnected; the task may or may not still run
		st.State = instance.StateUnknown
		st.Reason = a.ClientDescription
	}
	return st
}

// exitOf reads how an allocation's task ended from its events: the exit code of the last
// Terminated event, whether that was the kernel's OOM killer, and the most telling reason.
func exitOf(a *api.AllocationListStub) (code int, oom bool, reason string) {
	var failure, terminated string
	if ts := a.TaskStates[taskName]; ts != nil {
		for _, ev := range ts.Events {
			switch ev.Type {
			case api.TaskTerminated:
				code = ev.ExitCode
				if c, err := strconv.Atoi(ev.Details["exit_code"]); err == nil {
					code = c
				}
				oom = ev.Details["oom_killed"] == "true"
				terminated = eventMessage(ev)
			case api.TaskDriverFailure, api.TaskSetupFailure, api.TaskFailedValidation:
				failure = eventMessage(ev)
			}
		}
	}
	switch {
	case oom:
		reason = "killed: out of memory"
	case a.DesiredStatus != "" && a.DesiredStatus != api.AllocDesiredStatusRun && a.DesiredDescription != "":
		reason = a.DesiredDescription // stopped from outside: that is the cause
	case failure != "":
		reason = failure
	case terminated != "":
		reason = terminated
	default:
		reason = a.ClientDescription
	}
	return code, oom, reason
}

func eventMessage(ev *api.TaskEvent) string {
	for _, m := range []string{ev.DisplayMessage, ev.Details["driver_error"], ev.Message, ev.DriverError} {
		if m != "" {
			return m
		}
	}
	return ev.Type
}

// endpointOf is the host address and port of the allocation's "http" port. Nomad 1.11 reports
// a group network's ports in the shared resources; the task's own networks are where older
// task-level network blocks put them.
func endpointOf(ar *api.AllocatedResources) string {
	if ar == nil {
		return ""
	}
	for _, p := range ar.Shared.Ports {
		if p.Label == portLabel && p.HostIP != "" && p.Value > 0 {
			return net.JoinHostPort(p.HostIP, strconv.Itoa(p.Value))
		}
	}
	nets := ar.Shared.Networks
	if t := ar.Tasks[taskName]; t != nil {
		nets = append(slices.Clone(nets), t.Networks...)
	}
	for _, n := range nets {
		for _, p := range n.DynamicPorts {
			if p.Label == portLabel && n.IP != "" && p.Value > 0 {
				return net.JoinHostPort(n.IP, strconv.Itoa(p.Value))
			}
		}
	}
	return ""
}

// terminal reports whether an allocation is done for good.
func terminal(a *api.AllocationListStub) bool {
	switch a.ClientStatus {
	case api.AllocClientStatusComplete, api.AllocClientStatusFailed, api.AllocClientStatusLost:
		return true
	}
	return false
}

// eachInstance calls fn with each of hearth's jobs and the allocation that is its instance
// (nil: not placed yet).
func eachInstance(jobs map[string]jobEntry, allocs map[string]*api.AllocationListStub, fn func(jobEntry, *api.AllocationListStub)) {
	byJob := map[string][]*api.AllocationListStub{}
	for _, a := range allocs {
		byJob[a.JobID] = append(byJob[a.JobID], a)
	}
	for _, j := range jobs {
		if j.owned() {
			fn(j, instanceAlloc(j, byJob[j.ID]))
		}
	}
}

// statuses joins jobs and allocations into the instances' statuses, sorted by id.
func statuses(jobs map[string]jobEntry, allocs map[string]*api.AllocationListStub) []instance.Status {
	list := make([]instance.Status, 0, len(jobs))
	eachInstance(jobs, allocs, func(j jobEntry, a *api.AllocationListStub) { list = append(list, statusOf(j, a)) })
	slices.SortFunc(list, func(a, b instance.Status) int { return cmp.Compare(a.Instance.ID, b.Instance.ID) })
	return list
}

// view is the driver's picture of hearth's jobs and their allocations, kept current by the
// watcher (watch.go) and by the driver's own writes, so that List and Inspect cost no round
// trip to Nomad. It is safe for concurrent use.
type view struct {
	mu      sync.Mutex
	jobs    map[string]jobEntry                // by job ID
	allocs  map[string]*api.AllocationListStub // by allocation ID, of jobs named hearth-*
	removed map[string]uint64                  // job ID → index of its purge, until the job list shows it
	// jobsSynced and allocsSynced say that the watcher's last query of each list succeeded: the
	// view is then as current as a blocking query makes it.
	jobsSynced, allocsSynced bool
	// jobsErr and allocsErr are why each list's last query failed, until one succeeds again:
	// what Watch returns (events.go).
	jobsErr, allocsErr error
	// changed is closed, and replaced, at every change (log follows and Watch wait on it).
	changed chan struct{}
}

func newView() *view {
	return &view{jobs: map[string]jobEntry{}, allocs: map[string]*api.AllocationListStub{},
		removed: map[string]uint64{}, changed: make(chan struct{})}
}

func jobKey(j jobEntry) string                    { return j.ID }
func jobIndex(j jobEntry) uint64                  { return j.ModifyIndex }
func allocKey(a *api.AllocationListStub) string   { return a.ID }
func allocIndex(a *api.AllocationListStub) uint64 { return a.ModifyIndex }
func (v *view) notifyLocked()                     { close(v.changed); v.changed = make(chan struct{}) }
func (v *view) syncedLocked() bool                { return v.jobsSynced && v.allocsSynced }

// setJobs takes the job list Nomad answered at index.
func (v *view) setJobs(list []jobEntry, at uint64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.jobs = merge(v.jobs, list, at, jobKey, jobIndex, v.removed)
	for k, r := range v.removed {
		if r <= at {
			delete(v.removed, k)
		}
	}
	v.jobsSynced, v.jobsErr = true, nil
	v.notifyLocked()
}

// withOwnWrites returns jobs Nomad listed at index at with the driver's own later writes
// applied (see merge), without changing the view: for a listing made while it is not current.
func (v *view) withOwnWrites(jobs []jobEntry, at uint64) map[string]jobEntry {
	v.mu.Lock()
	defer v.mu.Unlock()
	return merge(v.jobs, jobs, at, jobKey, jobIndex, v.removed)
}

// setAllocs takes the allocation list Nomad answered at index.
func (v *view) setAllocs(list []*api.AllocationListStub, at uint64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.allocs = merge(v.allocs, list, at, allocKey, allocIndex, nil)
	v.allocsSynced, v.allocsErr = true, nil
	v.notifyLocked()
}

// unsynced marks one list as no longer current because its query failed with err: List and
// Inspect ask Nomad until the watcher has it again, and Watch ends with err.
func (v *view) unsynced(jobs bool, err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if jobs {
		v.jobsSynced, v.jobsErr = false, err
	} else {
		v.allocsSynced, v.allocsErr = false, err
	}
	v.notifyLocked()
}

// started records what Start saw: the job it registered and its running allocation.
func (v *view) started(j jobEntry, a *api.AllocationListStub) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if c, ok := v.jobs[j.ID]; !ok || c.ModifyIndex < j.ModifyIndex {
		v.jobs[j.ID] = j
	}
	if c, ok := v.allocs[a.ID]; !ok || c.ModifyIndex < a.ModifyIndex {
		v.allocs[a.ID] = a
	}
	v.notifyLocked()
}

// purged records that Stop purged a job at index.
func (v *view) purged(jobID string, at uint64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.jobs, jobID)
	v.removed[jobID] = at
	v.notifyLocked()
}

// list returns every instance, and false when the view is not current.
func (v *view) list() ([]instance.Status, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.syncedLocked() {
		return nil, false
	}
	return statuses(v.jobs, v.allocs), true
}

// lookup returns an instance's job and allocation (nil when not placed), and whether the view
// knows the instance (never when it is not current).
func (v *view) lookup(id string) (jobEntry, *api.AllocationListStub, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	j, ok := v.jobs[jobID(id)]
	if !ok || !j.owned() || !v.syncedLocked() {
		return jobEntry{}, nil, false
	}
	return j, v.instanceAllocLocked(j), true
}

// ended reports whether the view, being current, shows the instance gone or its allocation
// ended.
func (v *view) ended(id string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.syncedLocked() {
		return false
	}
	j, ok := v.jobs[jobID(id)]
	if !ok {
		return true
	}
	a := v.instanceAllocLocked(j)
	return a != nil && terminal(a)
}

func (v *view) instanceAllocLocked(j jobEntry) *api.AllocationListStub {
	var allocs []*api.AllocationListStub
	for _, a := range v.allocs {
		if a.JobID == j.ID {
			allocs = append(allocs, a)
		}
	}
	return instanceAlloc(j, allocs)
}

// wait returns a channel closed at the view's next change.
func (v *view) wait() <-chan struct{} {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.changed
}
