package daemon

import (
	"context"
	"errors"
	"time"

	"github.com/hearthfn/hearth/agent"
	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/agent/remote"
)

// watch reports the node's instance changes to the server until ctx ends (it returns nil) or a
// send fails (it returns why). It follows the agent's own event stream when the agent has one
// (agent.Watcher, a node on the Docker driver), which costs the engine nothing while nothing
// changes; it lists the instances every EventPoll otherwise (poll), as agents always did.
//
// A stream that breaks is watched again after EventPoll, which starts with a new resync: the
// server lists the node then, so nothing missed in between stays unknown. A driver that turns
// out not to watch (driver.ErrNotSupported: an older plugin) falls back to polling for the rest
// of the session.
func (d *daemon) watch(ctx context.Context, send func(remote.Message) error) error {
	if d.watcher == nil {
		return d.poll(ctx, send)
	}
	failing := false
	for {
		sendErr, err := d.follow(ctx, send, &failing)
		switch {
		case sendErr != nil:
			return sendErr
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, driver.ErrNotSupported):
			d.log.Info("the node's driver does not report instance changes; listing its instances instead",
				"every", d.cfg.EventPoll)
			return d.poll(ctx, send)
		case !failing:
			d.log.Warn("the node's instance events broke off; watching again", "error", err, "retry_in", d.cfg.EventPoll)
			failing = true
			// The server no longer lists the node on a timer: an engine that went away is news
			// it hears from here, or only at its next failed start.
			if errors.Is(err, driver.ErrUnavailable) {
				if err := send(remote.NewEvent(remote.Event{Reason: remote.ReasonUnavailable})); err != nil {
					return err
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(d.cfg.EventPoll):
		}
	}
}

// follow runs one WatchInstances and sends what the server should hear of each event: a
// resync as remote.ReasonResync, and every instance change it did not ask for itself
// (expectations). sendErr is the send that failed, which ends the watch; err is why the watch
// ended otherwise. failing is whether the previous watch broke off, which the first resync of
// this one clears.
func (d *daemon) follow(ctx context.Context, send func(remote.Message) error, failing *bool) (sendErr, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sendErrs := make(chan error, 1)
	err = d.watcher.WatchInstances(ctx, func(ev instance.Event) {
		if ctx.Err() != nil {
			return
		}
		switch {
		case ev.Resync:
			if *failing {
				d.log.Info("following the node's instance events again")
				*failing = false
			}
		case d.expect.settle(ev):
			return
		default:
			d.log.Info("instance changed", "instance", ev.InstanceID, "function", ev.Function, "state", ev.State,
				"gone", ev.Gone, "exit_code", ev.ExitCode, "oom_killed", ev.OOMKilled, "reason", ev.Reason)
		}
		if err := send(remote.NewEvent(remote.EventOf(ev))); err != nil {
			sendErrs <- err
			cancel()
		}
	})
	select {
	case sendErr = <-sendErrs:
	default:
	}
	return sendErr, err
}

// watcherOf is a's event stream, or nil when it has none.
func watcherOf(a agent.Agent) agent.Watcher {
	w, _ := a.(agent.Watcher)
	return w
}
