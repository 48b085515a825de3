package daemon

import (
	"context"
	"sync"
	"time"

	"github.com/hearthfn/hearth/agent"
	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/agent/remote"
)

// seen is what the watcher remembers of an instance between listings.
type seen struct {
	function  string
	state     instance.State
	exitCode  int
	oomKilled bool
	reason    string
}

func seenOf(st instance.Status) seen {
	return seen{function: st.Function, state: st.State, exitCode: st.ExitCode, oomKilled: st.OOMKilled, reason: st.Reason}
}

// expectGone is the state the server expects of an instance it stopped.
const expectGone instance.State = "gone"

// diffInstances returns the events that tell the server what changed between two listings:
// an instance whose state (or exit) changed, one that vanished, and a new one that has already
// exited (it started and died between two listings). A new instance that runs is no news: the
// server started it. Changes the server asked for (expected: id -> the state its call leads
// to) are not reported; the ids whose expectation was met are returned to be forgotten.
func diffInstances(prev, cur map[string]seen, expected map[string]instance.State) (events []remote.Event, met []string) {
	for id, now := range cur {
		before, known := prev[id]
		switch {
		case !known && now.state != instance.StateExited:
			continue
		case known && before == now:
			continue
		}
		if want, ok := expected[id]; ok && want == now.state {
			met = append(met, id)
			continue
		}
		events = append(events, remote.Event{InstanceID: id, Function: now.function, State: now.state,
			ExitCode: now.exitCode, OOMKilled: now.oomKilled, Reason: now.reason})
	}
	for id, before := range prev {
		if _, ok := cur[id]; ok {
			continue
		}
		if expected[id] == expectGone {
			met = append(met, id)
			continue
		}
		events = append(events, remote.Event{InstanceID: id, Function: before.function, State: instance.StateExited,
			ExitCode: before.exitCode, OOMKilled: before.oomKilled, Reason: remote.ReasonGone})
	}
	return events, met
}

// expectations records the state changes the server asked for, so that the watcher does not
// report them back. An expectation that is never met (a pause that failed, a stop of an
// instance that was already gone) is dropped after expectationTTL.
type expectations struct {
	mu  sync.Mutex
	m   map[string]expectation
	now func() time.Time
}

type expectation struct {
	state instance.State
	at    time.Time
}

const expectationTTL = time.Minute

func newExpectations() *expectations {
	return &expectations{m: map[string]expectation{}, now: time.Now}
}

func (e *expectations) expect(id string, state instance.State) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.m[id] = expectation{state: state, at: e.now()}
}

// snapshot returns the current expectations, dropping the stale ones.
func (e *expectations) snapshot() map[string]instance.State {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]instance.State, len(e.m))
	for id, x := range e.m {
		if e.now().Sub(x.at) > expectationTTL {
			delete(e.m, id)
			continue
		}
		out[id] = x.state
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

// expecting wraps the served agent: the pauses, resumes and stops the server asks for are
// recorded as expected before they happen.
type expecting struct {
	agent.Agent
	x *expectations
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

// watch lists the agent's instances every poll and sends an event for every unexpected change,
// until ctx ends or a send fails. The first listing is the baseline: the server lists the node
// itself when the session starts. A listing that fails is skipped (it says nothing about the
// instances).
func (d *daemon) watch(ctx context.Context, send func(remote.Message) error) error {
	var prev map[string]seen
	t := time.NewTicker(d.cfg.EventPoll)
	defer t.Stop()
	failing := false
	for {
		lctx, cancel := context.WithTimeout(ctx, listTimeout)
		all, err := d.cfg.Agent.Instances(lctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			if !failing {
				d.log.Warn("cannot list the node's instances", "error", err)
			}
			failing = true
		default:
			if failing {
				d.log.Info("listing the node's instances again")
			}
			failing = false
			cur := make(map[string]seen, len(all))
			for _, st := range all {
				cur[st.Instance.ID] = seenOf(st)
			}
			if prev != nil {
				events, met := diffInstances(prev, cur, d.expect.snapshot())
				d.expect.forget(met)
				for _, ev := range events {
					d.log.Info("instance changed", "instance", ev.InstanceID, "function", ev.Function,
						"state", ev.State, "exit_code", ev.ExitCode, "oom_killed", ev.OOMKilled, "reason", ev.Reason)
					if err := send(remote.NewEvent(ev)); err != nil {
						return err
					}
				}
			}
			prev = cur
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// listTimeout bounds one listing of the node's instances.
const listTimeout = 10 * time.Second
