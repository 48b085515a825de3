package pool

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/api"
)

// recorder is an Observer that keeps what it heard.
type recorder struct {
	mu    sync.Mutex
	kinds []ColdKind
}

func (r *recorder) ColdStart(function string, kind ColdKind, took time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.kinds = append(r.kinds, kind)
}

func states(t *testing.T, p *Pool, name string) []string {
	t.Helper()
	st, _ := p.Status(name)
	var out []string
	for _, in := range st.Instances {
		out = append(out, in.State)
	}
	return out
}

func waitState(t *testing.T, p *Pool, name string, want ...string) {
	t.Helper()
	waitFor(t, "states "+join(want), func() bool { return join(states(t, p, name)) == join(want) })
}

func join(s []string) string {
	out := ""
	for i, v := range s {
		if i > 0 {
			out += ","
		}
		out += v
	}
	return out
}

var quick = api.FunctionSpec{IdleTimeout: api.Duration(10 * time.Second), PauseTimeout: api.Duration(time.Minute)}

func TestIdlePausedThenStopped(t *testing.T) {
	n := &fakeNode{canPause: true}
	p, c := newTestPool(t, n)
	p.Apply(fn("nap", 1, quick))
	acquire(t, p, "nap").Release(OutcomeOK)
	c.Add(10 * time.Second)
	p.Reap()
	waitState(t, p, "nap", "paused")
	c.Add(59 * time.Second)
	p.Reap()
	if _, stopped := n.counts(); stopped != 0 {
		t.Fatalf("stopped before pause_timeout")
	}
	c.Add(time.Second)
	p.Reap()
	waitFor(t, "the paused instance to stop", func() bool { _, s := n.counts(); return s == 1 })
	if got := states(t, p, "nap"); len(got) != 0 {
		t.Fatalf("pool still lists %v", got)
	}
}

func TestPausedInstanceResumedByCall(t *testing.T) {
	n := &fakeNode{canPause: true}
	rec := &recorder{}
	p, c := newTestPool(t, n)
	p.cfg.Observer = rec
	p.Apply(fn("nap", 1, quick))
	first := acquire(t, p, "nap")
	first.Release(OutcomeOK)
	if first.Cold() != ColdNew {
		t.Fatalf("first call's cold kind = %q, want %q", first.Cold(), ColdNew)
	}
	c.Add(time.Minute / 2)
	p.Reap()
	waitState(t, p, "nap", "paused")

	l := acquire(t, p, "nap")
	defer l.Release(OutcomeOK)
	if l.InstanceID() != first.InstanceID() || l.Cold() != ColdResumed {
		t.Fatalf("call went to %s (%q), want the paused %s resumed", l.InstanceID(), l.Cold(), first.InstanceID())
	}
	if started, _ := n.counts(); started != 1 {
		t.Fatalf("started %d instances, want the paused one resumed instead", started)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if want := []ColdKind{ColdNew, ColdResumed}; join(kinds(rec.kinds)) != join(kinds(want)) {
		t.Fatalf("observer heard %v, want %v", rec.kinds, want)
	}
}

func kinds(ks []ColdKind) []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = string(k)
	}
	return out
}

func TestMinInstancesStayReadyNotPaused(t *testing.T) {
	n := &fakeNode{canPause: true}
	p, c := newTestPool(t, n)
	spec := quick
	spec.MinInstances = 1
	p.Apply(fn("warm", 1, spec))
	waitState(t, p, "warm", "ready")
	c.Add(time.Hour)
	p.Reap()
	if paused, _ := n.pauses(); paused != 0 {
		t.Fatalf("paused the instance min_instances keeps warm")
	}
}

func TestQueueFullFailsFast(t *testing.T) {
	n := &fakeNode{}
	p, _ := newTestPool(t, n)
	p.Apply(fn("q", 1, api.FunctionSpec{MaxInstances: 1, Queue: 2}))
	busy := acquire(t, p, "q")
	queued := make(chan error, 2)
	for i := 0; i < 2; i++ {
		go func() {
			l, err := tryAcquire(p, "q")
			if err == nil {
				l.Release(OutcomeOK)
			}
			queued <- err
		}()
	}
	waitFor(t, "2 queued calls", func() bool { return p.Stats().Functions[0].Queued == 2 })
	if _, err := p.Acquire(context.Background(), "q"); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("third waiting call: want ErrQueueFull, got %v", err)
	}
	busy.Release(OutcomeOK)
	for range 2 {
		if err := <-queued; err != nil {
			t.Errorf("a queued call: %v", err)
		}
	}
}

func TestCallThatCanNeverFitFailsFast(t *testing.T) {
	n := &fakeNode{alloc: instance.Resources{MemoryMB: 100, CPUMilli: 1000}}
	p, _ := newTestPool(t, n)
	p.Apply(fn("big", 1, api.FunctionSpec{MemoryMB: 128}))
	if _, err := p.Acquire(context.Background(), "big"); !errors.Is(err, ErrNoCapacity) {
		t.Fatalf("want ErrNoCapacity, got %v", err)
	}
	if started, _ := n.counts(); started != 0 {
		t.Fatalf("started %d instances that cannot fit", started)
	}
}

// TestFullNodeEvictsIdleInstancesOfOthers: with room for two instances, a third function's call
// stops the other functions' idle instances, the paused one first.
func TestFullNodeEvictsIdleInstancesOfOthers(t *testing.T) {
	n := &fakeNode{canPause: true, alloc: instance.Resources{MemoryMB: 256}}
	p, c := newTestPool(t, n)
	spec := quick
	spec.MemoryMB = 128
	p.Apply(fn("a", 1, spec))
	p.Apply(fn("b", 1, spec))
	a := acquire(t, p, "a")
	a.Release(OutcomeOK)
	c.Add(time.Minute / 2)
	p.Reap()
	waitState(t, p, "a", "paused")
	b := acquire(t, p, "b")
	b.Release(OutcomeOK)

	p.Apply(fn("c", 1, spec))
	l := acquire(t, p, "c")
	defer l.Release(OutcomeOK)
	n.mu.Lock()
	stopped := append([]string(nil), n.stopped...)
	n.mu.Unlock()
	if len(stopped) != 1 || stopped[0] != a.InstanceID() {
		t.Fatalf("evicted %v, want only a's paused instance %s", stopped, a.InstanceID())
	}
	if got := states(t, p, "b"); join(got) != "ready" {
		t.Fatalf("b's idle instance is %v, want it kept ready", got)
	}
	if r := p.Stats().Reserved.MemoryMB; r != 256 {
		t.Fatalf("reserved %d MB, want 256", r)
	}
}

// TestFullNodeWaitsForABusySlot: when nothing can be evicted, a call waits for room rather
// than failing, and gets it when another function's instance stops.
func TestFullNodeWaitsForABusySlot(t *testing.T) {
	n := &fakeNode{alloc: instance.Resources{MemoryMB: 128}}
	p, _ := newTestPool(t, n)
	p.Apply(fn("a", 1, api.FunctionSpec{MemoryMB: 128}))
	p.Apply(fn("b", 1, api.FunctionSpec{MemoryMB: 128}))
	a := acquire(t, p, "a")
	got := make(chan leaseOrErr, 1)
	go func() { l, err := tryAcquire(p, "b"); got <- leaseOrErr{l, err} }()
	waitFor(t, "b to queue", func() bool { return p.Stats().Functions[1].Queued == 1 })
	a.Release(OutcomeFailed) // a's instance stops, which frees the room b waits for
	b := <-got
	if b.err != nil {
		t.Fatal(b.err)
	}
	b.l.Release(OutcomeOK)
}

func TestKilledInstanceReplaced(t *testing.T) {
	n := &fakeNode{}
	p, _ := newTestPool(t, n)
	p.Apply(fn("k", 1, api.FunctionSpec{MinInstances: 1}))
	waitState(t, p, "k", "ready")
	st, _ := p.Status("k")
	victim := st.Instances[0].ID
	n.kill(victim)
	p.CheckHealth(context.Background())
	waitFor(t, "a replacement", func() bool {
		st, _ := p.Status("k")
		return len(st.Instances) == 1 && st.Instances[0].ID != victim && st.Instances[0].State == "ready"
	})
}

func TestSettingsChangeKeepsWarmInstances(t *testing.T) {
	n := &fakeNode{}
	p, _ := newTestPool(t, n)
	p.Apply(fn("s", 1, api.FunctionSpec{}))
	first := acquire(t, p, "s")
	first.Release(OutcomeOK)
	v2 := fn("s", 2, api.FunctionSpec{IdleTimeout: api.Duration(time.Minute), MaxInstances: 3})
	v2.Version.Image = "img:1" // a config change keeps the image
	p.Apply(v2)
	l := acquire(t, p, "s")
	defer l.Release(OutcomeOK)
	if l.InstanceID() != first.InstanceID() || l.Version() != 2 {
		t.Fatalf("after a settings change the call went to %s v%d, want %s carried over to v2", l.InstanceID(), l.Version(), first.InstanceID())
	}
	if _, stopped := n.counts(); stopped != 0 {
		t.Fatalf("a settings change stopped %d instances", stopped)
	}
}
