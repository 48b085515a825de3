package nomad

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

// fakeNomad is an httptest server that answers the few endpoints of Nomad's HTTP API the driver
// calls, from state in memory, with Nomad's blocking queries (?index=&wait=) and its X-Nomad-Index
// header. Tests script what a registration turns into (placed, running, failed) and which routes
// fail; the real agent's behaviour is checked by the integration tests.
type fakeNomad struct {
	t   *testing.T
	srv *httptest.Server

	mu      sync.Mutex
	index   uint64
	changed chan struct{} // closed and replaced at every write
	jobs    map[string]*api.Job
	allocs  map[string]*api.Allocation
	evals   map[string]*api.Evaluation
	logs    map[string]string // "stdout", "stderr" → the task's output
	// failing answers every request whose path starts with a key with that status and body.
	failing map[string]failure
	// placement, when set, decides a registration's evaluation: a non-nil metric fails it.
	placement func(job *api.Job) *api.AllocationMetric
	// outcome, when set, decides the allocation's client status and task events.
	outcome func(job *api.Job) (status string, events []*api.TaskEvent)
	// requests counts the requests answered, by "METHOD path".
	requests map[string]int
	// deregisters records each DELETE of a job: "ID purge=BOOL".
	deregisters []string
	// parked counts the blocking queries waiting for the index to move.
	parked int
}

type failure struct {
	code int
	body string
}

func newFakeNomad(t *testing.T) *fakeNomad {
	f := &fakeNomad{
		t: t, index: 10, changed: make(chan struct{}),
		jobs: map[string]*api.Job{}, allocs: map[string]*api.Allocation{}, evals: map[string]*api.Evaluation{},
		logs: map[string]string{}, failing: map[string]failure{}, requests: map[string]int{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/agent/self", f.agentSelf)
	mux.HandleFunc("GET /v1/nodes", f.nodes)
	mux.HandleFunc("GET /v1/jobs", f.listJobs)
	mux.HandleFunc("PUT /v1/jobs", f.register)
	mux.HandleFunc("GET /v1/job/{id}", f.readJob)
	mux.HandleFunc("DELETE /v1/job/{id}", f.deregister)
	mux.HandleFunc("GET /v1/job/{id}/allocations", f.jobAllocs)
	mux.HandleFunc("GET /v1/evaluation/{id}", f.readEval)
	mux.HandleFunc("GET /v1/allocations", f.listAllocs)
	mux.HandleFunc("GET /v1/allocation/{id}", f.readAlloc)
	mux.HandleFunc("GET /v1/client/fs/logs/{id}", f.readLogs)
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.requests[r.Method+" "+r.URL.Path]++
		var fail *failure
		for prefix, fl := range f.failing {
			if strings.HasPrefix(r.URL.Path, prefix) {
				fail = &fl
			}
		}
		f.mu.Unlock()
		if fail != nil {
			http.Error(w, fail.body, fail.code)
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// driver returns a driver for the fake, closed when the test ends.
func (f *fakeNomad) driver(cfg Config) *Driver {
	f.t.Helper()
	cfg.Address = f.srv.URL
	if cfg.Logger == nil {
		cfg.Logger = testLogger(f.t)
	}
	if cfg.WaitTime == 0 {
		cfg.WaitTime = 5 * time.Second
	}
	d, err := New(cfg)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { _ = d.Close() })
	return d
}

func (f *fakeNomad) fail(prefix string, code int, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failing[prefix] = failure{code, body}
}

func (f *fakeNomad) heal() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failing = map[string]failure{}
}

func (f *fakeNomad) count(req string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests[req]
}

// bumpLocked moves the index on and wakes the blocking queries.
func (f *fakeNomad) bumpLocked() uint64 {
	f.index++
	close(f.changed)
	f.changed = make(chan struct{})
	return f.index
}

// block waits, for a blocking query, until the index passes the one asked for or the wait ends.
func (f *fakeNomad) block(r *http.Request) {
	min, _ := strconv.ParseUint(r.URL.Query().Get("index"), 10, 64)
	wait, _ := time.ParseDuration(r.URL.Query().Get("wait"))
	deadline := time.After(wait)
	for {
		f.mu.Lock()
		if min == 0 || f.index > min {
			f.mu.Unlock()
			return
		}
		ch := f.changed
		f.parked++
		f.mu.Unlock()
		ended := false
		select {
		case <-ch:
		case <-deadline:
			ended = true
		case <-r.Context().Done():
			ended = true
		}
		f.mu.Lock()
		f.parked--
		f.mu.Unlock()
		if ended {
			return
		}
	}
}

// parkedQueries is the number of blocking queries waiting for a change.
func (f *fakeNomad) parkedQueries() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.parked
}

// answer is a body encoded while f.mu was held, with the index it is current at: what the
// fake answers shares maps and pointers with its state, which the tests change while an
// answer is being written, and an index read later than the data would claim changes the
// data does not have (the driver would drop what it learnt itself meanwhile).
type answer struct {
	index uint64
	body  json.RawMessage
}

func (f *fakeNomad) answerLocked(v any) answer {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return answer{index: f.index, body: b}
}

func (f *fakeNomad) reply(w http.ResponseWriter, v any) {
	var idx uint64
	if a, ok := v.(answer); ok {
		idx, v = a.index, a.body
	} else {
		f.mu.Lock()
		idx = f.index
		f.mu.Unlock()
	}
	w.Header().Set("X-Nomad-Index", strconv.FormatUint(idx, 10))
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeNomad) agentSelf(w http.ResponseWriter, _ *http.Request) {
	f.reply(w, map[string]any{"config": map[string]any{"Version": map[string]any{"Version": "1.11.3"}}})
}

func (f *fakeNomad) nodes(w http.ResponseWriter, _ *http.Request) {
	f.reply(w, []*api.NodeListStub{{
		ID: "node-1", Name: "n1", Datacenter: "dc1", Status: api.NodeStatusReady, SchedulingEligibility: api.NodeSchedulingEligible,
		Drivers:       map[string]*api.DriverInfo{"docker": {Detected: true, Healthy: true}},
		NodeResources: &api.NodeResources{Cpu: api.NodeCpuResources{CpuShares: 4000, TotalCpuCores: 2}, Memory: api.NodeMemoryResources{MemoryMB: 8192}},
	}})
}

func (f *fakeNomad) listJobs(w http.ResponseWriter, r *http.Request) {
	f.block(r)
	f.mu.Lock()
	var list []*api.JobListStub
	for _, j := range f.jobs {
		if strings.HasPrefix(*j.ID, r.URL.Query().Get("prefix")) {
			list = append(list, &api.JobListStub{ID: *j.ID, Meta: j.Meta, Stop: *j.Stop, CreateIndex: *j.CreateIndex, ModifyIndex: *j.ModifyIndex})
		}
	}
	body := f.answerLocked(list)
	f.mu.Unlock()
	f.reply(w, body)
}

func (f *fakeNomad) register(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Job          *api.Job
		EnforceIndex bool
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	job := req.Job
	f.mu.Lock()
	if _, ok := f.jobs[*job.ID]; ok && req.EnforceIndex {
		f.mu.Unlock()
		http.Error(w, "Enforcing job modify index 0: job already exists", http.StatusInternalServerError)
		return
	}
	idx := f.bumpLocked()
	job.CreateIndex, job.ModifyIndex, job.Stop = new(idx), new(idx), new(false)
	f.jobs[*job.ID] = job
	placement, outcome := f.placement, f.outcome
	f.mu.Unlock()

	ev := &api.Evaluation{ID: fmt.Sprintf("eval-%d", idx), JobID: *job.ID, Status: api.EvalStatusComplete}
	if placement != nil {
		if m := placement(job); m != nil {
			ev.FailedTGAllocs = map[string]*api.AllocationMetric{taskName: m}
		}
	}
	status, events := api.AllocClientStatusRunning, []*api.TaskEvent{{Type: api.TaskStarted}}
	if outcome != nil {
		status, events = outcome(job)
	}
	f.mu.Lock()
	f.evals[ev.ID] = ev
	if ev.FailedTGAllocs == nil {
		a := &api.Allocation{
			ID: fmt.Sprintf("alloc-%d", idx), JobID: *job.ID, Job: job, NodeName: "n1", TaskGroup: taskName,
			DesiredStatus: api.AllocDesiredStatusRun, ClientStatus: status,
			TaskStates: map[string]*api.TaskState{taskName: {StartedAt: time.Now(), Events: events}},
			AllocatedResources: &api.AllocatedResources{Shared: api.AllocatedSharedResources{
				Ports: []api.PortMapping{{Label: portLabel, Value: 20000 + int(idx), To: 8080, HostIP: "127.0.0.1"}},
			}},
			CreateIndex: idx + 1, ModifyIndex: idx + 1, CreateTime: time.Now().UnixNano(),
		}
		f.allocs[a.ID] = a
	}
	idx = f.bumpLocked()
	f.mu.Unlock()
	f.reply(w, api.JobRegisterResponse{EvalID: ev.ID, EvalCreateIndex: idx, JobModifyIndex: *job.ModifyIndex})
}

func (f *fakeNomad) readJob(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	j := f.jobs[r.PathValue("id")]
	var body answer
	if j != nil {
		body = f.answerLocked(j)
	}
	f.mu.Unlock()
	if j == nil {
		http.Error(w, "job not found", http.StatusNotFound)
		return
	}
	f.reply(w, body)
}

// deregister stops a job (its allocations complete, as after SIGTERM), and with purge forgets
// it and its allocations, as Nomad does.
func (f *fakeNomad) deregister(w http.ResponseWriter, r *http.Request) {
	id, purge := r.PathValue("id"), r.URL.Query().Get("purge") == "true"
	f.mu.Lock()
	f.deregisters = append(f.deregisters, fmt.Sprintf("%s purge=%t", id, purge))
	j := f.jobs[id]
	if j == nil {
		f.mu.Unlock()
		f.reply(w, api.JobDeregisterResponse{})
		return
	}
	idx := f.bumpLocked()
	for aid, a := range f.allocs {
		if a.JobID != id {
			continue
		}
		if purge {
			delete(f.allocs, aid)
			continue
		}
		a.DesiredStatus, a.DesiredDescription = api.AllocDesiredStatusStop, "alloc not needed since job was stopped"
		if !terminal(stubOf(a)) {
			a.ClientStatus = api.AllocClientStatusComplete
		}
		a.ModifyIndex = idx
	}
	if purge {
		delete(f.jobs, id)
	} else {
		j.Stop, j.ModifyIndex = new(true), new(idx)
	}
	f.mu.Unlock()
	f.reply(w, api.JobDeregisterResponse{EvalID: fmt.Sprintf("eval-%d", idx)})
}

func (f *fakeNomad) jobAllocs(w http.ResponseWriter, r *http.Request) {
	f.block(r)
	f.reply(w, f.allocStubs(func(a *api.Allocation) bool { return a.JobID == r.PathValue("id") }))
}

func (f *fakeNomad) readEval(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	ev := f.evals[r.PathValue("id")]
	f.mu.Unlock()
	if ev == nil {
		http.Error(w, "eval not found", http.StatusNotFound)
		return
	}
	f.reply(w, ev)
}

// listAllocs understands the two filters the driver sends: a prefix match and one job.
func (f *fakeNomad) listAllocs(w http.ResponseWriter, r *http.Request) {
	f.block(r)
	filter := r.URL.Query().Get("filter")
	match := func(a *api.Allocation) bool { return strings.HasPrefix(a.JobID, jobPrefix) }
	if q, ok := strings.CutPrefix(filter, "JobID == "); ok {
		id, err := strconv.Unquote(q)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		match = func(a *api.Allocation) bool { return a.JobID == id }
	} else if filter != allocFilter {
		http.Error(w, "unexpected filter "+filter, http.StatusBadRequest)
		return
	}
	f.reply(w, f.allocStubs(match))
}

func (f *fakeNomad) allocStubs(match func(*api.Allocation) bool) answer {
	f.mu.Lock()
	defer f.mu.Unlock()
	list := []*api.AllocationListStub{}
	for _, a := range f.allocs {
		if match(a) {
			list = append(list, stubOf(a))
		}
	}
	slices.SortFunc(list, func(a, b *api.AllocationListStub) int { return strings.Compare(a.ID, b.ID) })
	return f.answerLocked(list)
}

func (f *fakeNomad) readAlloc(w http.ResponseWriter, r *http.Request) {
	f.block(r)
	f.mu.Lock()
	a := f.allocs[r.PathValue("id")]
	var body answer
	if a != nil {
		body = f.answerLocked(a)
	}
	f.mu.Unlock()
	if a == nil {
		http.Error(w, "alloc not found", http.StatusNotFound)
		return
	}
	f.reply(w, body)
}

// setAlloc changes an allocation as its client would report it.
func (f *fakeNomad) setAlloc(id string, change func(a *api.Allocation)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.allocs[id]
	if a == nil {
		f.t.Fatalf("no allocation %s", id)
	}
	change(a)
	a.ModifyIndex = f.bumpLocked()
}

// readLogs serves a stream's whole output with origin and offset as Nomad reads them; a follow
// then stays open until the request ends.
func (f *fakeNomad) readLogs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("plain") != "true" || q.Get("task") != taskName {
		http.Error(w, "the driver asks for plain text of task "+taskName, http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	_, known := f.allocs[r.PathValue("id")]
	out := f.logs[q.Get("type")]
	f.mu.Unlock()
	if !known {
		http.Error(w, "Unknown allocation", http.StatusNotFound)
		return
	}
	offset, _ := strconv.Atoi(q.Get("offset"))
	if q.Get("origin") == api.OriginEnd {
		offset = len(out) - offset
	}
	out = out[min(max(offset, 0), len(out)):]
	_, _ = io.WriteString(w, out)
	if q.Get("follow") == "true" {
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}
}
