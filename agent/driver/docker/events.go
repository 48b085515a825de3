package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
)

var _ driver.Watcher = (*Driver)(nil)

// eventsReplay is how far back in time a new event stream starts. Docker answers the events
// request before it subscribes the stream to its event bus (it flushes the headers first), so
// an event made in between would be lost without a Since; Docker replays the recent events it
// keeps in memory from Since on, which closes that gap. The margin also covers a moderate clock
// difference with an engine on another machine. Replayed events are the ones seen just before,
// in the engine's order, so a consumer ends in the same state: they only cost duplicates.
const eventsReplay = time.Second

// watchedActions are the container events that change an instance's state as hearth sees it.
// kill is left out (the die that follows it says what happened), and so are create, stop and
// the rest, which change no state or come with one of these.
var watchedActions = []events.Action{
	events.ActionStart, events.ActionDie, events.ActionOOM,
	events.ActionPause, events.ActionUnPause, events.ActionDestroy,
}

// eventFilters selects hearth's instance containers, as List does: the owner label, and the
// instance label that network sandboxes (prepare.go) and the builder's containers lack. Docker
// ANDs label filters and ORs the values of the other keys.
func eventFilters() filters.Args {
	args := filters.NewArgs(
		filters.Arg("type", string(events.ContainerEventType)),
		filters.Arg("label", instance.LabelOwner+"="+instance.OwnerValue),
		filters.Arg("label", instance.LabelInstance),
	)
	for _, a := range watchedActions {
		args.Add("event", string(a))
	}
	return args
}

// Watch implements driver.Watcher with Docker's event stream: one long-lived GET /events per
// call, which costs the engine nothing while nothing happens (unlike listing every container on
// a timer).
//
// The Resync is sent as soon as Docker has answered the request, not after a first event,
// which may be long in coming: that answer means the stream is open, and the events between it
// and the subscription proper are replayed (eventsReplay). A request that fails (no engine)
// fails at once, before any Resync, with ErrUnavailable. Hearth's own pauses and resumes
// through the cgroup freezer (freezer.go) make no Docker event; that is fine, since whoever
// asked for them knows.
//
// It returns ctx.Err() when ctx ends; ErrUnavailable when the engine cannot be reached; and a
// plain error when an open stream breaks (the engine restarting, typically): a new Watch then
// reconnects, or finds the engine unavailable.
func (d *Driver) Watch(ctx context.Context, fn func(instance.Event)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the client's reading goroutine whatever made us return
	since := time.Now().Add(-eventsReplay)
	msgs, errs := d.api.Events(ctx, events.ListOptions{
		Since:   since.UTC().Format(time.RFC3339Nano),
		Filters: eventFilters(),
	})
	// The client returns once the request has been answered, or has failed: a failure is on
	// errs by then (the client's goroutine puts it there right after it lets Events return, so
	// it may, rarely, arrive after the Resync; the consumer then lists once in vain).
	select {
	case err := <-errs:
		return d.watchErr(ctx, err)
	default:
	}
	fn(instance.Event{Resync: true})
	t := eventTranslator{oom: map[string]bool{}}
	for {
		select {
		case m := <-msgs:
			if ev, ok := t.translate(m); ok {
				fn(ev)
			}
		case err := <-errs:
			return d.watchErr(ctx, err)
		}
	}
}

// watchErr explains why the event stream ended.
func (d *Driver) watchErr(ctx context.Context, err error) error {
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case err == nil, errors.Is(err, io.EOF):
		// The engine closed the stream: it is shutting down, most likely.
		return errors.New("watch: Docker ended the event stream")
	case isUnreachable(err):
		return d.wrapErr(ctx, err, nil, "watch")
	}
	return fmt.Errorf("watch: event stream broke: %w", err)
}

// eventTranslator turns Docker's container events into instance events. Docker reports an
// OOM kill as an oom event followed by the die of the same container: it remembers the oom
// until then.
type eventTranslator struct {
	oom map[string]bool // container ID -> an oom event came since its last die
}

// translate maps one Docker event; ok is false for events that say nothing about an instance
// (another type, a container without the instance label, an action not watched).
func (t *eventTranslator) translate(m events.Message) (_ instance.Event, ok bool) {
	attrs := m.Actor.Attributes
	id := attrs[instance.LabelInstance]
	if m.Type != events.ContainerEventType || id == "" || attrs[instance.LabelOwner] != instance.OwnerValue {
		return instance.Event{}, false
	}
	ev := instance.Event{InstanceID: id, Function: attrs[instance.LabelFunction], Reason: string(m.Action)}
	if m.TimeNano != 0 {
		ev.Time = time.Unix(0, m.TimeNano)
	} else if m.Time != 0 {
		ev.Time = time.Unix(m.Time, 0)
	}
	switch m.Action {
	case events.ActionStart, events.ActionUnPause:
		ev.State = instance.StateRunning
	case events.ActionPause:
		ev.State = instance.StatePaused
	case events.ActionOOM:
		// Not a change of state by itself: a process of the instance other than its main one
		// may have been killed. The die that follows, if any, carries it.
		t.oom[m.Actor.ID] = true
		return instance.Event{}, false
	case events.ActionDie:
		ev.State = instance.StateExited
		ev.ExitCode, _ = strconv.Atoi(attrs["exitCode"])
		ev.OOMKilled = t.oom[m.Actor.ID]
		delete(t.oom, m.Actor.ID)
	case events.ActionDestroy:
		ev.State, ev.Gone = instance.StateExited, true
		delete(t.oom, m.Actor.ID)
	default:
		return instance.Event{}, false
	}
	return ev, true
}
