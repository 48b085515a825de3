package pool

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/api"
)

// newCluster returns a pool over one fake node per id, every node's first listing done.
func newCluster(t *testing.T, ids ...string) (*Pool, *clock, map[string]*fakeNode) {
	t.Helper()
	p, c := newEmptyPool(t)
	nodes := map[string]*fakeNode{}
	for _, id := range ids {
		nodes[id] = &fakeNode{}
		addNode(t, p, id, nodes[id], nil)
	}
	return p, c, nodes
}

// nodeOf is the node an instance of the pool runs on, as Status reports it.
func nodeOf(t *testing.T, p *Pool, function, id string) string {
	t.Helper()
	st, _ := p.Status(function)
	for _, in := range st.Instances {
		if in.ID == id {
			return in.Node
		}
	}
	t.Fatalf("%s has no instance %s", function, id)
	return ""
}

func (n *fakeNode) stoppedIDs() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.stopped)
}

func (n *fakeNode) runs(id string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	_, ok := n.running[id]
	return ok
}

// TestPlacementSpreadsAcrossNodes: a function's instances go to three empty nodes one each, and
// each says where it runs and why.
func TestPlacementSpreadsAcrossNodes(t *testing.T) {
	p, _, nodes := newCluster(t, "a", "b", "c")
	p.Apply(fn("spread", 1, api.FunctionSpec{Concurrency: 1, MaxInstances: 3}))
	var leases []*Lease
	for range 3 {
		leases = append(leases, acquire(t, p, "spread"))
	}
	for id, n := range nodes {
		if started, _ := n.counts(); started != 1 {
			t.Errorf("node %s started %d instances, want 1", id, started)
		}
	}
	st, _ := p.Status("spread")
	seen := map[string]bool{}
	for _, in := range st.Instances {
		if in.Node == "" || in.Placement == "" {
			t.Errorf("instance %s: node %q, placement %q; want both", in.ID, in.Node, in.Placement)
		}
		seen[in.Node] = true
	}
	if len(seen) != 3 {
		t.Errorf("instances on %v, want one on each node", seen)
	}
	for _, l := range leases {
		l.Release(OutcomeOK)
	}
	ns := p.Nodes()
	if len(ns) != 3 || ns[0].ID != "a" || ns[0].State != "ready" || ns[0].Instances["ready"] != 1 || !ns[0].Reachable {
		t.Fatalf("Nodes() = %+v", ns)
	}
}

// TestConstraintsPickTheNode: a function with constraints runs only on a node with those labels;
// one whose constraints no node carries fails at once with ErrNoCapacity.
func TestConstraintsPickTheNode(t *testing.T) {
	p, _ := newEmptyPool(t)
	a, b := &fakeNode{}, &fakeNode{}
	addNode(t, p, "a", a, map[string]string{"zone": "a"})
	addNode(t, p, "b", b, map[string]string{"zone": "b", "gpu": "yes"})
	p.Apply(fn("gpu", 1, api.FunctionSpec{Constraints: map[string]string{"gpu": "yes"}}))
	l := acquire(t, p, "gpu")
	defer l.Release(OutcomeOK)
	if got := nodeOf(t, p, "gpu", l.InstanceID()); got != "b" {
		t.Fatalf("the instance runs on %s, want b (the only node labelled gpu=yes)", got)
	}
	p.Apply(fn("tpu", 1, api.FunctionSpec{Constraints: map[string]string{"tpu": "yes"}}))
	if _, err := p.Acquire(t.Context(), "tpu"); !errors.Is(err, ErrNoCapacity) {
		t.Fatalf("Acquire of a function no node can run = %v, want ErrNoCapacity", err)
	}
}

// TestLostNodeInstancesLeave: when a node is lost, its instances leave the pool at once without a
// stop, the call waiting for the function gets an instance on another node, the call in flight
// on the lost node releases safely, and when the node is back its leftover container is removed.
func TestLostNodeInstancesLeave(t *testing.T) {
	p, _, nodes := newCluster(t, "a", "b")
	p.Apply(fn("one", 1, api.FunctionSpec{Concurrency: 1, MaxInstances: 1, MemoryMB: 64}))
	busy := acquire(t, p, "one")
	lost := nodeOf(t, p, "one", busy.InstanceID())
	other := map[string]string{"a": "b", "b": "a"}[lost]

	waiting := make(chan leaseOrErr, 1)
	go func() { l, err := tryAcquire(p, "one"); waiting <- leaseOrErr{l, err} }()
	waitFor(t, "the call to queue", func() bool { return p.Stats().Functions[0].Queued == 1 })

	p.NodeLost(lost, errors.New("no heartbeat for 15s"))
	got := <-waiting
	if got.err != nil {
		t.Fatal(got.err)
	}
	defer got.l.Release(OutcomeOK)
	if n := nodeOf(t, p, "one", got.l.InstanceID()); n != other {
		t.Fatalf("the waiting call went to node %s, want %s", n, other)
	}
	busy.Release(OutcomeFailed) // its call failed with the node; the instance is gone already
	if _, stopped := nodes[lost].counts(); stopped != 0 {
		t.Fatalf("%d stops sent to the lost node", stopped)
	}
	if r := p.Stats().Reserved.MemoryMB; r != 64 {
		t.Fatalf("reserved %d MB, want 64 (only the new instance)", r)
	}
	for _, ns := range p.Nodes() {
		if want := map[bool]string{true: "down", false: "ready"}[ns.ID == lost]; ns.State != want {
			t.Fatalf("node %s is %s, want %s", ns.ID, ns.State, want)
		}
	}

	// The node comes back: the container it kept is nobody's now.
	addNode(t, p, lost, nodes[lost], nil)
	waitFor(t, "the leftover container's removal", func() bool { return !nodes[lost].runs(busy.InstanceID()) })
	if got := nodes[lost].stoppedIDs(); len(got) != 1 || got[0] != busy.InstanceID() {
		t.Fatalf("stopped %v on the node that came back, want only %s", got, busy.InstanceID())
	}

	// Removing a node is losing it for good.
	p.RemoveNode(other)
	if st, _ := p.Status("one"); len(st.Instances) != 0 {
		t.Fatalf("instances %+v left after their node was removed", st.Instances)
	}
	if ns := p.Nodes(); len(ns) != 1 || ns[0].ID != lost {
		t.Fatalf("Nodes() = %+v, want only %s", ns, lost)
	}
}

// TestDrainStopsIdleLetsBusyFinish: draining a node stops its idle instance at once, lets the busy
// one finish its call, and the functions' next calls start on another node; undrain takes
// placements again.
func TestDrainStopsIdleLetsBusyFinish(t *testing.T) {
	p, _ := newEmptyPool(t)
	a, b := &fakeNode{}, &fakeNode{}
	addNode(t, p, "a", a, nil)
	p.Apply(fn("idle", 1, api.FunctionSpec{}))
	p.Apply(fn("busy", 1, api.FunctionSpec{Concurrency: 1}))
	idle := acquire(t, p, "idle")
	idle.Release(OutcomeOK)
	busy := acquire(t, p, "busy")
	addNode(t, p, "b", b, nil)

	p.DrainNode("a", true)
	waitFor(t, "the idle instance to stop", func() bool { return !a.runs(idle.InstanceID()) })
	if !a.runs(busy.InstanceID()) {
		t.Fatal("the busy instance was stopped during its call")
	}
	if got := states(t, p, "busy"); join(got) != "draining" {
		t.Fatalf("busy's instance is %v, want draining", got)
	}
	next := acquire(t, p, "busy")
	if n := nodeOf(t, p, "busy", next.InstanceID()); n != "b" {
		t.Fatalf("a call during the drain went to node %s, want b", n)
	}
	next.Release(OutcomeOK)
	busy.Release(OutcomeOK)
	waitFor(t, "the busy instance to stop after its call", func() bool { return !a.runs(busy.InstanceID()) })
	l := acquire(t, p, "idle")
	if n := nodeOf(t, p, "idle", l.InstanceID()); n != "b" {
		t.Fatalf("idle's next call went to node %s, want b", n)
	}
	l.Release(OutcomeOK)
	if ns := p.Nodes(); ns[0].State != "draining" {
		t.Fatalf("node a is %s, want draining", ns[0].State)
	}
	p.DrainNode("a", false)
	if ns := p.Nodes(); ns[0].State != "ready" {
		t.Fatalf("node a is %s after undrain, want ready", ns[0].State)
	}
}

// TestUnreachableNodeDoesNotFailCalls: a node whose engine cannot be reached fails no call that
// another node can serve: a start that fails there is tried on the other node, and its idle
// instances take no call.
func TestUnreachableNodeDoesNotFailCalls(t *testing.T) {
	p, _ := newEmptyPool(t)
	away := fmt.Errorf("docker: connection refused: %w", driver.ErrUnavailable)
	a, b := &fakeNode{failErr: away}, &fakeNode{}
	addNode(t, p, "a", a, nil) // "a" wins ties: the first start goes there
	addNode(t, p, "b", b, nil)
	p.Apply(fn("f", 1, api.FunctionSpec{Concurrency: 1}))
	l := acquire(t, p, "f")
	if n := nodeOf(t, p, "f", l.InstanceID()); n != "b" {
		t.Fatalf("the call went to node %s, want b", n)
	}
	a.mu.Lock()
	attempts := a.attempts
	a.mu.Unlock()
	if attempts != 1 {
		t.Fatalf("%d starts tried on the unreachable node, want 1", attempts)
	}
	l.Release(OutcomeOK)
	if ns := p.Nodes(); ns[0].Reachable || ns[0].LastError == "" {
		t.Fatalf("node a: %+v, want unreachable with its error", ns[0])
	}

	// The engine of b goes away too, found by a listing: with no node left, calls fail at once.
	b.mu.Lock()
	b.listErr = away
	b.mu.Unlock()
	p.CheckHealth(t.Context())
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if _, err := p.Acquire(ctx, "f"); !errors.Is(err, driver.ErrUnavailable) {
		t.Fatalf("Acquire with every engine away = %v, want driver.ErrUnavailable at once", err)
	}
	// a is back: the call starts there, not on b's idle instance.
	a.mu.Lock()
	a.failErr = nil
	a.mu.Unlock()
	p.CheckHealth(t.Context())
	p.CheckHealth(t.Context())
	l = acquire(t, p, "f")
	defer l.Release(OutcomeOK)
	if n := nodeOf(t, p, "f", l.InstanceID()); n != "a" {
		t.Fatalf("the call went to node %s, want a (b's engine is away)", n)
	}
}

// TestDisconnectedNodeKeepsServing: the instances of a disconnected node keep taking calls; new
// instances go elsewhere.
func TestDisconnectedNodeKeepsServing(t *testing.T) {
	p, _, _ := newCluster(t, "a", "b")
	p.Apply(fn("f", 1, api.FunctionSpec{Concurrency: 1}))
	first := acquire(t, p, "f")
	first.Release(OutcomeOK)
	on := nodeOf(t, p, "f", first.InstanceID())
	p.NodeDisconnected(on)
	l1 := acquire(t, p, "f")
	defer l1.Release(OutcomeOK)
	if l1.InstanceID() != first.InstanceID() {
		t.Fatalf("the call went to %s, want the warm instance on the disconnected node", l1.InstanceID())
	}
	l2 := acquire(t, p, "f")
	defer l2.Release(OutcomeOK)
	if n := nodeOf(t, p, "f", l2.InstanceID()); n == on {
		t.Fatalf("a new instance started on the disconnected node %s", n)
	}
}

// TestEvictionOnTheChosenNodeOnly: a full cluster makes room on one node, stopping idle
// instances there only.
func TestEvictionOnTheChosenNodeOnly(t *testing.T) {
	p, _ := newEmptyPool(t)
	a, b := &fakeNode{alloc: instance.Resources{MemoryMB: 128}}, &fakeNode{alloc: instance.Resources{MemoryMB: 128}}
	addNode(t, p, "a", a, nil)
	addNode(t, p, "b", b, nil)
	spec := api.FunctionSpec{MemoryMB: 128}
	p.Apply(fn("x", 1, spec))
	p.Apply(fn("y", 1, spec))
	p.Apply(fn("z", 1, spec))
	x := acquire(t, p, "x") // busy: not evictable
	y := acquire(t, p, "y")
	y.Release(OutcomeOK) // idle: evictable
	yNode := nodeOf(t, p, "y", y.InstanceID())
	l := acquire(t, p, "z")
	defer l.Release(OutcomeOK)
	defer x.Release(OutcomeOK)
	if n := nodeOf(t, p, "z", l.InstanceID()); n != yNode {
		t.Fatalf("z runs on %s, want %s where y's idle instance was evicted", n, yNode)
	}
	if got := append(a.stoppedIDs(), b.stoppedIDs()...); len(got) != 1 || got[0] != y.InstanceID() {
		t.Fatalf("stopped %v, want only y's idle instance", got)
	}
}

// TestAdoptAtFirstListing: a new pool takes over the containers of its functions' current
// versions it finds at a node's first listing (ready or paused as they were), and removes the
// others.
func TestAdoptAtFirstListing(t *testing.T) {
	n := &fakeNode{canPause: true}
	plant := func(id, function, version string, state instance.State) {
		n.plant(instance.Status{Instance: instance.Instance{ID: id, Endpoint: "10.0.0.9:8080"}, Function: function, State: state,
			Labels: map[string]string{instance.LabelFunction: function, instance.LabelVersion: version, instance.LabelInstance: id}})
	}
	plant("web-v2-running", "web", "2", instance.StateRunning)
	plant("web-v2-paused", "web", "2", instance.StatePaused)
	plant("web-v1-old", "web", "1", instance.StateRunning)
	plant("web-v2-exited", "web", "2", instance.StateExited)
	plant("gone-v1-x", "gone", "1", instance.StateRunning)

	p, _ := newEmptyPool(t)
	p.Apply(fn("web", 2, api.FunctionSpec{MemoryMB: 64}))
	addNode(t, p, testNode, n, nil)

	waitFor(t, "the others' removal", func() bool { return len(n.stoppedIDs()) == 3 })
	stopped := n.stoppedIDs()
	slices.Sort(stopped)
	if want := []string{"gone-v1-x", "web-v1-old", "web-v2-exited"}; !slices.Equal(stopped, want) {
		t.Fatalf("stopped %v, want %v", stopped, want)
	}
	st, _ := p.Status("web")
	got := map[string]string{}
	for _, in := range st.Instances {
		got[in.ID] = in.State
		if in.Node != testNode || in.Placement != adoptPlacement || in.Endpoint != "10.0.0.9:8080" {
			t.Errorf("adopted instance %+v", in)
		}
	}
	if got["web-v2-running"] != "ready" || got["web-v2-paused"] != "paused" || len(got) != 2 {
		t.Fatalf("instances %v, want web-v2-running ready and web-v2-paused paused", got)
	}
	if r := p.Stats().Reserved.MemoryMB; r != 128 {
		t.Fatalf("reserved %d MB, want 128 for the two adopted instances", r)
	}
	l := acquire(t, p, "web")
	defer l.Release(OutcomeOK)
	if l.InstanceID() != "web-v2-running" || l.Cold() != Warm {
		t.Fatalf("the call went to %s (%q), want the adopted web-v2-running, warm", l.InstanceID(), l.Cold())
	}
	if started, _ := n.counts(); started != 0 {
		t.Fatalf("started %d instances", started)
	}
}

// TestShutdownKeepStopsNothing: Shutdown(true) stops no instance (a paused one stays paused),
// lets a start under way finish, and a pool made afterwards (the server's next start) adopts
// every instance as it was, with no start.
func TestShutdownKeepStopsNothing(t *testing.T) {
	n := &fakeNode{canPause: true}
	p, c := newTestPool(t, n)
	spec := quick
	spec.Concurrency, spec.MinInstances = 1, 1
	p.Apply(fn("keep", 1, spec))
	waitState(t, p, "keep", "ready")
	first, second := acquire(t, p, "keep"), acquire(t, p, "keep")
	first.Release(OutcomeOK)
	second.Release(OutcomeOK)
	c.Add(time.Minute / 2)
	p.Reap() // one idle instance pauses, min_instances keeps the other ready
	waitFor(t, "one paused, one ready", func() bool { return sortedStates(p, "keep") == "paused,ready" })

	n.mu.Lock()
	n.gate = make(chan struct{})
	n.mu.Unlock()
	p.Apply(fn("late", 1, api.FunctionSpec{}))
	call := make(chan error, 1)
	go func() { _, err := tryAcquire(p, "late"); call <- err }()
	waitFor(t, "the start under way", func() bool {
		n.mu.Lock()
		defer n.mu.Unlock()
		return n.attempts == 3
	})
	done := make(chan struct{})
	go func() { p.Shutdown(true); close(done) }()
	if err := <-call; !errors.Is(err, ErrClosed) {
		t.Fatalf("the call waiting at shutdown got %v, want ErrClosed", err)
	}
	select {
	case <-done:
		t.Fatal("Shutdown(true) returned before the start under way finished")
	case <-time.After(10 * time.Millisecond):
	}
	close(n.gate)
	<-done
	if started, stopped := n.counts(); started != 3 || stopped != 0 {
		t.Fatalf("%d started, %d stopped; want 3 started and none stopped", started, stopped)
	}

	// The next server start.
	p2, _ := newEmptyPool(t)
	p2.Apply(fn("keep", 1, spec))
	p2.Apply(fn("late", 1, api.FunctionSpec{}))
	addNode(t, p2, testNode, n, nil)
	if got := sortedStates(p2, "keep"); got != "paused,ready" {
		t.Fatalf("keep's instances after the restart: %s, want paused,ready", got)
	}
	if got := join(states(t, p2, "late")); got != "ready" {
		t.Fatalf("late's instance after the restart: %s, want the one started during shutdown, ready", got)
	}
	acquire(t, p2, "late").Release(OutcomeOK)
	if started, stopped := n.counts(); started != 3 || stopped != 0 {
		t.Fatalf("after the restart: %d started, %d stopped; want no change", started, stopped)
	}
}

func sortedStates(p *Pool, name string) string {
	st, _ := p.Status(name)
	var out []string
	for _, in := range st.Instances {
		out = append(out, in.State)
	}
	slices.Sort(out)
	return join(out)
}

// TestRunTendsNodesAndKeepsOnShutdown: Run checks every node on its health tick (an instance
// killed behind the pool's back is replaced) and, with KeepOnShutdown, stops nothing when its
// context ends.
func TestRunTendsNodesAndKeepsOnShutdown(t *testing.T) {
	a, b := &fakeNode{}, &fakeNode{}
	p := New(Config{ReapInterval: 5 * time.Millisecond, HealthInterval: 10 * time.Millisecond, KeepOnShutdown: true}, nil)
	t.Cleanup(func() { p.Shutdown(false) })
	// Both nodes first: min_instances would put both instances on the only node listed yet.
	addNode(t, p, "a", a, nil)
	addNode(t, p, "b", b, nil)
	p.Apply(fn("f", 1, api.FunctionSpec{MinInstances: 2}))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	waitFor(t, "one instance on each node", func() bool { s1, _ := a.counts(); s2, _ := b.counts(); return s1 == 1 && s2 == 1 })
	waitState(t, p, "f", "ready", "ready")
	b.mu.Lock()
	victim := b.started[0]
	b.mu.Unlock()
	b.kill(victim)
	waitFor(t, "the killed instance's replacement", func() bool {
		s1, _ := a.counts()
		s2, _ := b.counts()
		return s1+s2 == 3 && sortedStates(p, "f") == "ready,ready"
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	_, stoppedA := a.counts()
	_, stoppedB := b.counts()
	if stoppedA+stoppedB != 1 { // the killed one's
		t.Fatalf("%d stops, want only the killed instance's", stoppedA+stoppedB)
	}
	if _, err := p.Acquire(t.Context(), "f"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Acquire after Run ended = %v, want ErrClosed", err)
	}
}
