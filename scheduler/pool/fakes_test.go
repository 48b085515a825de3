package pool

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/hearthfn/hearth/agent"
	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
)

// fakeNode starts instances instantly (or after gate is closed) and records what it did. It
// keeps each instance's state so that pauses, resumes and health checks can be observed, and
// labels its instances as agent/node does, so that a pool made later can adopt them.
type fakeNode struct {
	mu       sync.Mutex
	started  []string
	stopped  []string
	paused   []string
	resumed  []string
	running  map[string]instance.State
	meta     map[string]instance.Status // labels and endpoint of what runs
	gate     chan struct{}              // when non-nil, starts wait for it
	failErr  error                      // when non-nil, starts fail with it
	listErr  error                      // when non-nil, listings fail with it
	attempts int                        // StartInstance calls, failed ones included
	listings int                        // Instances calls, failed ones included
	canPause bool
	alloc    instance.Resources
}

func (n *fakeNode) Info(ctx context.Context) (agent.NodeInfo, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return agent.NodeInfo{ID: "fake", Driver: driver.Fingerprint{Name: "fake",
		Capabilities: driver.Capabilities{Pause: n.canPause}, Allocatable: n.alloc}}, nil
}

func (n *fakeNode) StartInstance(ctx context.Context, spec instance.Spec) (instance.Instance, error) {
	n.mu.Lock()
	gate, failErr := n.gate, n.failErr
	n.attempts++
	n.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return instance.Instance{}, ctx.Err()
		}
	}
	if failErr != nil {
		return instance.Instance{}, failErr
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.started = append(n.started, spec.ID)
	in := instance.Instance{ID: spec.ID, Endpoint: "10.0.0.1:" + fmt.Sprint(len(n.started))}
	n.plantLocked(instance.Status{Instance: in, Function: spec.Function, State: instance.StateRunning,
		Labels: map[string]string{instance.LabelFunction: spec.Function, instance.LabelVersion: fmt.Sprint(spec.Version),
			instance.LabelInstance: spec.ID}})
	return in, nil
}

// plant makes a container run on the node as if something else had started it: an earlier
// pool, or someone by hand.
func (n *fakeNode) plant(st instance.Status) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.plantLocked(st)
}

func (n *fakeNode) plantLocked(st instance.Status) {
	if n.running == nil {
		n.running = map[string]instance.State{}
		n.meta = map[string]instance.Status{}
	}
	n.running[st.Instance.ID] = st.State
	n.meta[st.Instance.ID] = st
}

func (n *fakeNode) PauseInstance(ctx context.Context, id string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.canPause {
		return driver.ErrNotSupported
	}
	if n.running[id] != instance.StateRunning {
		return fmt.Errorf("pause %s: %w", id, driver.ErrInstanceNotFound)
	}
	n.paused = append(n.paused, id)
	n.running[id] = instance.StatePaused
	return nil
}

func (n *fakeNode) ResumeInstance(ctx context.Context, id string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.running[id] != instance.StatePaused {
		return fmt.Errorf("resume %s: %w", id, driver.ErrInstanceNotFound)
	}
	n.resumed = append(n.resumed, id)
	n.running[id] = instance.StateRunning
	return nil
}

func (n *fakeNode) StopInstance(ctx context.Context, id string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.stopped = append(n.stopped, id)
	delete(n.running, id)
	return nil
}

func (n *fakeNode) Instances(ctx context.Context) ([]instance.Status, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.listings++
	if n.listErr != nil {
		return nil, n.listErr
	}
	var out []instance.Status
	for id, state := range n.running {
		st := n.meta[id]
		st.Instance.ID, st.State = id, state
		out = append(out, st)
	}
	return out, nil
}

// kill makes an instance vanish behind the pool's back, as `docker kill` would.
func (n *fakeNode) kill(id string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.running, id)
}

func (n *fakeNode) counts() (started, stopped int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.started), len(n.stopped)
}

func (n *fakeNode) pauses() (paused, resumed int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.paused), len(n.resumed)
}

func (n *fakeNode) listCount() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.listings
}

// watchingNode is a fakeNode that reports its instances' changes (agent.Watcher) as the test
// sends them: each stream opens with a Resync and carries what send gives it until the test
// breaks it, its context ends, or, when openErr is set, fails at once with it.
type watchingNode struct {
	*fakeNode
	wmu     sync.Mutex
	fn      func(instance.Event) // the open stream's, nil when none is open
	brk     chan error           // breaks the open stream
	openErr error
	streams int           // WatchInstances calls
	ended   chan error    // what each stream returned
	opened  chan struct{} // one per stream that opened
}

var _ agent.Watcher = (*watchingNode)(nil)

func newWatchingNode(n *fakeNode) *watchingNode {
	return &watchingNode{fakeNode: n, ended: make(chan error, 100), opened: make(chan struct{}, 100)}
}

func (n *watchingNode) WatchInstances(ctx context.Context, fn func(instance.Event)) error {
	n.wmu.Lock()
	n.streams++
	if n.openErr != nil {
		err := n.openErr
		n.wmu.Unlock()
		n.ended <- err
		return err
	}
	brk := make(chan error, 1)
	n.fn, n.brk = fn, brk
	fn(instance.Event{Resync: true})
	n.wmu.Unlock()
	n.opened <- struct{}{}
	var err error
	select {
	case <-ctx.Done():
		err = ctx.Err()
	case err = <-brk:
	}
	n.wmu.Lock()
	if n.brk == brk {
		n.fn, n.brk = nil, nil
	}
	n.wmu.Unlock()
	n.ended <- err
	return err
}

// send reports ev on the open stream; false when none is open.
func (n *watchingNode) send(ev instance.Event) bool {
	n.wmu.Lock()
	defer n.wmu.Unlock()
	if n.fn == nil {
		return false
	}
	n.fn(ev)
	return true
}

// breakStream ends the open stream with err, and makes the next ones fail at once with
// openErr (nil: they open).
func (n *watchingNode) breakStream(err, openErr error) {
	n.wmu.Lock()
	defer n.wmu.Unlock()
	n.openErr = openErr
	if n.brk != nil {
		n.brk <- err
		n.fn, n.brk = nil, nil
	}
}

func (n *watchingNode) setOpenErr(err error) {
	n.wmu.Lock()
	defer n.wmu.Unlock()
	n.openErr = err
}

func (n *watchingNode) streamCount() int {
	n.wmu.Lock()
	defer n.wmu.Unlock()
	return n.streams
}

// clock is a settable fake clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// testNode is the id of newTestPool's node.
const testNode = "n1"

// newTestPool returns a pool over n (node testNode) on a fake clock. Its background loop does not
// run: tests call Reap and CheckHealth themselves. The node's capabilities are read, and its first
// listing done, before it returns.
func newTestPool(t *testing.T, n Node) (*Pool, *clock) {
	t.Helper()
	p, c := newEmptyPool(t)
	addNode(t, p, testNode, n, nil)
	return p, c
}

// newEmptyPool returns a pool with no node on a fake clock.
func newEmptyPool(t *testing.T) (*Pool, *clock) {
	t.Helper()
	c := &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	p := New(Config{Now: c.Now}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(p.watchers.wg.Wait) // after Shutdown (cleanups run last first), which ends them
	t.Cleanup(func() { p.Shutdown(false) })
	return p, c
}

// addNode adds a node and waits for what AddNode does in the background: its Info read and its
// first listing (which adopts what it runs).
func addNode(t *testing.T, p *Pool, id string, n Node, labels map[string]string) {
	t.Helper()
	p.AddNode(id, n, labels)
	if err := p.RefreshNode(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first listing of node "+id, func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.nodes[id].listed && !p.nodes[id].tending
	})
}
