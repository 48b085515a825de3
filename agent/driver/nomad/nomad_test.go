package nomad

import (
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
)

func fakeSpec(id string) instance.Spec {
	return instance.Spec{
		ID: id, Function: "fn1", Version: 1, Image: "hello:1", Port: 8080, Resources: instance.Resources{MemoryMB: 64},
		Labels: map[string]string{instance.LabelFunction: "fn1", instance.LabelNode: "node-a"},
	}
}

// waitFor polls cond until it holds, failing the test after a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen within a minute", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func listed(t *testing.T, d *Driver, id string) (instance.Status, bool) {
	t.Helper()
	list, err := d.List(t.Context())
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	i := slices.IndexFunc(list, func(st instance.Status) bool { return st.Instance.ID == id })
	if i < 0 {
		return instance.Status{}, false
	}
	return list[i], true
}

func TestStartStopOnTheFake(t *testing.T) {
	f := newFakeNomad(t)
	d := f.driver(Config{})
	fp, err := d.Fingerprint(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if fp.Name != Name || fp.Version != "1.11.3" || fp.Capabilities != (driver.Capabilities{Logs: true}) ||
		fp.Allocatable != (instance.Resources{MemoryMB: 8192, CPUMilli: 2000}) {
		t.Errorf("Fingerprint = %+v", fp)
	}
	inst, err := d.Start(t.Context(), fakeSpec("i1"))
	if err != nil {
		t.Fatal(err)
	}
	if inst.ID != "i1" || !strings.HasPrefix(inst.Endpoint, "127.0.0.1:") || !strings.HasPrefix(inst.DriverRef, "alloc-") {
		t.Errorf("Start = %+v", inst)
	}
	// CPU: the fake's node has 4000 MHz over 2 cores; the default reservation applies to none.
	f.mu.Lock()
	task := f.jobs["hearth-i1"].TaskGroups[0].Tasks[0]
	f.mu.Unlock()
	if *task.Resources.CPU != defaultCPUMHz || *task.Resources.MemoryMB != 64 {
		t.Errorf("task resources %d MHz, %d MB", *task.Resources.CPU, *task.Resources.MemoryMB)
	}
	st, err := d.Inspect(t.Context(), "i1")
	if err != nil || st.State != instance.StateRunning || st.Instance != inst {
		t.Errorf("Inspect = %+v, %v; want running %+v", st, err, inst)
	}
	if err := d.Stop(t.Context(), "i1", time.Second); err != nil {
		t.Fatal(err)
	}
	if want := []string{"hearth-i1 purge=false", "hearth-i1 purge=true"}; !slices.Equal(f.deregisters, want) {
		t.Errorf("deregisters %v, want a stop then a purge", f.deregisters)
	}
	if _, ok := listed(t, d, "i1"); ok {
		t.Error("List shows i1 after Stop")
	}
	if err := d.Stop(t.Context(), "i1", time.Second); !errors.Is(err, driver.ErrInstanceNotFound) {
		t.Errorf("second Stop = %v, want ErrInstanceNotFound", err)
	}
}

// TestStopLeavesForeignJobs checks that a job named like an instance but not made by hearth is
// neither stopped nor listed.
func TestStopLeavesForeignJobs(t *testing.T) {
	f := newFakeNomad(t)
	f.mu.Lock()
	id := jobID("theirs")
	f.jobs[id] = &api.Job{ID: &id, Meta: map[string]string{"team": "web"}, Stop: new(false), CreateIndex: new(uint64(1)), ModifyIndex: new(uint64(1))}
	f.mu.Unlock()
	d := f.driver(Config{})
	if err := d.Stop(t.Context(), "theirs", 0); !errors.Is(err, driver.ErrInstanceNotFound) {
		t.Errorf("Stop of a job hearth did not make = %v, want ErrInstanceNotFound", err)
	}
	if len(f.deregisters) != 0 {
		t.Errorf("deregistered %v", f.deregisters)
	}
	if _, ok := listed(t, d, "theirs"); ok {
		t.Error("List shows a job hearth did not make")
	}
}

func TestStartNoCapacity(t *testing.T) {
	f := newFakeNomad(t)
	f.placement = func(*api.Job) *api.AllocationMetric {
		return &api.AllocationMetric{NodesEvaluated: 1, NodesExhausted: 1, DimensionExhausted: map[string]int{"memory": 1},
			ConstraintFiltered: map[string]int{"missing drivers": 2}}
	}
	d := f.driver(Config{})
	_, err := d.Start(t.Context(), fakeSpec("i1"))
	if !errors.Is(err, driver.ErrNoCapacity) {
		t.Fatalf("Start = %v, want ErrNoCapacity", err)
	}
	for _, want := range []string{`dimension "memory" exhausted on 1 node`, `constraint "missing drivers" filtered 2 nodes`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if !slices.Equal(f.deregisters, []string{"hearth-i1 purge=true"}) {
		t.Errorf("deregisters %v, want the job purged", f.deregisters)
	}
}

func TestStartFailures(t *testing.T) {
	for _, c := range []struct {
		name   string
		events []*api.TaskEvent
		want   error
		says   string
	}{
		{"pull", []*api.TaskEvent{{Type: api.TaskDriverFailure, DisplayMessage: "Failed to pull `hello:1`: manifest unknown"}},
			driver.ErrImageNotFound, "manifest unknown"},
		{"exit", []*api.TaskEvent{{Type: api.TaskStarted}, {Type: api.TaskTerminated, Details: map[string]string{"exit_code": "2"}, DisplayMessage: "Exit Code: 2"}},
			nil, "exited with code 2"},
		{"caps", []*api.TaskEvent{{Type: api.TaskDriverFailure, DisplayMessage: "driver does not allow the following capabilities: sys_admin"}},
			nil, "capabilities: sys_admin"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeNomad(t)
			f.outcome = func(*api.Job) (string, []*api.TaskEvent) { return api.AllocClientStatusFailed, c.events }
			d := f.driver(Config{})
			_, err := d.Start(t.Context(), fakeSpec("i1"))
			if err == nil || (c.want != nil && !errors.Is(err, c.want)) || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("Start = %v; want an error saying %q (%v)", err, c.says, c.want)
			}
			if !slices.Equal(f.deregisters, []string{"hearth-i1 purge=true"}) {
				t.Errorf("deregisters %v, want the job purged", f.deregisters)
			}
		})
	}
}

func TestStartCancelledWhilePending(t *testing.T) {
	f := newFakeNomad(t)
	f.outcome = func(*api.Job) (string, []*api.TaskEvent) { return api.AllocClientStatusPending, nil }
	d := f.driver(Config{})
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if _, err := d.Start(ctx, fakeSpec("i1")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Start = %v, want the ctx's DeadlineExceeded", err)
	}
	if !slices.Equal(f.deregisters, []string{"hearth-i1 purge=true"}) {
		t.Errorf("deregisters %v, want the job purged though ctx had ended", f.deregisters)
	}
}

func TestStartRefusesAnExistingJob(t *testing.T) {
	f := newFakeNomad(t)
	d := f.driver(Config{})
	if _, err := d.Start(t.Context(), fakeSpec("i1")); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Start(t.Context(), fakeSpec("i1")); err == nil {
		t.Fatal("a second Start of the same id replaced the first instance's job")
	}
	if len(f.deregisters) != 0 {
		t.Errorf("the refused Start deregistered %v", f.deregisters)
	}
}

func TestUnavailableErrors(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "http://" + l.Addr().String()
	_ = l.Close()
	d, err := New(Config{Address: addr, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = d.Close() }()
	_, listErr := d.List(t.Context())
	_, inspectErr := d.Inspect(t.Context(), "i1")
	stopErr := d.Stop(t.Context(), "i1", 0)
	_, logsErr := d.Logs(t.Context(), "i1", driver.LogOptions{})
	for name, err := range map[string]error{"List": listErr, "Inspect": inspectErr, "Stop": stopErr, "Logs": logsErr} {
		if !errors.Is(err, driver.ErrUnavailable) || !strings.Contains(err.Error(), "cannot reach Nomad at "+addr) {
			t.Errorf("%s = %v, want ErrUnavailable naming %s", name, err, addr)
		}
	}

	f := newFakeNomad(t)
	f.fail("/v1/", 500, "No cluster leader")
	if _, err := f.driver(Config{}).Fingerprint(t.Context()); !errors.Is(err, driver.ErrUnavailable) {
		t.Errorf("Fingerprint without a leader = %v, want ErrUnavailable", err)
	}
	f.fail("/v1/", 403, "Permission denied")
	if _, err := f.driver(Config{}).List(t.Context()); err == nil || errors.Is(err, driver.ErrUnavailable) {
		t.Errorf("List without permission = %v, want an error that is not ErrUnavailable", err)
	}
}

// TestWatcher checks that List answers from memory once the watcher has synced, sees an
// allocation fail through a blocking query, and lists from Nomad again while the watcher fails.
func TestWatcher(t *testing.T) {
	f := newFakeNomad(t)
	d := f.driver(Config{})
	inst, err := d.Start(t.Context(), fakeSpec("i1"))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the watcher's sync", func() bool { _, ok := d.view.list(); return ok })
	// From when both of the watcher's queries wait for a change, nothing else may ask.
	waitFor(t, "the watcher's queries parked", func() bool { return f.parkedQueries() == 2 })

	jobReads, allocReads := f.count("GET /v1/job/hearth-i1"), f.count("GET /v1/allocations")
	for range 100 {
		if st, ok := listed(t, d, "i1"); !ok || st.State != instance.StateRunning {
			t.Fatalf("List: %+v, want i1 running", st)
		}
		if _, err := d.Inspect(t.Context(), "i1"); err != nil {
			t.Fatal(err)
		}
	}
	if f.count("GET /v1/job/hearth-i1") != jobReads || f.count("GET /v1/allocations") != allocReads {
		t.Errorf("100 Lists and Inspects made requests: job reads %d → %d, allocation lists %d → %d",
			jobReads, f.count("GET /v1/job/hearth-i1"), allocReads, f.count("GET /v1/allocations"))
	}

	f.setAlloc(inst.DriverRef, func(a *api.Allocation) {
		a.ClientStatus = api.AllocClientStatusFailed
		a.TaskStates[taskName].Events = append(a.TaskStates[taskName].Events,
			&api.TaskEvent{Type: api.TaskTerminated, Details: map[string]string{"exit_code": "137", "oom_killed": "true"}})
	})
	waitFor(t, "List showing the allocation failed", func() bool {
		st, _ := listed(t, d, "i1")
		return st.State == instance.StateExited && st.OOMKilled && st.ExitCode == 137
	})

	f.fail("/v1/allocations", 500, "No cluster leader")
	f.setAlloc(inst.DriverRef, func(*api.Allocation) {}) // wake the blocking query into the failure
	waitFor(t, "the view going stale", func() bool { _, ok := d.view.list(); return !ok })
	if _, err := d.List(t.Context()); !errors.Is(err, driver.ErrUnavailable) {
		t.Errorf("List while Nomad has no leader = %v, want ErrUnavailable", err)
	}
	f.heal()
	waitFor(t, "the watcher's resync", func() bool { _, ok := d.view.list(); return ok })
	if st, ok := listed(t, d, "i1"); !ok || st.State != instance.StateExited {
		t.Errorf("after the resync: %+v", st)
	}
}

func TestCloseStopsTheWatcher(t *testing.T) {
	f := newFakeNomad(t)
	d := f.driver(Config{WaitTime: time.Hour})
	waitFor(t, "the watcher's sync", func() bool { _, ok := d.view.list(); return ok })
	done := make(chan struct{})
	go func() {
		_ = d.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not end the watcher's blocking queries")
	}
	select {
	case <-d.watchDone:
	default:
		t.Error("Close returned before the watcher ended")
	}
}

func TestLogsOnTheFake(t *testing.T) {
	f := newFakeNomad(t)
	d := f.driver(Config{})
	if _, err := d.Start(t.Context(), fakeSpec("i1")); err != nil {
		t.Fatal(err)
	}
	// A stdout longer than a tail's window, whose first line in the window is cut.
	long := strings.Repeat("x", 70<<10)
	f.mu.Lock()
	f.logs["stdout"] = long + "\nout 1\nout 2\nout 3"
	f.logs["stderr"] = "err 1\nerr 2\n"
	f.mu.Unlock()
	read := func(opts driver.LogOptions) string {
		t.Helper()
		rc, err := d.Logs(t.Context(), "i1", opts)
		if err != nil {
			t.Fatalf("Logs(%+v): %v", opts, err)
		}
		defer func() { _ = rc.Close() }()
		b, err := io.ReadAll(rc)
		if err != nil {
			t.Fatalf("reading Logs(%+v): %v", opts, err)
		}
		return string(b)
	}
	if got, want := read(driver.LogOptions{Stream: driver.StreamStderr}), "err 1\nerr 2\n"; got != want {
		t.Errorf("stderr = %q, want %q", got, want)
	}
	if got, want := read(driver.LogOptions{Tail: 2, Stream: driver.StreamStdout}), "out 2\nout 3\n"; got != want {
		t.Errorf("stdout tail 2 = %q, want %q", got, want)
	}
	if got, want := read(driver.LogOptions{Tail: 3}), "out 3\nerr 1\nerr 2\n"; got != want {
		t.Errorf("tail 3 of both = %q, want %q (stderr's after stdout's)", got, want)
	}
	if got := read(driver.LogOptions{Tail: 10, Stream: driver.StreamStdout}); strings.Contains(got, "x") {
		t.Errorf("tail 10 of stdout has the cut line: %.40q...", got)
	}
	if got := read(driver.LogOptions{Since: time.Now().Add(time.Hour)}); got != "" {
		t.Errorf("since in an hour = %q, want nothing", got)
	}
	stamped := read(driver.LogOptions{Stream: driver.StreamStderr, Timestamps: true})
	for line := range strings.SplitSeq(strings.TrimSuffix(stamped, "\n"), "\n") {
		stamp, text, _ := strings.Cut(line, " ")
		at, err := time.Parse(time.RFC3339Nano, stamp)
		if err != nil || time.Since(at) > time.Minute || !strings.HasPrefix(text, "err ") {
			t.Errorf("stamped line %q: %v", line, err)
		}
	}
	if _, err := d.Logs(t.Context(), "nope", driver.LogOptions{}); !errors.Is(err, driver.ErrInstanceNotFound) {
		t.Errorf("Logs of an unknown instance = %v, want ErrInstanceNotFound", err)
	}
}

// TestFollowEnds checks that a follow ends (io.EOF) once the watcher sees the allocation end,
// and that cancelling its ctx ends it too.
func TestFollowEnds(t *testing.T) {
	f := newFakeNomad(t)
	d := f.driver(Config{})
	inst, err := d.Start(t.Context(), fakeSpec("i1"))
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.logs["stdout"] = "hello\n"
	f.mu.Unlock()
	waitFor(t, "the watcher's sync", func() bool { _, ok := d.view.list(); return ok })

	rc, err := d.Logs(t.Context(), "i1", driver.LogOptions{Follow: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rc.Close() }()
	got := make(chan string, 1)
	errc := make(chan error, 1)
	go func() {
		b, err := io.ReadAll(rc)
		got <- string(b)
		errc <- err
	}()
	f.setAlloc(inst.DriverRef, func(a *api.Allocation) { a.ClientStatus = api.AllocClientStatusComplete })
	select {
	case out := <-got:
		if out != "hello\n" || <-errc != nil {
			t.Errorf("follow read %q: want the line, then io.EOF", out)
		}
	case <-time.After(time.Minute):
		t.Fatal("the follow went on after the allocation ended")
	}

	ctx, cancel := context.WithCancel(t.Context())
	d2 := f.driver(Config{})
	if _, err := d2.Start(t.Context(), fakeSpec("i2")); err != nil {
		t.Fatal(err)
	}
	rc, err = d2.Logs(ctx, "i2", driver.LogOptions{Follow: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rc.Close() }()
	go func() {
		_, err := io.ReadAll(rc)
		errc <- err
	}()
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("follow after its ctx was cancelled: %v, want context.Canceled", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the follow went on after its ctx was cancelled")
	}
}

func TestLineWriter(t *testing.T) {
	var b strings.Builder
	lw := &lineWriter{w: &b, now: time.Now}
	long := strings.Repeat("y", maxLineBytes+10)
	if err := lw.copyLines(strings.NewReader("a\n\nb\r\n" + long + "\nlast")); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 6 || lines[0] != "a" || lines[1] != "" || lines[2] != "b\r" || len(lines[3]) != maxLineBytes ||
		len(lines[4]) != 10 || lines[5] != "last" {
		t.Errorf("lines %d: %.20q", len(lines), lines)
	}
	var c strings.Builder
	at := time.Date(2026, 12, 6, 10, 0, 0, 5000, time.UTC)
	lw = &lineWriter{w: &c, stamp: true, now: func() time.Time { return at }}
	_ = lw.line([]byte("x"))
	if c.String() != "2026-12-06T10:00:00.000005000Z x\n" {
		t.Errorf("stamped line %q", c.String())
	}
}
