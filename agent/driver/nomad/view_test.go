package nomad

import (
	"errors"
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/hearthfn/hearth/agent/instance"
)

func TestMerge(t *testing.T) {
	type e struct {
		k string
		i uint64
	}
	key := func(x e) string { return x.k }
	idx := func(x e) uint64 { return x.i }
	cur := map[string]e{
		"old":       {"old", 5},       // listed again: kept
		"gone":      {"gone", 5},      // not listed at 10: removed by someone
		"mine":      {"mine", 12},     // added by the driver after the answer at 10: kept
		"newer":     {"newer", 11},    // the answer has it older: the driver's is kept
		"purged":    {"purged", 5},    // purged by the driver at 12, listed at 10: stays out
		"purgedOld": {"purgedOld", 5}, // purged at 8, listed at 10: the answer wins
	}
	list := []e{{"old", 5}, {"newer", 9}, {"purged", 5}, {"purgedOld", 9}, {"fresh", 10}}
	removed := map[string]uint64{"purged": 12, "purgedOld": 8, "mine-purged": 3}
	got := merge(cur, list, 10, key, idx, removed)
	want := map[string]e{"old": {"old", 5}, "mine": {"mine", 12}, "newer": {"newer", 11}, "purgedOld": {"purgedOld", 9}, "fresh": {"fresh", 10}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("merge =\n%v\nwant\n%v", got, want)
	}
}

func stub(id, job string, create uint64, status string, events ...*api.TaskEvent) *api.AllocationListStub {
	return &api.AllocationListStub{
		ID: id, JobID: job, ClientStatus: status, DesiredStatus: api.AllocDesiredStatusRun, CreateIndex: create, ModifyIndex: create,
		CreateTime: time.Unix(100, 0).UnixNano(),
		TaskStates: map[string]*api.TaskState{taskName: {StartedAt: time.Unix(200, 0), Events: events}},
		AllocatedResources: &api.AllocatedResources{Shared: api.AllocatedSharedResources{
			Ports: []api.PortMapping{{Label: portLabel, Value: 25000, To: 8080, HostIP: "10.0.0.7"}},
		}},
	}
}

func testJob(id string, create uint64) jobEntry {
	return jobEntry{ID: jobID(id), CreateIndex: create, ModifyIndex: create, Meta: map[string]string{
		instance.LabelOwner: instance.OwnerValue, instance.LabelInstance: id, instance.LabelFunction: "fn1",
	}}
}

func TestStatusOf(t *testing.T) {
	j := testJob("i1", 10)
	terminated := func(code string, oom bool) *api.TaskEvent {
		d := map[string]string{"exit_code": code}
		if oom {
			d["oom_killed"] = "true"
		}
		return &api.TaskEvent{Type: api.TaskTerminated, Details: d, DisplayMessage: "Exit Code: " + code}
	}
	stopped := stub("a", j.ID, 11, api.AllocClientStatusComplete, terminated("143", false))
	stopped.DesiredStatus, stopped.DesiredDescription = api.AllocDesiredStatusStop, "alloc was stopped by user"
	for _, c := range []struct {
		name  string
		job   jobEntry
		alloc *api.AllocationListStub
		state instance.State
		code  int
		oom   bool
		why   string
	}{
		{"not placed", j, nil, instance.StateStarting, 0, false, ""},
		{"job stopped, nothing placed", jobEntry{ID: j.ID, Meta: j.Meta, Stop: true}, nil, instance.StateExited, 0, false, "the job was stopped"},
		{"pending", j, stub("a", j.ID, 11, api.AllocClientStatusPending), instance.StateStarting, 0, false, ""},
		{"running", j, stub("a", j.ID, 11, api.AllocClientStatusRunning), instance.StateRunning, 0, false, ""},
		{"exited", j, stub("a", j.ID, 11, api.AllocClientStatusFailed, terminated("3", false)), instance.StateExited, 3, false, "Exit Code: 3"},
		{"oom", j, stub("a", j.ID, 11, api.AllocClientStatusFailed, terminated("137", true)), instance.StateExited, 137, true, "killed: out of memory"},
		{"stopped from outside", j, stopped, instance.StateExited, 143, false, "alloc was stopped by user"},
		{"driver failure", j, stub("a", j.ID, 11, api.AllocClientStatusFailed,
			&api.TaskEvent{Type: api.TaskDriverFailure, DisplayMessage: "Failed to pull `x:1`"}), instance.StateExited, 0, false, "Failed to pull `x:1`"},
		{"lost", j, stub("a", j.ID, 11, api.AllocClientStatusLost), instance.StateExited, 0, false, ""},
		{"unknown", j, stub("a", j.ID, 11, api.AllocClientStatusUnknown), instance.StateUnknown, 0, false, ""},
	} {
		st := statusOf(c.job, c.alloc)
		if st.State != c.state || st.ExitCode != c.code || st.OOMKilled != c.oom || st.Reason != c.why {
			t.Errorf("%s: %s code %d oom %v %q; want %s code %d oom %v %q", c.name, st.State, st.ExitCode, st.OOMKilled, st.Reason,
				c.state, c.code, c.oom, c.why)
		}
		if st.Instance.ID != "i1" || st.Function != "fn1" || st.Labels[instance.LabelOwner] != "hearth" {
			t.Errorf("%s: instance %+v function %q labels %v", c.name, st.Instance, st.Function, st.Labels)
		}
		if c.alloc != nil && (st.Instance.DriverRef != "a" || st.Instance.Endpoint != "10.0.0.7:25000" || !st.Instance.StartedAt.Equal(time.Unix(200, 0))) {
			t.Errorf("%s: instance %+v, want allocation a at 10.0.0.7:25000 started at the task's start", c.name, st.Instance)
		}
	}
}

func TestInstanceAlloc(t *testing.T) {
	j := testJob("i1", 10)
	allocs := []*api.AllocationListStub{
		stub("older-job", j.ID, 5, api.AllocClientStatusComplete), // an earlier job of that name
		stub("replacement", j.ID, 30, api.AllocClientStatusRunning),
		stub("first", j.ID, 11, api.AllocClientStatusComplete),
		stub("other", jobID("i2"), 12, api.AllocClientStatusRunning),
	}
	if a := instanceAlloc(j, allocs); a == nil || a.ID != "first" {
		t.Errorf("instanceAlloc = %v, want the job's first allocation", a)
	}
	if a := instanceAlloc(testJob("i3", 1), allocs); a != nil {
		t.Errorf("instanceAlloc of a job without allocations = %v", a.ID)
	}
}

func TestEndpointOf(t *testing.T) {
	shared := &api.AllocatedResources{Shared: api.AllocatedSharedResources{Ports: []api.PortMapping{
		{Label: "other", Value: 1, HostIP: "10.0.0.1"}, {Label: portLabel, Value: 2, HostIP: "10.0.0.2"}}}}
	task := &api.AllocatedResources{Tasks: map[string]*api.AllocatedTaskResources{taskName: {Networks: []*api.NetworkResource{
		{IP: "10.0.0.3", DynamicPorts: []api.Port{{Label: portLabel, Value: 3}}}}}}}
	for _, c := range []struct {
		ar   *api.AllocatedResources
		want string
	}{{shared, "10.0.0.2:2"}, {task, "10.0.0.3:3"}, {nil, ""}, {&api.AllocatedResources{}, ""}} {
		if got := endpointOf(c.ar); got != c.want {
			t.Errorf("endpointOf(%+v) = %q, want %q", c.ar, got, c.want)
		}
	}
}

func TestStatusesOnlyHearthsJobs(t *testing.T) {
	mine, foreign := testJob("i1", 10), jobEntry{ID: jobID("x"), Meta: map[string]string{"team": "other"}}
	jobs := map[string]jobEntry{mine.ID: mine, foreign.ID: foreign}
	allocs := map[string]*api.AllocationListStub{"a": stub("a", mine.ID, 11, api.AllocClientStatusRunning)}
	list := statuses(jobs, allocs)
	if len(list) != 1 || list[0].Instance.ID != "i1" || list[0].State != instance.StateRunning {
		t.Errorf("statuses = %+v, want i1 running only", list)
	}
}

func TestCapacityOf(t *testing.T) {
	node := func(name, dc string, change func(n *api.NodeListStub)) *api.NodeListStub {
		n := &api.NodeListStub{
			Name: name, Datacenter: dc, Status: api.NodeStatusReady, SchedulingEligibility: api.NodeSchedulingEligible,
			Drivers:           map[string]*api.DriverInfo{"docker": {Detected: true, Healthy: true}},
			NodeResources:     &api.NodeResources{Cpu: api.NodeCpuResources{CpuShares: 8000, TotalCpuCores: 4}, Memory: api.NodeMemoryResources{MemoryMB: 16384}},
			ReservedResources: &api.NodeReservedResources{Cpu: api.NodeReservedCpuResources{CpuShares: 1000}, Memory: api.NodeReservedMemoryResources{MemoryMB: 1024}},
		}
		if change != nil {
			change(n)
		}
		return n
	}
	nodes := []*api.NodeListStub{
		node("a", "dc1", nil),
		node("b", "dc2", func(n *api.NodeListStub) {
			n.NodeResources.Cpu = api.NodeCpuResources{CpuShares: 4000, TotalCpuCores: 1}
		}),
		node("down", "dc1", func(n *api.NodeListStub) { n.Status = api.NodeStatusDown }),
		node("ineligible", "dc1", func(n *api.NodeListStub) { n.SchedulingEligibility = api.NodeSchedulingIneligible }),
		node("draining", "dc1", func(n *api.NodeListStub) { n.Drain = true }),
		node("no-docker", "dc1", func(n *api.NodeListStub) { n.Drivers = nil }),
		node("sick-docker", "dc1", func(n *api.NodeListStub) { n.Drivers["docker"].Healthy = false }),
	}
	all := capacityOf(nodes, nil)
	if want := (capacity{mhz: 12000, cores: 5, freeMHz: 10000, memoryMB: 30720}); all != want {
		t.Errorf("capacityOf(all) = %+v, want %+v", all, want)
	}
	if got := capacityOf(nodes, []string{"dc1"}); got.cores != 4 || got.memoryMB != 15360 {
		t.Errorf("capacityOf(dc1) = %+v, want node a only", got)
	}
	if got := capacityOf(nodes, []string{"dc*"}); got != all {
		t.Errorf("capacityOf(dc*) = %+v, want %+v", got, all)
	}
}

func TestViewKeepsItsOwnWrites(t *testing.T) {
	v := newView()
	if _, ok := v.list(); ok {
		t.Fatal("a view that never synced says it is current")
	}
	v.setJobs(nil, 10)
	v.setAllocs(nil, 10)
	j := testJob("i1", 12)
	v.started(j, stub("a", j.ID, 13, api.AllocClientStatusRunning))
	// A blocking query answered at 11, before the registration, arrives after it.
	v.setJobs(nil, 11)
	v.setAllocs(nil, 11)
	if list, _ := v.list(); len(list) != 1 || list[0].State != instance.StateRunning {
		t.Fatalf("after a stale answer: %+v, want i1 running", list)
	}
	v.purged(j.ID, 20)
	// One answered at 15, before the purge, still lists the job.
	v.setJobs([]jobEntry{j}, 15)
	if list, _ := v.list(); len(list) != 0 {
		t.Fatalf("after a stale answer: %+v, want nothing once purged", list)
	}
	if !v.ended("i1") {
		t.Error("ended(i1) = false for a purged instance")
	}
	v.setJobs(nil, 21)
	if len(v.removed) != 0 {
		t.Errorf("removals %v kept after the list caught up", slices.Collect(maps.Keys(v.removed)))
	}
	v.unsynced(false, errors.New("no leader"))
	if _, ok := v.list(); ok {
		t.Error("the view says it is current after a failed query")
	}
	if v.ended("i1") {
		t.Error("ended(i1) = true while the view is not current")
	}
}
