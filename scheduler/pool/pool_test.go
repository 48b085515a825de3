package pool

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
)

func fn(name string, version int, spec api.FunctionSpec) api.Function {
	spec.Name = name
	return api.Function{Name: name, Version: api.Version{Number: version, Image: fmt.Sprintf("img:%d", version), Spec: spec}}
}

func acquire(t *testing.T, p *Pool, name string) *Lease {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	l, err := p.Acquire(ctx, name)
	if err != nil {
		t.Fatalf("acquire %s: %v", name, err)
	}
	return l
}

// tryAcquire is acquire for goroutines other than the test's, which must not call t.Fatal: it
// returns the error for the test's goroutine to report.
func tryAcquire(p *Pool, name string) (*Lease, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	l, err := p.Acquire(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("acquire %s: %w", name, err)
	}
	return l, nil
}

// leaseOrErr is what a goroutine's tryAcquire got.
type leaseOrErr struct {
	l   *Lease
	err error
}

// waitFor polls cond: stops happen in the background.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestFirstCallStartsThenReuses(t *testing.T) {
	n := &fakeNode{}
	p, _ := newTestPool(t, n)
	p.Apply(fn("hello", 1, api.FunctionSpec{}))
	l1 := acquire(t, p, "hello")
	l1.Release(OutcomeOK)
	l2 := acquire(t, p, "hello")
	l2.Release(OutcomeOK)
	if started, _ := n.counts(); started != 1 {
		t.Fatalf("started %d instances, want 1 (the second call reuses the first)", started)
	}
	if l1.InstanceID() != l2.InstanceID() {
		t.Fatalf("second call went to %s, want %s", l2.InstanceID(), l1.InstanceID())
	}
}

func TestUnknownFunction(t *testing.T) {
	p, _ := newTestPool(t, &fakeNode{})
	if _, err := p.Acquire(context.Background(), "nope"); !errors.Is(err, ErrUnknownFunction) {
		t.Fatalf("want ErrUnknownFunction, got %v", err)
	}
}

// TestNoThunderingHerd: calls that arrive while an instance starts share that start when the
// instance's concurrency can take them all.
func TestNoThunderingHerd(t *testing.T) {
	n := &fakeNode{gate: make(chan struct{})}
	p, _ := newTestPool(t, n)
	p.Apply(fn("herd", 1, api.FunctionSpec{Concurrency: 8}))
	leases := make(chan leaseOrErr, 8)
	for i := 0; i < 8; i++ {
		go func() { l, err := tryAcquire(p, "herd"); leases <- leaseOrErr{l, err} }()
	}
	waitFor(t, "8 waiting calls", func() bool { p.mu.Lock(); defer p.mu.Unlock(); return p.fns["herd"].waiting == 8 })
	close(n.gate)
	for range 8 {
		got := <-leases
		if got.err != nil {
			t.Fatal(got.err)
		}
		got.l.Release(OutcomeOK)
	}
	if started, _ := n.counts(); started != 1 {
		t.Fatalf("started %d instances for 8 calls with concurrency 8, want 1", started)
	}
}

func TestBurstRespectsMaxInstances(t *testing.T) {
	n := &fakeNode{gate: make(chan struct{})}
	p, _ := newTestPool(t, n)
	p.Apply(fn("burst", 1, api.FunctionSpec{Concurrency: 1, MaxInstances: 3}))
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := tryAcquire(p, "burst")
			if err != nil {
				errs <- err
				return
			}
			time.Sleep(time.Millisecond) // hold the slot a moment, so that calls overlap
			l.Release(OutcomeOK)
		}()
	}
	close(n.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if started, _ := n.counts(); started != 3 {
		t.Fatalf("started %d instances, want max_instances = 3", started)
	}
}

func TestIdleInstanceStopped(t *testing.T) {
	n := &fakeNode{}
	p, c := newTestPool(t, n)
	p.Apply(fn("idle", 1, api.FunctionSpec{IdleTimeout: api.Duration(30 * time.Second)}))
	acquire(t, p, "idle").Release(OutcomeOK)
	c.Add(29 * time.Second)
	p.Reap()
	if _, stopped := n.counts(); stopped != 0 {
		t.Fatalf("stopped before idle_timeout")
	}
	c.Add(time.Second)
	p.Reap()
	waitFor(t, "the idle instance to stop", func() bool { _, s := n.counts(); return s == 1 })
	if st, _ := p.Status("idle"); len(st.Instances) != 0 {
		t.Fatalf("pool still lists %d instances", len(st.Instances))
	}
}

func TestBusyInstanceNotReaped(t *testing.T) {
	n := &fakeNode{}
	p, c := newTestPool(t, n)
	p.Apply(fn("busy", 1, api.FunctionSpec{IdleTimeout: api.Duration(time.Second)}))
	l := acquire(t, p, "busy")
	c.Add(time.Hour)
	p.Reap()
	if _, stopped := n.counts(); stopped != 0 {
		t.Fatalf("an instance with a call in flight was stopped")
	}
	l.Release(OutcomeOK)
}

func TestMinInstancesKept(t *testing.T) {
	n := &fakeNode{}
	p, c := newTestPool(t, n)
	p.Apply(fn("warm", 1, api.FunctionSpec{MinInstances: 2, IdleTimeout: api.Duration(time.Second)}))
	waitFor(t, "2 warm instances", func() bool { s, _ := n.counts(); return s == 2 })
	waitFor(t, "2 ready instances", func() bool {
		st, _ := p.Status("warm")
		return len(st.Instances) == 2 && st.Instances[0].State == "ready" && st.Instances[1].State == "ready"
	})
	c.Add(time.Hour)
	p.Reap()
	if _, stopped := n.counts(); stopped != 0 {
		t.Fatalf("stopped %d of the min_instances", stopped)
	}
}

func TestNewVersionDrainsOld(t *testing.T) {
	n := &fakeNode{}
	p, _ := newTestPool(t, n)
	p.Apply(fn("roll", 1, api.FunctionSpec{}))
	old := acquire(t, p, "roll")
	p.Apply(fn("roll", 2, api.FunctionSpec{}))
	if _, stopped := n.counts(); stopped != 0 {
		t.Fatalf("the old instance stopped while its call was in flight")
	}
	nl := acquire(t, p, "roll")
	if nl.Version() != 2 {
		t.Fatalf("call after the rollout went to version %d", nl.Version())
	}
	old.Release(OutcomeOK)
	waitFor(t, "the old instance to stop", func() bool { _, s := n.counts(); return s == 1 })
	nl.Release(OutcomeOK)
}

func TestFailedOutcomeReplacesInstance(t *testing.T) {
	n := &fakeNode{}
	p, _ := newTestPool(t, n)
	p.Apply(fn("crash", 1, api.FunctionSpec{}))
	l := acquire(t, p, "crash")
	first := l.InstanceID()
	l.Release(OutcomeFailed)
	l.Release(OutcomeFailed) // a second release is ignored
	waitFor(t, "the failed instance to stop", func() bool { _, s := n.counts(); return s == 1 })
	l2 := acquire(t, p, "crash")
	defer l2.Release(OutcomeOK)
	if l2.InstanceID() == first {
		t.Fatalf("the failed instance took another call")
	}
}

func TestStartFailureReachesWaiters(t *testing.T) {
	n := &fakeNode{failErr: errors.New("engine on fire")}
	p, _ := newTestPool(t, n)
	p.Apply(fn("broken", 1, api.FunctionSpec{}))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := p.Acquire(ctx, "broken")
	if err == nil || ctx.Err() != nil || !errors.Is(err, n.failErr) {
		t.Fatalf("want the start error before the deadline, got %v", err)
	}
}

func TestRemoveFailsWaitersAndStopsInstances(t *testing.T) {
	n := &fakeNode{}
	p, _ := newTestPool(t, n)
	p.Apply(fn("gone", 1, api.FunctionSpec{}))
	acquire(t, p, "gone").Release(OutcomeOK)
	p.Remove("gone")
	waitFor(t, "the instance to stop", func() bool { _, s := n.counts(); return s == 1 })
	if _, err := p.Acquire(context.Background(), "gone"); !errors.Is(err, ErrUnknownFunction) {
		t.Fatalf("want ErrUnknownFunction after Remove, got %v", err)
	}
}

func TestAcquireHonoursDeadline(t *testing.T) {
	n := &fakeNode{gate: make(chan struct{})}
	p, _ := newTestPool(t, n)
	p.Apply(fn("slow", 1, api.FunctionSpec{}))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := p.Acquire(ctx, "slow"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want DeadlineExceeded, got %v", err)
	}
	close(n.gate)
}

func TestShutdownStopsEverything(t *testing.T) {
	n := &fakeNode{}
	p, _ := newTestPool(t, n)
	p.Apply(fn("a", 1, api.FunctionSpec{MinInstances: 2}))
	waitFor(t, "2 instances", func() bool { s, _ := n.counts(); return s == 2 })
	waitFor(t, "2 ready instances", func() bool { st, _ := p.Status("a"); return st.Instances[1].State == "ready" })
	p.Shutdown(false)
	if _, stopped := n.counts(); stopped != 2 {
		t.Fatalf("stopped %d of 2 instances at shutdown", stopped)
	}
	if _, err := p.Acquire(context.Background(), "a"); !errors.Is(err, ErrClosed) {
		t.Fatalf("want ErrClosed after shutdown, got %v", err)
	}
}
