package daemon

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hearthfn/hearth/agent"
	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
)

// expectations records the state changes the server asked for, so that the watcher does not
// report them back. Each instance keeps its pending ones in the order they were asked for:
// events come later than the calls that caused them, and a start, a pause and a resume in
// quick succession are all pending when the start's event arrives. An expectation that is
// never met (a pause that failed, a stop of an instance that was already gone, a pause through
// the cgroup freezer, which makes no engine event) is dropped after expectationTTL.
type expectations struct {
	mu  sync.Mutex
	m   map[string][]expectation // instance id -> pending, oldest first
	now func() time.Time
	// swept is when expect last dropped the stale ones: with events (settle) nobody takes
	// snapshots, which drop them too.
	swept time.Time
}

type expectation struct {
	state instance.State
	at    time.Time
}

const (
	expectationTTL = time.Minute
	// maxPending bounds the pending expectations of one instance; the oldest go first.
	maxPending = 8
)

func newExpectations() *expectations {
	return &expectations{m: map[string][]expectation{}, now: time.Now}
}

func (e *expectations) expect(id string, state instance.State) {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	xs := append(e.m[id], expectation{state: state, at: now})
	if len(xs) > maxPending {
		xs = xs[len(xs)-maxPending:]
	}
	e.m[id] = xs
	if now.Sub(e.swept) > expectationTTL {
		e.swept = now
		for id := range e.m {
			e.freshLocked(id, now)
		}
	}
}

// freshLocked drops id's stale expectations and returns the others.
func (e *expectations) freshLocked(id string, now time.Time) []expectation {
	xs := e.m[id]
	for len(xs) > 0 && now.Sub(xs[0].at) > expectationTTL {
		xs = xs[1:]
	}
	if len(xs) == 0 {
		delete(e.m, id)
		return nil
	}
	e.m[id] = xs
	return xs
}

// settle reports whether ev is a change the server asked for, and forgets the expectation it
// meets with the older ones (a pause through the freezer, which makes no event, is over once a
// later change is seen). A stop is met by the instance's removal; the thaw and the exit on its
// way are part of it too.
func (e *expectations) settle(ev instance.Event) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	xs := e.freshLocked(ev.InstanceID, e.now())
	for i, x := range xs {
		switch {
		case x.state == expectGone && ev.Gone:
			delete(e.m, ev.InstanceID)
			return true
		case x.state == expectGone && (ev.State == instance.StateRunning || ev.State == instance.StateExited):
			return true
		case x.state != expectGone && !ev.Gone && ev.State == x.state:
			if rest := xs[i+1:]; len(rest) > 0 {
				e.m[ev.InstanceID] = rest
			} else {
				delete(e.m, ev.InstanceID)
			}
			return true
		}
	}
	return false
}

// snapshot returns the latest expectation of each instance, dropping the stale ones: a listing
// shows only the state the instance ended in.
func (e *expectations) snapshot() map[string]instance.State {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	out := make(map[string]instance.State, len(e.m))
	for id := range e.m {
		if xs := e.freshLocked(id, now); len(xs) > 0 {
			out[id] = xs[len(xs)-1].state
		}
	}
	return out
}

func (e *expectations) forget(ids []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, id := range ids {
		delete(e.m, id)
	}
}

// expecting wraps the served agent: the starts, pauses, resumes and stops the server asks for
// are recorded as expected before they happen.
type expecting struct {
	agent.Agent
	x *expectations
}

func (a expecting) StartInstance(ctx context.Context, spec instance.Spec) (instance.Instance, error) {
	a.x.expect(spec.ID, instance.StateRunning)
	return a.Agent.StartInstance(ctx, spec)
}

// PrepareInstance passes a prepare on to the agent when it can prepare (agent.Preparer), so that
// the wrapping does not hide that: remote nodes prepare instances ahead as in-process ones do.
// A prepared instance makes no engine event until its start, which StartInstance expects.
func (a expecting) PrepareInstance(ctx context.Context, spec instance.Spec) error {
	p, ok := a.Agent.(agent.Preparer)
	if !ok {
		return fmt.Errorf("this node cannot prepare instances: %w", driver.ErrNotSupported)
	}
	return p.PrepareInstance(ctx, spec)
}

func (a expecting) PauseInstance(ctx context.Context, id string) error {
	a.x.expect(id, instance.StatePaused)
	return a.Agent.PauseInstance(ctx, id)
}

func (a expecting) ResumeInstance(ctx context.Context, id string) error {
	a.x.expect(id, instance.StateRunning)
	return a.Agent.ResumeInstance(ctx, id)
}

func (a expecting) StopInstance(ctx context.Context, id string) error {
	a.x.expect(id, expectGone)
	return a.Agent.StopInstance(ctx, id)
}
