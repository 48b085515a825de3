package pool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/api"
)

// newRunningPool returns a pool over n (node testNode) whose Run loop runs, with a short health
// interval, on a fake clock that does not move (nothing idles out), and a drained witness node
// whose listings count the health ticks (waitTicks): a node that is not watched is listed on
// every tick. The nodes' first listings are through before Run starts.
func newRunningPool(t *testing.T, n Node) (p *Pool, witness *fakeNode) {
	t.Helper()
	c := &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	p = New(Config{Now: c.Now, HealthInterval: 10 * time.Millisecond}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	witness = &fakeNode{}
	addNode(t, p, "w0", witness, nil)
	p.DrainNode("w0", true) // no instance there: it only counts ticks
	addNode(t, p, testNode, n, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return p, witness
}

// waitTicks waits for k more health ticks, as the witness's listings count them.
func waitTicks(t *testing.T, witness *fakeNode, k int) {
	t.Helper()
	n := witness.listCount()
	waitFor(t, fmt.Sprintf("%d health ticks", k), func() bool { return witness.listCount() >= n+k })
}

func nodeStatus(p *Pool, id string) NodeStatus {
	for _, st := range p.Nodes() {
		if st.ID == id {
			return st
		}
	}
	return NodeStatus{}
}

// TestWatchedExitReplacesIdleInstance: an instance killed behind the pool's back is replaced
// upon its exit event when idle, and by its call's failed outcome when busy; events about
// instances the pool does not know change nothing; and the node is listed once, upon its
// stream's Resync, however many health ticks go by.
func TestWatchedExitReplacesIdleInstance(t *testing.T) {
	w := newWatchingNode(&fakeNode{})
	p, witness := newRunningPool(t, w)
	p.Apply(fn("ev", 1, api.FunctionSpec{Concurrency: 1}))
	idle := acquire(t, p, "ev")
	busy := acquire(t, p, "ev")
	idle.Release(OutcomeOK)
	for _, l := range []*Lease{idle, busy} {
		w.kill(l.InstanceID())
		if !w.send(instance.Event{InstanceID: l.InstanceID(), Function: "ev", State: instance.StateExited, ExitCode: 137, Reason: "die"}) {
			t.Fatal("no stream open")
		}
	}
	w.send(instance.Event{InstanceID: "stray-v1-0000", Function: "ev", State: instance.StateExited})
	w.send(instance.Event{InstanceID: "other-v1-0000", Function: "other", Gone: true})
	waitFor(t, "the idle instance's replacement", func() bool { return slices.Contains(w.stoppedIDs(), idle.InstanceID()) })
	if ids := w.stoppedIDs(); len(ids) != 1 {
		t.Fatalf("stopped %v, want only the idle instance: the busy one's call says how it went", ids)
	}
	busyID := busy.InstanceID()
	busy.Release(OutcomeFailed)
	waitFor(t, "the busy instance's replacement", func() bool { return slices.Contains(w.stoppedIDs(), busyID) })
	l := acquire(t, p, "ev")
	defer l.Release(OutcomeOK)
	if l.InstanceID() == idle.InstanceID() || l.InstanceID() == busyID {
		t.Fatalf("the call went to %s, a killed instance", l.InstanceID())
	}

	waitTicks(t, witness, 4)
	if n := w.listCount(); n != 1 {
		t.Fatalf("the watched node was listed %d times over several health ticks, want once (its Resync)", n)
	}
}

// TestWatchedPausedBehindBackIsResumed: a ready instance whose pause event the pool did not
// cause is resumed.
func TestWatchedPausedBehindBackIsResumed(t *testing.T) {
	w := newWatchingNode(&fakeNode{canPause: true})
	p, _ := newTestPool(t, w)
	p.Apply(fn("frozen", 1, api.FunctionSpec{}))
	l := acquire(t, p, "frozen")
	l.Release(OutcomeOK)
	id := l.InstanceID()
	w.mu.Lock()
	w.running[id] = instance.StatePaused // docker pause
	w.mu.Unlock()
	w.send(instance.Event{InstanceID: id, Function: "frozen", State: instance.StatePaused, Reason: "pause"})
	waitFor(t, "the resume", func() bool { _, resumed := w.pauses(); return resumed == 1 })
	waitState(t, p, "frozen", "ready")
	if l := acquire(t, p, "frozen"); l.InstanceID() != id {
		t.Fatalf("the call went to %s, want the resumed %s", l.InstanceID(), id)
	} else {
		l.Release(OutcomeOK)
	}
	if started, stopped := w.counts(); started != 1 || stopped != 0 {
		t.Fatalf("%d starts, %d stops: want the one instance resumed", started, stopped)
	}
}

// TestWatchUnavailable: a stream that breaks because the engine cannot be reached makes the
// node unreachable; the health tick lists it until two listings work, then lists it no more
// once its stream is open again.
func TestWatchUnavailable(t *testing.T) {
	w := newWatchingNode(&fakeNode{})
	p, witness := newRunningPool(t, w)
	p.Apply(fn("steady", 1, api.FunctionSpec{}))
	acquire(t, p, "steady").Release(OutcomeOK)

	down := fmt.Errorf("engine stopped: %w", driver.ErrUnavailable)
	w.mu.Lock()
	w.listErr = down
	w.mu.Unlock()
	w.breakStream(down, down)
	waitFor(t, "the node unreachable", func() bool { return !nodeStatus(p, testNode).Reachable })
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if _, err := p.Acquire(ctx, "steady"); !errors.Is(err, driver.ErrUnavailable) {
		t.Fatalf("Acquire while the engine is away = %v, want driver.ErrUnavailable at once", err)
	}
	n := w.listCount()
	waitTicks(t, witness, 3)
	if w.listCount() <= n {
		t.Fatal("the health tick did not list the unreachable node")
	}

	w.setOpenErr(nil)
	w.mu.Lock()
	w.listErr = nil
	w.mu.Unlock()
	waitFor(t, "the node reachable, watched, with no listing under way", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		nd := p.nodes[testNode]
		return nd.unreachable == nil && nd.watched && !nd.listing && !nd.tending
	})
	n = w.listCount()
	waitTicks(t, witness, 3)
	if got := w.listCount(); got != n {
		t.Fatalf("the node was listed %d more times once watched again, want none", got-n)
	}
	acquire(t, p, "steady").Release(OutcomeOK)
}

// TestWatchFollowsTheHandle: a new handle (the agent connected again) ends the old one's watch,
// whose late events change nothing, and starts its own; a lost node's watch ends.
func TestWatchFollowsTheHandle(t *testing.T) {
	w1 := newWatchingNode(&fakeNode{})
	p, _ := newTestPool(t, w1)
	p.Apply(fn("f", 1, api.FunctionSpec{}))
	l := acquire(t, p, "f")
	l.Release(OutcomeOK)
	id := l.InstanceID()
	w1.wmu.Lock()
	old := w1.fn
	w1.wmu.Unlock()

	w2 := newWatchingNode(w1.fakeNode) // the same engine, through a new session
	p.AddNode(testNode, w2, nil)
	if err := <-w1.ended; !errors.Is(err, context.Canceled) {
		t.Fatalf("the old handle's watch returned %v, want context.Canceled", err)
	}
	<-w2.opened
	waitFor(t, "the new stream's listing", func() bool { return w1.listCount() == 2 })

	gone := instance.Event{InstanceID: id, Function: "f", State: instance.StateExited, Gone: true, Reason: "destroy"}
	old(gone) // a late event of the old handle
	if st, _ := p.Status("f"); len(st.Instances) != 1 || st.Instances[0].ID != id {
		t.Fatalf("instances %+v after an event of the old handle, want %s still", st.Instances, id)
	}
	w1.kill(id)
	w2.send(gone)
	waitFor(t, "the instance's replacement", func() bool { return slices.Contains(w2.stoppedIDs(), id) })

	p.NodeLost(testNode, errors.New("no heartbeat"))
	if err := <-w2.ended; !errors.Is(err, context.Canceled) {
		t.Fatalf("the lost node's watch returned %v, want context.Canceled", err)
	}
}

// TestWatchNotSupportedListsOnTheTick: a handle that cannot watch after all is listed at once
// and then on every health tick, as a node without events is.
func TestWatchNotSupportedListsOnTheTick(t *testing.T) {
	w := newWatchingNode(&fakeNode{})
	w.setOpenErr(fmt.Errorf("an older plugin: %w", driver.ErrNotSupported))
	p, witness := newRunningPool(t, w)
	n := w.listCount()
	waitTicks(t, witness, 3)
	if w.listCount() < n+2 {
		t.Fatalf("listed %d times over 3 ticks, want every tick", w.listCount()-n)
	}
	if s := w.streamCount(); s != 1 {
		t.Fatalf("%d streams, want 1: ErrNotSupported is not tried again", s)
	}
	p.Apply(fn("f", 1, api.FunctionSpec{}))
	acquire(t, p, "f").Release(OutcomeOK)
}

// TestWatchRetriesAfterOtherErrors: a stream that breaks for another reason is opened again a
// health interval later, and listed upon its Resync; meanwhile the tick lists the node.
func TestWatchRetriesAfterOtherErrors(t *testing.T) {
	w := newWatchingNode(&fakeNode{})
	p, _ := newRunningPool(t, w)
	<-w.opened
	w.breakStream(errors.New("stream reset"), nil)
	<-w.opened
	waitFor(t, "the reopened stream's listing", func() bool { return w.listCount() >= 2 })
	if !nodeStatus(p, testNode).Reachable {
		t.Fatal("a stream that broke for another reason made the node unreachable")
	}
}
