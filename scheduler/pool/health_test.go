package pool

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearthfn/hearth/agent"
	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/driver/fake"
	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/api"
)

// driverNode runs the pool straight on the fake driver: its instances are real HTTP servers, so
// a call held by a paused instance is a real request in flight. (agent/node, the production
// Node, may not be imported here; it adds labels and a ready check these tests do not need.)
type driverNode struct{ d *fake.Driver }

func (n driverNode) Info(ctx context.Context) (agent.NodeInfo, error) {
	fp, err := n.d.Fingerprint(ctx)
	return agent.NodeInfo{ID: "fake", Driver: fp}, err
}

func (n driverNode) StartInstance(ctx context.Context, spec instance.Spec) (instance.Instance, error) {
	if err := n.d.EnsureImage(ctx, spec.Image); err != nil {
		return instance.Instance{}, err
	}
	return n.d.Start(ctx, spec)
}

func (n driverNode) PauseInstance(ctx context.Context, id string) error  { return n.d.Pause(ctx, id) }
func (n driverNode) ResumeInstance(ctx context.Context, id string) error { return n.d.Resume(ctx, id) }

func (n driverNode) StopInstance(ctx context.Context, id string) error {
	if err := n.d.Stop(ctx, id, 0); err != nil && !errors.Is(err, driver.ErrInstanceNotFound) {
		return err
	}
	return nil
}

func (n driverNode) Instances(ctx context.Context) ([]instance.Status, error) { return n.d.List(ctx) }

// newDriverPool returns a pool on a fake driver with every image present, on a fake clock; as
// with newTestPool, tests call CheckHealth themselves.
func newDriverPool(t *testing.T, opts ...fake.Option) (*Pool, *fake.Driver) {
	t.Helper()
	d := fake.New(append([]fake.Option{fake.WithPull(func(context.Context, string) error { return nil })}, opts...)...)
	t.Cleanup(func() { _ = d.Close() })
	p, _ := newTestPool(t, driverNode{d}) // its Shutdown is registered later, so it runs before the driver closes
	return p, d
}

// TestPausedBehindPoolsBackIsResumed: a ready instance paused by someone else (docker pause)
// holds the call sent to it; the health check notices and resumes it, and the call finishes on
// the same instance instead of running into its timeout.
func TestPausedBehindPoolsBackIsResumed(t *testing.T) {
	p, d := newDriverPool(t)
	p.Apply(fn("frozen", 1, api.FunctionSpec{Timeout: api.Duration(time.Minute)}))
	first := acquire(t, p, "frozen")
	first.Release(OutcomeOK)
	id := first.InstanceID()
	if err := d.Pause(t.Context(), id); err != nil { // behind the pool's back
		t.Fatal(err)
	}

	l := acquire(t, p, "frozen")
	if l.InstanceID() != id {
		t.Fatalf("the call went to %s, want the instance the pool holds ready (%s)", l.InstanceID(), id)
	}
	answered := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+l.Endpoint()+"/", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("status %d", resp.StatusCode)
			}
		}
		answered <- err
	}()
	for d.Held(id) != 1 { // the call is in flight, held by the frozen instance
		select {
		case err := <-answered:
			t.Fatalf("the call to the paused instance returned (%v) before it was resumed", err)
		case <-time.After(time.Millisecond):
		}
	}

	p.CheckHealth(t.Context())
	select {
	case err := <-answered:
		if err != nil {
			t.Fatalf("the call held by the paused instance failed: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the call held by an instance paused behind the pool's back was not released by the health check")
	}
	l.Release(OutcomeOK)
	if c := d.Counts(); c.Resumes != 1 || c.Starts != 1 || c.Stops != 0 {
		t.Fatalf("driver counts %+v, want the one instance resumed (1 start, 1 resume, no stop)", c)
	}
	waitState(t, p, "frozen", "ready")
}

// TestEngineAwayFailsFastAndRecovers: while the node's engine cannot be reached, calls fail at
// once with driver.ErrUnavailable instead of waiting out their deadline; once it answers again,
// the instance it lost is replaced, and a container whose stop failed meanwhile is removed.
func TestEngineAwayFailsFastAndRecovers(t *testing.T) {
	var down atomic.Bool
	p, d := newDriverPool(t, fake.WithHook(func(ctx context.Context, op fake.Op, target string) error {
		if down.Load() {
			return fmt.Errorf("%s %s: engine stopped: %w", op, target, driver.ErrUnavailable)
		}
		return nil
	}))
	p.Apply(fn("steady", 1, api.FunctionSpec{Concurrency: 1}))
	idle := acquire(t, p, "steady")
	busy := acquire(t, p, "steady") // a second instance, with a call in flight
	idle.Release(OutcomeOK)

	down.Store(true)
	p.CheckHealth(t.Context())
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if _, err := p.Acquire(ctx, "steady"); !errors.Is(err, driver.ErrUnavailable) {
		t.Fatalf("Acquire while the engine is away = %v, want driver.ErrUnavailable at once", err)
	}
	// The engine took its containers down with it; the call in flight failed, and its
	// instance's stop cannot reach the engine.
	for _, id := range []string{idle.InstanceID(), busy.InstanceID()} {
		if err := d.Exit(id, 137, "engine stopped"); err != nil {
			t.Fatal(err)
		}
	}
	busyID := busy.InstanceID()
	busy.Release(OutcomeFailed)
	waitFor(t, "the stop that cannot reach the engine to return", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		_, known := p.known[busyID]
		return !known
	})

	down.Store(false)
	p.CheckHealth(t.Context())
	// One answer is not enough: an engine shutting down still answers for a moment.
	if _, err := p.Acquire(ctx, "steady"); !errors.Is(err, driver.ErrUnavailable) {
		t.Fatalf("Acquire after one listing that worked = %v, want still driver.ErrUnavailable", err)
	}
	p.CheckHealth(t.Context())
	l := acquire(t, p, "steady")
	defer l.Release(OutcomeOK)
	if l.InstanceID() == idle.InstanceID() || l.InstanceID() == busyID {
		t.Fatalf("after the engine came back the call went to %s, an instance it lost", l.InstanceID())
	}
	waitFor(t, "only the new instance on the node", func() bool {
		list, err := d.List(t.Context())
		return err == nil && len(list) == 1 && list[0].Instance.ID == l.InstanceID()
	})
}

// TestOrphanRemoved: a container of the node that the pool never knew (a leftover that no
// stop reached) is removed by the health check; the pool's own instances are left alone.
func TestOrphanRemoved(t *testing.T) {
	p, d := newDriverPool(t)
	p.Apply(fn("kept", 1, api.FunctionSpec{}))
	acquire(t, p, "kept").Release(OutcomeOK)
	if _, err := d.Start(t.Context(), instance.Spec{ID: "stray-v1-0000", Function: "stray", Image: "img:1"}); err != nil {
		t.Fatal(err)
	}
	p.CheckHealth(t.Context())
	waitFor(t, "the orphan's removal", func() bool {
		_, ok := d.Spec("stray-v1-0000")
		return !ok
	})
	if c := d.Counts(); c.Stops != 1 {
		t.Fatalf("%d stops, want only the orphan's", c.Stops)
	}
	waitState(t, p, "kept", "ready")
}

// TestStartOnUnreachableEngineFailsFast: a start that finds the engine unreachable fails its
// call, and the calls after it fail at once with the same error, without a start each, until
// the health check finds the engine back.
func TestStartOnUnreachableEngineFailsFast(t *testing.T) {
	var down atomic.Bool
	var starts atomic.Int32
	p, _ := newDriverPool(t, fake.WithHook(func(ctx context.Context, op fake.Op, target string) error {
		if op == fake.OpEnsureImage { // the first step of a start
			starts.Add(1)
		}
		if down.Load() && op != fake.OpFingerprint {
			return fmt.Errorf("%s %s: engine stopped: %w", op, target, driver.ErrUnavailable)
		}
		return nil
	}), fake.WithImages("img:1"))
	down.Store(true) // after the node's first listing, which would have found the engine away
	p.Apply(fn("eager", 1, api.FunctionSpec{}))
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for i := range 3 {
		if _, err := p.Acquire(ctx, "eager"); !errors.Is(err, driver.ErrUnavailable) {
			t.Fatalf("call %d with the engine away = %v, want driver.ErrUnavailable", i, err)
		}
	}
	if n := starts.Load(); n != 1 {
		t.Fatalf("%d starts for 3 calls with the engine away, want 1: the calls after the first failure fail at once", n)
	}
	down.Store(false)
	p.CheckHealth(t.Context())
	p.CheckHealth(t.Context()) // two listings that work end the down time
	acquire(t, p, "eager").Release(OutcomeOK)
}
