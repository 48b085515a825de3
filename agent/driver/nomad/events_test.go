package nomad

import (
	"context"
	"errors"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
)

func TestDiffWatched(t *testing.T) {
	at := time.Unix(300, 0)
	running := watched{function: "fn1", state: instance.StateRunning, reason: "running", index: 11, at: at}
	starting := watched{function: "fn1", state: instance.StateStarting, index: 10}
	exited := func(code int, oom bool, reason string, index uint64) watched {
		return watched{function: "fn1", state: instance.StateExited, exitCode: code, oomKilled: oom, reason: reason, index: index, at: at}
	}
	for _, c := range []struct {
		name      string
		prev, cur map[string]watched
		want      []instance.Event
	}{
		{"nothing changed", map[string]watched{"a": running}, map[string]watched{"a": running}, nil},
		{"only the index moved", map[string]watched{"a": running}, map[string]watched{"a": {function: "fn1", state: instance.StateRunning, reason: "running", index: 40}}, nil},
		{"new and starting: not yet", nil, map[string]watched{"a": starting}, nil},
		{"starting, then running", map[string]watched{"a": starting}, map[string]watched{"a": running},
			[]instance.Event{{InstanceID: "a", Function: "fn1", State: instance.StateRunning, Reason: "running", Time: at}}},
		{"new and running", nil, map[string]watched{"a": running},
			[]instance.Event{{InstanceID: "a", Function: "fn1", State: instance.StateRunning, Reason: "running", Time: at}}},
		{"new and already exited", nil, map[string]watched{"a": exited(3, false, "Exit Code: 3", 12)},
			[]instance.Event{{InstanceID: "a", Function: "fn1", State: instance.StateExited, ExitCode: 3, Reason: "Exit Code: 3", Time: at}}},
		{"killed", map[string]watched{"a": running}, map[string]watched{"a": exited(137, true, "killed: out of memory", 12)},
			[]instance.Event{{InstanceID: "a", Function: "fn1", State: instance.StateExited, ExitCode: 137, OOMKilled: true, Reason: "killed: out of memory", Time: at}}},
		{"an exit's cause learnt later", map[string]watched{"a": exited(0, false, "", 12)}, map[string]watched{"a": exited(143, false, "alloc was stopped by user", 13)},
			[]instance.Event{{InstanceID: "a", Function: "fn1", State: instance.StateExited, ExitCode: 143, Reason: "alloc was stopped by user", Time: at}}},
		{"gone while running", map[string]watched{"a": running}, map[string]watched{},
			[]instance.Event{{InstanceID: "a", Function: "fn1", State: instance.StateExited, Gone: true, Reason: reasonRemoved}}},
		{"gone after its exit", map[string]watched{"a": exited(2, false, "Exit Code: 2", 12)}, nil,
			[]instance.Event{{InstanceID: "a", Function: "fn1", State: instance.StateExited, ExitCode: 2, Gone: true, Reason: reasonRemoved}}},
		{"in Nomad's order, the gone last",
			map[string]watched{"a": running, "b": running, "c": running, "d": running},
			map[string]watched{"a": exited(1, false, "x", 30), "b": exited(1, false, "x", 20), "d": running},
			[]instance.Event{
				{InstanceID: "b", Function: "fn1", State: instance.StateExited, ExitCode: 1, Reason: "x", Time: at},
				{InstanceID: "a", Function: "fn1", State: instance.StateExited, ExitCode: 1, Reason: "x", Time: at},
				{InstanceID: "c", Function: "fn1", State: instance.StateExited, Gone: true, Reason: reasonRemoved},
			}},
	} {
		if got := diffWatched(c.prev, c.cur); !reflect.DeepEqual(got, c.want) && (len(got) > 0 || len(c.want) > 0) {
			t.Errorf("%s:\n got %+v\nwant %+v", c.name, got, c.want)
		}
	}
}

// TestWatchedOf checks what Watch reads of a job and its allocation: Nomad's index and time of
// the allocation's change, and the client status as the reason of a running one.
func TestWatchedOf(t *testing.T) {
	j := testJob("i1", 10)
	a := stub("a", j.ID, 11, api.AllocClientStatusRunning)
	a.ModifyIndex, a.ModifyTime = 15, time.Unix(400, 0).UnixNano()
	w := watchedOf(j, a)
	if w.state != instance.StateRunning || w.function != "fn1" || w.reason != "running" || w.index != 15 || !w.at.Equal(time.Unix(400, 0)) {
		t.Errorf("watchedOf(running) = %+v", w)
	}
	if w := watchedOf(j, nil); w.state != instance.StateStarting || w.index != 10 || !w.at.IsZero() {
		t.Errorf("watchedOf(not placed) = %+v", w)
	}
}

// watchEvents runs d.Watch until the test ends and returns its events and, at the end, its
// error.
func watchEvents(t *testing.T, ctx context.Context, d *Driver) (<-chan instance.Event, <-chan error) {
	t.Helper()
	events, errc := make(chan instance.Event, 100), make(chan error, 1)
	go func() { errc <- d.Watch(ctx, func(ev instance.Event) { events <- ev }) }()
	return events, errc
}

// next returns the next event, failing the test after a minute.
func next(t *testing.T, events <-chan instance.Event, errc <-chan error) instance.Event {
	t.Helper()
	select {
	case ev := <-events:
		return ev
	case err := <-errc:
		t.Fatalf("Watch returned %v while an event was expected", err)
	case <-time.After(time.Minute):
		t.Fatal("no event within a minute")
	}
	return instance.Event{}
}

// nextOf returns the next event about instance id, skipping others, failing the test after a
// minute.
func nextOf(t *testing.T, id string, events <-chan instance.Event, errc <-chan error) instance.Event {
	t.Helper()
	for {
		if ev := next(t, events, errc); ev.InstanceID == id {
			return ev
		}
	}
}

func watchEnd(t *testing.T, errc <-chan error) error {
	t.Helper()
	select {
	case err := <-errc:
		return err
	case <-time.After(time.Minute):
		t.Fatal("Watch did not return within a minute")
	}
	return nil
}

// listRequests counts the watcher's blocking queries so far.
func listRequests(f *fakeNomad) int { return f.count("GET /v1/jobs") + f.count("GET /v1/allocations") }

// TestWatchOnTheFake checks the events of the driver's own start and stop and of an allocation
// that fails behind its back, and that Watch asks Nomad nothing of its own.
func TestWatchOnTheFake(t *testing.T) {
	f := newFakeNomad(t)
	d := f.driver(Config{})
	i1, err := d.Start(t.Context(), fakeSpec("i1"))
	if err != nil {
		t.Fatal(err)
	}
	events, errc := watchEvents(t, t.Context(), d)
	if ev := next(t, events, errc); !ev.Resync {
		t.Fatalf("first event %+v, want a Resync", ev)
	}

	if _, err := d.Start(t.Context(), fakeSpec("i2")); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, events, errc); ev.InstanceID != "i2" || ev.State != instance.StateRunning || ev.Function != "fn1" {
		t.Errorf("after Start of i2: %+v, want i2 running", ev)
	}

	// Both of the watcher's blocking queries wait for a change; Watch asks nothing of its own.
	waitFor(t, "the watcher's queries parked", func() bool { return f.parkedQueries() == 2 })
	before := listRequests(f)
	f.setAlloc(i1.DriverRef, func(a *api.Allocation) {
		a.ClientStatus = api.AllocClientStatusFailed
		a.ModifyTime = time.Now().UnixNano()
		a.TaskStates[taskName].Events = append(a.TaskStates[taskName].Events,
			&api.TaskEvent{Type: api.TaskTerminated, Details: map[string]string{"exit_code": "137", "oom_killed": "true"}})
	})
	ev := next(t, events, errc)
	if ev.InstanceID != "i1" || ev.Function != "fn1" || ev.State != instance.StateExited || ev.ExitCode != 137 || !ev.OOMKilled ||
		ev.Gone || ev.Time.IsZero() {
		t.Errorf("after i1's allocation failed: %+v, want i1 exited 137 out of memory, with a time", ev)
	}
	// The change woke each list's blocking query, which asked again once.
	waitFor(t, "the watcher's queries parked again", func() bool { return f.parkedQueries() == 2 })
	if after := listRequests(f); after != before+2 {
		t.Errorf("one change cost %d list requests, want 2 (the watcher's own)", after-before)
	}

	if err := d.Stop(t.Context(), "i2", time.Second); err != nil {
		t.Fatal(err)
	}
	// The stop's exit may or may not be seen before the purge: the purge is always reported.
	ev = next(t, events, errc)
	for ev.InstanceID == "i2" && !ev.Gone && ev.State == instance.StateExited {
		ev = next(t, events, errc)
	}
	if ev.InstanceID != "i2" || !ev.Gone || ev.State != instance.StateExited || ev.Reason != reasonRemoved {
		t.Errorf("after Stop of i2: %+v, want i2 gone", ev)
	}
	select {
	case ev := <-events:
		t.Errorf("an event no change made: %+v", ev)
	default:
	}
}

// TestWatchEnds checks that Watch returns when its ctx ends, and when the driver is closed.
func TestWatchEnds(t *testing.T) {
	f := newFakeNomad(t)
	d := f.driver(Config{WaitTime: time.Hour})
	ctx, cancel := context.WithCancel(t.Context())
	events, errc := watchEvents(t, ctx, d)
	if ev := next(t, events, errc); !ev.Resync {
		t.Fatalf("first event %+v, want a Resync", ev)
	}
	cancel()
	if err := watchEnd(t, errc); !errors.Is(err, context.Canceled) {
		t.Errorf("Watch after its ctx ended = %v, want context.Canceled", err)
	}

	events, errc = watchEvents(t, t.Context(), d)
	if ev := next(t, events, errc); !ev.Resync {
		t.Fatalf("first event %+v, want a Resync", ev)
	}
	_ = d.Close()
	if err := watchEnd(t, errc); !errors.Is(err, driver.ErrUnavailable) {
		t.Errorf("Watch after Close = %v, want ErrUnavailable", err)
	}
	if err := d.Watch(t.Context(), func(ev instance.Event) { t.Errorf("event from a closed driver: %+v", ev) }); !errors.Is(err, driver.ErrUnavailable) {
		t.Errorf("Watch on a closed driver = %v, want ErrUnavailable", err)
	}
}

// TestWatchFailures checks that Watch ends with the watcher's failure (ErrUnavailable for a
// Nomad without a leader or not there, the error itself for one that refuses the token), at
// once while the failure lasts, and starts with a Resync again once the watcher recovers.
func TestWatchFailures(t *testing.T) {
	f := newFakeNomad(t)
	d := f.driver(Config{})
	inst, err := d.Start(t.Context(), fakeSpec("i1"))
	if err != nil {
		t.Fatal(err)
	}
	events, errc := watchEvents(t, t.Context(), d)
	if ev := next(t, events, errc); !ev.Resync {
		t.Fatalf("first event %+v, want a Resync", ev)
	}
	f.fail("/v1/allocations", 500, "No cluster leader")
	f.setAlloc(inst.DriverRef, func(*api.Allocation) {}) // wake the blocking query into the failure
	if err := watchEnd(t, errc); !errors.Is(err, driver.ErrUnavailable) {
		t.Errorf("Watch when Nomad lost its leader = %v, want ErrUnavailable", err)
	}
	if err := d.Watch(t.Context(), func(ev instance.Event) { t.Errorf("event while failing: %+v", ev) }); !errors.Is(err, driver.ErrUnavailable) {
		t.Errorf("Watch while Nomad has no leader = %v, want ErrUnavailable at once", err)
	}

	f.fail("/v1/allocations", 403, "Permission denied")
	waitFor(t, "the watcher's next failure", func() bool {
		_, _, err := d.view.current()
		return err != nil && strings.Contains(err.Error(), "Permission denied")
	})
	if err := d.Watch(t.Context(), func(instance.Event) {}); err == nil || errors.Is(err, driver.ErrUnavailable) ||
		!strings.Contains(err.Error(), "refused the token") {
		t.Errorf("Watch without permission = %v, want the refusal, not ErrUnavailable", err)
	}

	f.heal()
	waitFor(t, "the watcher's recovery", func() bool { cur, _, _ := d.view.current(); return cur != nil })
	events, errc = watchEvents(t, t.Context(), d)
	if ev := next(t, events, errc); !ev.Resync {
		t.Fatalf("first event after the watcher recovered %+v, want a Resync", ev)
	}
}

// TestWatchUnreachable checks that Watch on a Nomad nobody answers for waits for the watcher's
// first answer and returns ErrUnavailable naming the address.
func TestWatchUnreachable(t *testing.T) {
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
	err = d.Watch(t.Context(), func(ev instance.Event) { t.Errorf("event from nowhere: %+v", ev) })
	if !errors.Is(err, driver.ErrUnavailable) || !strings.Contains(err.Error(), "cannot reach Nomad at "+addr) {
		t.Errorf("Watch = %v, want ErrUnavailable naming %s", err, addr)
	}
}
