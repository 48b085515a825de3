package pool

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/api"
)

// prepNode is a fakeNode whose agent prepares instances (agent.Preparer): a prepared one is
// "created", listed as starting, until it is started or stopped.
type prepNode struct {
	fakeNode
	prepared []string // every PrepareInstance that succeeded, in order
	prepErr  error
	preps    int // PrepareInstance calls
}

func (n *prepNode) PrepareInstance(ctx context.Context, spec instance.Spec) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.preps++
	if n.prepErr != nil {
		return n.prepErr
	}
	n.prepared = append(n.prepared, spec.ID)
	n.plantLocked(instance.Status{Instance: instance.Instance{ID: spec.ID}, Function: spec.Function, State: instance.StateStarting,
		Labels: map[string]string{instance.LabelFunction: spec.Function, instance.LabelInstance: spec.ID}})
	return nil
}

// lastPrepared is the id of the newest prepared instance, "" if none.
func (n *prepNode) lastPrepared() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.prepared) == 0 {
		return ""
	}
	return n.prepared[len(n.prepared)-1]
}

func (n *prepNode) wasStopped(id string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Contains(n.stopped, id)
}

// preparedID is the id of f's ready prepared instance as the pool sees it.
func preparedID(p *Pool, name string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if f := p.fns[name]; f != nil && f.prep != nil && f.prep.ready {
		return f.prep.id
	}
	return ""
}

// waitPrepared waits until the pool has a ready prepared instance of name other than not.
func waitPrepared(t *testing.T, p *Pool, name, not string) string {
	t.Helper()
	var id string
	waitFor(t, "an instance prepared ahead", func() bool {
		id = preparedID(p, name)
		return id != "" && id != not
	})
	return id
}

// assertNoLeak checks that every instance the node prepared was started or stopped, and that
// the pool knows no id it has no instance or prepared instance for.
func assertNoLeak(t *testing.T, p *Pool, n *prepNode) {
	t.Helper()
	waitFor(t, "every prepared instance started or stopped", func() bool {
		n.mu.Lock()
		defer n.mu.Unlock()
		for _, id := range n.prepared {
			if !slices.Contains(n.started, id) && !slices.Contains(n.stopped, id) {
				return false
			}
		}
		return true
	})
	waitFor(t, "the pool to know only live instances", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		live := 0
		for _, f := range p.fns {
			live += len(f.instances)
		}
		return len(p.known) == live
	})
}

// stopIdle makes the function's idle instances stop (a node that cannot pause stops them at
// idle_timeout).
func stopIdle(t *testing.T, p *Pool, c *clock, n *prepNode, stops int) {
	t.Helper()
	c.Add(11 * time.Second)
	p.Reap()
	waitFor(t, "the idle instance to stop", func() bool { _, s := n.counts(); return s >= stops })
}

var prepSpec = api.FunctionSpec{IdleTimeout: api.Duration(10 * time.Second), PauseTimeout: api.Duration(10 * time.Second)}

// newPrepared returns a pool on a prepNode whose function "f" served one call, and the id of the
// instance prepared after it.
func newPrepared(t *testing.T) (*prepNode, *Pool, *clock, string) {
	t.Helper()
	n := &prepNode{}
	p, c := newTestPool(t, n)
	p.Apply(fn("f", 1, prepSpec))
	acquire(t, p, "f").Release(OutcomeOK)
	return n, p, c, waitPrepared(t, p, "f", "")
}

func TestPreparedInstanceUsedByNextStart(t *testing.T) {
	n := &prepNode{}
	p, c := newTestPool(t, n)
	p.Apply(fn("f", 1, prepSpec))
	l := acquire(t, p, "f")
	first := l.InstanceID()
	l.Release(OutcomeOK)
	prep := waitPrepared(t, p, "f", "")
	if prep == first {
		t.Fatal("the prepared id is the running instance's")
	}
	stopIdle(t, p, c, n, 1)
	if n.wasStopped(prep) {
		t.Fatal("the prepared instance was stopped with the idle one")
	}

	l = acquire(t, p, "f")
	if l.InstanceID() != prep {
		t.Errorf("the next start made %s, not the prepared %s", l.InstanceID(), prep)
	}
	l.Release(OutcomeOK)
	// And the start after that is prepared in turn.
	next := waitPrepared(t, p, "f", prep)
	p.Remove("f")
	waitFor(t, "the new prepared instance removed with the function", func() bool { return n.wasStopped(next) })
	assertNoLeak(t, p, n)
}

func TestPreparedDiscardedOnNewVersion(t *testing.T) {
	n, p, _, prep := newPrepared(t)

	env := prepSpec
	env.Env = map[string]string{"A": "b"} // a new instance: old ones drain
	p.Apply(fn("f", 2, env))
	waitFor(t, "the version 1 prepared instance discarded", func() bool { return n.wasStopped(prep) })
	l := acquire(t, p, "f")
	if l.InstanceID() == prep || l.Version() != 2 {
		t.Errorf("version 2 started %s (version %d): the prepared instance of version 1 was used", l.InstanceID(), l.Version())
	}
	l.Release(OutcomeOK)
	v2 := waitPrepared(t, p, "f", prep)
	p.mu.Lock()
	version := p.fns["f"].prep.version
	p.mu.Unlock()
	if version != 2 {
		t.Errorf("prepared for version %d after the deploy of 2", version)
	}
	p.Remove("f")
	waitFor(t, "the version 2 prepared instance removed", func() bool { return n.wasStopped(v2) })
	assertNoLeak(t, p, n)
}

func TestPreparedDiscardedWhenUnused(t *testing.T) {
	n, p, c, prep := newPrepared(t)
	stopIdle(t, p, c, n, 1)
	// Kept a while after the last instance stopped: the next call is likely soon.
	c.Add(30 * time.Second)
	p.Reap()
	if n.wasStopped(prep) || preparedID(p, "f") != prep {
		t.Fatal("the prepared instance was discarded within idle_timeout + pause_timeout + a minute of the last call")
	}
	c.Add(prepareKeepMin)
	p.Reap()
	waitFor(t, "the unused prepared instance discarded", func() bool { return n.wasStopped(prep) })
	if id := preparedID(p, "f"); id != "" {
		t.Errorf("prepared again (%s) for a function with no instance", id)
	}
	assertNoLeak(t, p, n)
}

func TestPreparedDiscardedOnDrain(t *testing.T) {
	n, p, _, prep := newPrepared(t)
	p.DrainNode(testNode, true)
	waitFor(t, "the prepared instance discarded with the drain", func() bool { return n.wasStopped(prep) })
	assertNoLeak(t, p, n)
}

func TestPreparedDiscardedOnShutdown(t *testing.T) {
	n, p, _, prep := newPrepared(t)
	p.Shutdown(false)
	if !n.wasStopped(prep) {
		t.Error("Shutdown left the prepared instance")
	}
}

// TestPreparedNotOrphaned: the health check leaves a prepared instance be (it is known); Shutdown
// with keep leaves the running instance and removes the prepared one; and a pool made later,
// which finds one a killed server left, removes it rather than adopt it.
func TestPreparedNotOrphaned(t *testing.T) {
	n, p, _, prep := newPrepared(t)
	p.CheckHealth(context.Background())
	if n.wasStopped(prep) {
		t.Fatal("the health check removed the prepared instance as an orphan")
	}
	p.Shutdown(true)
	if !n.wasStopped(prep) {
		t.Fatal("Shutdown with keep left the prepared instance")
	}
	if _, stopped := n.counts(); stopped != 1 {
		t.Fatalf("Shutdown with keep stopped %d containers, want the prepared one alone", stopped)
	}
	// What a killed server leaves: a created container of the current version.
	prep = "f-v1-left"
	n.plant(instance.Status{Instance: instance.Instance{ID: prep}, Function: "f", State: instance.StateStarting,
		Labels: map[string]string{instance.LabelFunction: "f", instance.LabelVersion: "1", instance.LabelInstance: prep}})

	p2, _ := newEmptyPool(t)
	p2.Apply(fn("f", 1, prepSpec))
	addNode(t, p2, testNode, n, nil)
	p2.CheckHealth(context.Background())
	waitFor(t, "the next pool to remove the prepared instance", func() bool { return n.wasStopped(prep) })
	if st, _ := p2.Status("f"); len(st.Instances) != 1 {
		t.Errorf("the next pool has %d instances, want the running one adopted alone", len(st.Instances))
	}
}

func TestPrepareNotSupportedAskedOnce(t *testing.T) {
	n := &prepNode{prepErr: driver.ErrNotSupported}
	p, c := newTestPool(t, n)
	p.Apply(fn("f", 1, prepSpec))
	acquire(t, p, "f").Release(OutcomeOK)
	waitFor(t, "a prepare", func() bool { n.mu.Lock(); defer n.mu.Unlock(); return n.preps == 1 })
	for range 3 {
		c.Add(prepareRetry)
		p.Reap()
	}
	stopIdle(t, p, c, n, 1)
	acquire(t, p, "f").Release(OutcomeOK)
	n.mu.Lock()
	preps := n.preps
	n.mu.Unlock()
	if preps != 1 {
		t.Errorf("%d prepares on a node that cannot, want 1", preps)
	}
	assertNoLeak(t, p, n)
}

func TestPrepareFailureFallsBack(t *testing.T) {
	n := &prepNode{prepErr: errors.New("engine hiccup")}
	p, c := newTestPool(t, n)
	p.Apply(fn("f", 1, prepSpec))
	acquire(t, p, "f").Release(OutcomeOK)
	waitFor(t, "a prepare", func() bool { n.mu.Lock(); defer n.mu.Unlock(); return n.preps == 1 })
	stopIdle(t, p, c, n, 1)
	l := acquire(t, p, "f") // starts as before
	l.Release(OutcomeOK)
	assertNoLeak(t, p, n)
}
