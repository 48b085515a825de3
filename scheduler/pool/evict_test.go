package pool

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/api"
)

// gatedStops is a fakeNode whose stops of the instances given a gate wait for it to close: a
// victim whose stop takes its time.
type gatedStops struct {
	fakeNode
	gates map[string]chan struct{}
}

func (n *gatedStops) StopInstance(ctx context.Context, id string) error {
	n.mu.Lock()
	gate := n.gates[id]
	n.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return n.fakeNode.StopInstance(ctx, id)
}

func (n *gatedStops) gate(ids ...string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.gates == nil {
		n.gates = map[string]chan struct{}{}
	}
	for _, id := range ids {
		n.gates[id] = make(chan struct{})
	}
}

func (n *gatedStops) open(id string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	close(n.gates[id])
}

func (n *gatedStops) startedIDs() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.started)
}

// pausedInstance calls name once and lets its instance pause; it returns the instance's id.
func pausedInstance(t *testing.T, p *Pool, c *clock, name string) string {
	t.Helper()
	l := acquire(t, p, name)
	l.Release(OutcomeOK)
	c.Add(quick.IdleTimeout.D())
	p.Reap()
	waitState(t, p, name, "paused")
	return l.InstanceID()
}

// TestColdStartWaitsForItsOwnVictimOnly: two cold starts on a full node each evict an idle
// instance of their own, and each starts once its own victim's stop has returned, not behind
// the other's; no third instance is evicted for them.
func TestColdStartWaitsForItsOwnVictimOnly(t *testing.T) {
	n := &gatedStops{fakeNode: fakeNode{canPause: true, alloc: instance.Resources{MemoryMB: 256}}}
	p, c := newTestPool(t, n)
	spec := quick
	spec.MemoryMB, spec.PauseTimeout = 128, api.Duration(time.Hour)
	for _, name := range []string{"x", "y", "z", "v"} {
		p.Apply(fn(name, 1, spec))
	}
	x := pausedInstance(t, p, c, "x")
	c.Add(time.Minute) // x was used long before y: by value, x goes first
	y := pausedInstance(t, p, c, "y")
	n.gate(x, y)

	got := make(chan leaseOrErr, 2)
	go func() { l, err := tryAcquire(p, "z"); got <- leaseOrErr{l, err} }()
	waitFor(t, "z's eviction", func() bool { p.mu.Lock(); defer p.mu.Unlock(); return len(p.fns["x"].instances) == 0 })
	go func() { l, err := tryAcquire(p, "v"); got <- leaseOrErr{l, err} }()
	waitFor(t, "v's eviction", func() bool { p.mu.Lock(); defer p.mu.Unlock(); return len(p.fns["y"].instances) == 0 })

	// y's stop returns first: the start that evicted y goes on, the one that evicted x waits.
	n.open(y)
	first := <-got
	if first.err != nil {
		t.Fatal(first.err)
	}
	defer first.l.Release(OutcomeOK)
	if first.l.fn.name != "v" {
		t.Fatalf("%s started when y's stop returned, want v, which evicted y", first.l.fn.name)
	}
	select {
	case second := <-got:
		t.Fatalf("z started (%v, %v) before its victim's stop returned; stopped %v started %v", second.err, second.l.InstanceID(), n.stoppedIDs(), n.startedIDs())
	case <-time.After(50 * time.Millisecond):
	}
	if started := n.startedIDs(); len(started) != 3 { // x, y, and v's
		t.Fatalf("started %v before x's stop returned, want v's start alone after x's and y's", started)
	}
	n.open(x)
	second := <-got
	if second.err != nil {
		t.Fatal(second.err)
	}
	second.l.Release(OutcomeOK)
	if _, stopped := n.counts(); stopped != 2 {
		t.Fatalf("%d instances stopped, want the two victims", stopped)
	}
	if r := p.Stats().Reserved.MemoryMB; r != 256 {
		t.Fatalf("reserved %d MB, want 256", r)
	}
}

// TestEvictionRoomIsShared: one victim that frees room for two starts is stopped for both,
// and nothing else is evicted.
func TestEvictionRoomIsShared(t *testing.T) {
	n := &gatedStops{fakeNode: fakeNode{canPause: true, alloc: instance.Resources{MemoryMB: 256}}}
	p, c := newTestPool(t, n)
	big, small := quick, quick
	big.MemoryMB, small.MemoryMB = 256, 128
	p.Apply(fn("big", 1, big))
	p.Apply(fn("a", 1, small))
	p.Apply(fn("b", 1, small))
	victim := pausedInstance(t, p, c, "big")
	n.gate(victim)
	got := make(chan leaseOrErr, 2)
	for _, name := range []string{"a", "b"} {
		go func() { l, err := tryAcquire(p, name); got <- leaseOrErr{l, err} }()
	}
	waitFor(t, "both starts to wait for the victim", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.fns["a"].instances) == 1 && len(p.fns["b"].instances) == 1
	})
	if r := p.Stats().Reserved.MemoryMB; r != 256 {
		t.Fatalf("reserved %d MB while the starts wait, want 256: the victim's room claimed, not counted twice", r)
	}
	n.open(victim)
	for range 2 {
		r := <-got
		if r.err != nil {
			t.Fatal(r.err)
		}
		r.l.Release(OutcomeOK)
	}
	if ids := n.stoppedIDs(); len(ids) != 1 || ids[0] != victim {
		t.Fatalf("stopped %v, want the big victim alone", ids)
	}
}

// TestEvictionSparesWhatWaitingCallsWant: an idle instance of a function with calls waiting is
// no eviction candidate: they are about to take it (or resume it).
func TestEvictionSparesWhatWaitingCallsWant(t *testing.T) {
	n := &fakeNode{canPause: true, alloc: instance.Resources{MemoryMB: 256}}
	p, c := newTestPool(t, n)
	spec := quick
	spec.MemoryMB = 128
	p.Apply(fn("a", 1, spec))
	p.Apply(fn("b", 1, spec))
	p.Apply(fn("c", 1, spec))
	a := pausedInstance(t, p, c, "a")
	b := pausedInstance(t, p, c, "b")
	p.mu.Lock()
	defer p.mu.Unlock()
	nd := p.nodes[testNode]
	p.fns["a"].waiting = 1
	var ids []string
	for _, cand := range p.evictionCandidatesLocked(p.fns["c"], nd) {
		ids = append(ids, cand.id)
	}
	p.fns["a"].waiting = 0
	if len(ids) != 1 || ids[0] != b {
		t.Fatalf("candidates %v, want b's %s alone, not a's %s, which a call waits for", ids, b, a)
	}
}

// newPrepPool is newTestPool with a node that prepares, and a cap on prepared instances.
func newPrepPool(t *testing.T, n *prepNode, perNode int) (*Pool, *clock) {
	t.Helper()
	c := &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	p := New(Config{Now: c.Now, PreparedPerNode: perNode}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(func() { p.Shutdown(false) })
	addNode(t, p, testNode, n, nil)
	return p, c
}

// TestPreparedCapKeepsTheMostRecentlyCalled: with room for two prepared instances on the node,
// a third function's call replaces the prepared instance of the function called least recently.
func TestPreparedCapKeepsTheMostRecentlyCalled(t *testing.T) {
	n := &prepNode{}
	p, c := newPrepPool(t, n, 2)
	prep := map[string]string{}
	for _, name := range []string{"a", "b", "c"} {
		p.Apply(fn(name, 1, prepSpec))
		acquire(t, p, name).Release(OutcomeOK)
		prep[name] = waitPrepared(t, p, name, "")
		c.Add(time.Second)
	}
	waitFor(t, "a's prepared instance discarded", func() bool { return n.wasStopped(prep["a"]) })
	if preparedID(p, "a") != "" || preparedID(p, "b") != prep["b"] || preparedID(p, "c") != prep["c"] {
		t.Fatalf("prepared a=%q b=%q c=%q, want b's and c's alone", preparedID(p, "a"), preparedID(p, "b"), preparedID(p, "c"))
	}
	// a is called again: it is the most recent now, and b's goes.
	acquire(t, p, "a").Release(OutcomeOK)
	p.Reap() // a's upkeep prepares it again
	waitFor(t, "b's prepared instance discarded", func() bool { return n.wasStopped(prep["b"]) })
	if preparedID(p, "c") != prep["c"] {
		t.Fatal("c's prepared instance went too")
	}
	p.Remove("a")
	p.Remove("b")
	p.Remove("c")
	assertNoLeak(t, p, n)
}

// TestEvictionDiscardsPreparedFirst: a start that must evict on a full node also discards the
// instances prepared there for functions no more recently called than its victims.
func TestEvictionDiscardsPreparedFirst(t *testing.T) {
	n := &prepNode{fakeNode: fakeNode{canPause: true, alloc: instance.Resources{MemoryMB: 256}}}
	p, c := newPrepPool(t, n, 0)
	spec := quick
	spec.MemoryMB, spec.PauseTimeout = 128, api.Duration(time.Hour)
	for _, name := range []string{"old", "new", "cold"} {
		p.Apply(fn(name, 1, spec))
	}
	pausedInstance(t, p, c, "old")
	oldPrep := waitPrepared(t, p, "old", "")
	c.Add(time.Minute)
	pausedInstance(t, p, c, "new")
	newPrep := waitPrepared(t, p, "new", "")

	l := acquire(t, p, "cold") // evicts old's paused instance, the least valuable
	defer l.Release(OutcomeOK)
	waitFor(t, "old's prepared instance discarded with its evicted instance", func() bool { return n.wasStopped(oldPrep) })
	if n.wasStopped(newPrep) || preparedID(p, "new") != newPrep {
		t.Fatal("new's prepared instance was discarded: its function was called after the victim's")
	}
}

// TestNodeOfFindsEntries: NodeOf finds an instance of a function's current version and of an
// older one served beside it ("NAME@N"), by its id.
func TestNodeOfFindsEntries(t *testing.T) {
	p, _ := newTestPool(t, &fakeNode{})
	p.Apply(fn("hello", 2, api.FunctionSpec{}))
	p.Apply(api.Function{Name: "hello@1", Version: fn("hello", 1, api.FunctionSpec{}).Version})
	for _, name := range []string{"hello", "hello@1"} {
		l := acquire(t, p, name)
		if nd, ok := p.NodeOf(l.InstanceID()); !ok || nd != testNode {
			t.Errorf("NodeOf(%s) = %q, %v", l.InstanceID(), nd, ok)
		}
		l.Release(OutcomeOK)
	}
	if _, ok := p.NodeOf("hello-v3-00000000"); ok {
		t.Error("NodeOf found an instance that does not exist")
	}
}
