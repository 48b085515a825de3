package daemon

import (
	"context"
	"time"

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
			if expected[id] == instance.StateRunning {
				met = append(met, id) // the start the server asked for
			}
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
			ExitCode: before.exitCode, OOMKilled: before.oomKilled, Reason: remote.ReasonGone, Gone: true})
	}
	return events, met
}

// poll lists the agent's instances every EventPoll and sends an event for every unexpected
// change, until ctx ends or a send fails. The first listing is the baseline: the server lists
// the node itself when the session starts. A listing that fails is skipped (it says nothing
// about the instances).
func (d *daemon) poll(ctx context.Context, send func(remote.Message) error) error {
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
