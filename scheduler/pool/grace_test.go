package pool

import (
	"context"
	"testing"
	"time"

	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/api"
)

// plantRunning puts a running instance of function at version on n, labelled as a node labels
// what it starts: what a server that stopped left behind.
func plantRunning(n *fakeNode, id, function, version string) {
	n.plant(instance.Status{Instance: instance.Instance{ID: id, Endpoint: "10.0.0.9:8080"}, Function: function,
		State:  instance.StateRunning,
		Labels: map[string]string{instance.LabelFunction: function, instance.LabelVersion: version, instance.LabelInstance: id}})
}

// TestRestartWaitsForTheNodesOfTheLastRun: after a restart, a call that finds the instances of
// the nodes back so far busy waits for the next node's instance to be adopted instead of
// starting one, so that no instance the last run left is recreated (and the one of the node
// back last is not stopped as surplus).
func TestRestartWaitsForTheNodesOfTheLastRun(t *testing.T) {
	a, b := &fakeNode{canPause: true}, &fakeNode{canPause: true}
	plantRunning(a, "web-v1-a", "web", "1")
	plantRunning(b, "web-v1-b", "web", "1")
	p, _ := newEmptyPool(t)
	spec := api.FunctionSpec{MemoryMB: 64}
	spec.Concurrency, spec.MaxInstances = 1, 2
	p.Apply(fn("web", 1, spec))
	p.ExpectNodes([]string{"a", "b"}, time.Minute)
	addNode(t, p, "a", a, nil)

	first := acquire(t, p, "web")
	defer first.Release(OutcomeOK)
	if first.InstanceID() != "web-v1-a" {
		t.Fatalf("first call went to %s, want the adopted web-v1-a", first.InstanceID())
	}
	got := make(chan *Lease, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		l, err := p.Acquire(ctx, "web")
		if err != nil {
			t.Errorf("second call: %v", err)
		}
		got <- l
	}()
	waitFor(t, "the second call to wait", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.fns["web"].waiting == 1
	})
	if started, _ := a.counts(); started != 0 {
		t.Fatalf("%d instances started while node b was expected back", started)
	}
	addNode(t, p, "b", b, nil)
	second := <-got
	if second == nil {
		t.FailNow()
	}
	defer second.Release(OutcomeOK)
	if second.InstanceID() != "web-v1-b" {
		t.Fatalf("second call went to %s, want the adopted web-v1-b", second.InstanceID())
	}
	for name, n := range map[string]*fakeNode{"a": a, "b": b} {
		if started, stopped := n.counts(); started != 0 || stopped != 0 {
			t.Errorf("node %s: %d started, %d stopped; want none", name, started, stopped)
		}
	}
}

// TestGraceEndsWhenANodeStaysAway: a node that does not come back holds starts only until the
// grace ends; a call waiting meanwhile then gets a new instance.
func TestGraceEndsWhenANodeStaysAway(t *testing.T) {
	a := &fakeNode{canPause: true}
	p, _ := newEmptyPool(t)
	p.Apply(fn("web", 1, api.FunctionSpec{MemoryMB: 64}))
	p.ExpectNodes([]string{"a", "never"}, 200*time.Millisecond)
	addNode(t, p, "a", a, nil)
	begin := time.Now()
	l := acquire(t, p, "web")
	defer l.Release(OutcomeOK)
	if started, _ := a.counts(); started != 1 {
		t.Fatalf("%d starts, want 1 once the grace ended", started)
	}
	if waited := time.Since(begin); waited < 150*time.Millisecond {
		t.Fatalf("the call got an instance after %s, before the grace ended", waited)
	}
}
