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
// keeps each instance's state so that pauses, resumes and health checks can be observed.
type fakeNode struct {
	mu       sync.Mutex
	started  []string
	stopped  []string
	paused   []string
	resumed  []string
	running  map[string]instance.State
	gate     chan struct{} // when non-nil, starts wait for it
	failErr  error         // when non-nil, starts fail with it
	attempts int           // StartInstance calls, failed ones included
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
	if n.running == nil {
		n.running = map[string]instance.State{}
	}
	n.running[spec.ID] = instance.StateRunning
	return instance.Instance{ID: spec.ID, Endpoint: "10.0.0.1:" + fmt.Sprint(len(n.started))}, nil
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
	var out []instance.Status
	for id, st := range n.running {
		out = append(out, instance.Status{Instance: instance.Instance{ID: id}, State: st})
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

// newTestPool returns a pool over n on a fake clock. Its background loop does not run: tests
// call Reap and CheckHealth themselves. The node's capabilities are read at once.
func newTestPool(t *testing.T, n *fakeNode) (*Pool, *clock) {
	t.Helper()
	c := &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	p := New(n, Config{Now: c.Now}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := p.RefreshNode(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Shutdown)
	return p, c
}
