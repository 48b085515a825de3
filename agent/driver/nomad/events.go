package nomad

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
)

// This file holds Watch: the instances' changes as events, for the pool to follow instead of
// listing the node on a timer. The driver already keeps a view of hearth's jobs and
// allocations current with blocking queries (watch.go); Watch subscribes to that view and, at
// each of its changes, compares every instance's state with the one it saw last, as the agent
// daemon compares two listings (agent/daemon/watch.go). It makes no request of its own, so a
// quiet cluster still costs one blocking query per list every WaitTime, however many watch,
// and what Watch reports always agrees with what List answers. (Nomad's event stream,
// /v1/event/stream, would be a second subscription to keep in step with the view.)

var _ driver.Watcher = (*Driver)(nil)

// Reasons of the events that Nomad's own words do not give.
const (
	// reasonRemoved is the reason of an instance whose job is gone (purged, or collected).
	reasonRemoved = "removed"
)

// Watch calls fn with a Resync once the view has answered (both lists), then with an event per
// change of an instance's state: running when its allocation runs, exited (with its exit code
// and the cause) when the allocation is terminal (failed, completed, lost, stopped by someone),
// unknown when its client is disconnected, and Gone when its job is gone. An instance seen
// first while Nomad is still placing it (starting) is reported once it runs or ends. Changes
// that fall between two looks at the view are reported as their net result (a job stopped and
// purged at once is one Gone), in Nomad's order (its index) across instances.
//
// It returns ctx's error when ctx ends; the error of the watcher's failed query when a list
// stops being current (driver.ErrUnavailable when Nomad cannot be reached or has no leader),
// at once when one already is; driver.ErrUnavailable when the driver is closed. The watcher
// keeps retrying in the background: a later Watch starts with a new Resync once it succeeds.
func (d *Driver) Watch(ctx context.Context, fn func(instance.Event)) error {
	var prev map[string]watched
	for {
		select {
		case <-d.watchDone:
			return fmt.Errorf("watch: the driver is closed: %w", driver.ErrUnavailable)
		default:
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("watch: %w", err)
		}
		cur, changed, err := d.view.current()
		switch {
		case err != nil:
			return fmt.Errorf("watch: %w", err)
		case cur == nil: // not answered yet: wait for it
		case prev == nil:
			fn(instance.Event{Resync: true})
			prev = cur
		default:
			for _, ev := range diffWatched(prev, cur) {
				fn(ev)
			}
			prev = cur
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("watch: %w", ctx.Err())
		case <-d.watchDone:
			return fmt.Errorf("watch: the driver is closed: %w", driver.ErrUnavailable)
		case <-changed:
		}
	}
}

// watched is what Watch compares of an instance between two looks at the view.
type watched struct {
	function  string
	state     instance.State
	exitCode  int
	oomKilled bool
	reason    string
	// index is Nomad's index of the instance's last change (of its job or its allocation), the
	// order of events across instances; at is when the allocation last changed (zero if none).
	index uint64
	at    time.Time
}

// same reports whether nothing Watch reports changed.
func (w watched) same(o watched) bool {
	return w.function == o.function && w.state == o.state && w.exitCode == o.exitCode && w.oomKilled == o.oomKilled &&
		w.reason == o.reason
}

func watchedOf(j jobEntry, a *api.AllocationListStub) watched {
	st := statusOf(j, a)
	w := watched{function: st.Function, state: st.State, exitCode: st.ExitCode, oomKilled: st.OOMKilled,
		reason: st.Reason, index: j.ModifyIndex}
	if a != nil {
		w.index = max(w.index, a.ModifyIndex)
		if a.ModifyTime > 0 {
			w.at = time.Unix(0, a.ModifyTime)
		}
		if w.reason == "" {
			w.reason = a.ClientStatus // "running": Nomad's word for it
		}
	}
	return w
}

// current returns every instance as Watch compares them, by instance id, and a channel closed
// at the view's next change, both under one lock so that no change falls between them. When
// the view is not current it returns no instances, and the error of the failed query (nil
// before the watcher's first answers).
func (v *view) current() (map[string]watched, <-chan struct{}, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.syncedLocked() {
		return nil, v.changed, cmp.Or(v.jobsErr, v.allocsErr)
	}
	cur := make(map[string]watched, len(v.jobs))
	eachInstance(v.jobs, v.allocs, func(j jobEntry, a *api.AllocationListStub) {
		cur[j.Meta[instance.LabelInstance]] = watchedOf(j, a)
	})
	return cur, v.changed, nil
}

// diffWatched returns the events that take prev to cur: a state that changed (or an exit
// whose code or cause did), an instance that appeared other than starting, and an instance
// that vanished (Gone). They come in Nomad's order, the vanished last (the view does not say
// when a job went).
func diffWatched(prev, cur map[string]watched) []instance.Event {
	type change struct {
		ev    instance.Event
		index uint64
	}
	var changes []change
	for id, now := range cur {
		before, known := prev[id]
		if now.state == instance.StateStarting || (known && before.same(now)) {
			continue
		}
		changes = append(changes, change{index: now.index, ev: instance.Event{
			InstanceID: id, Function: now.function, State: now.state, ExitCode: now.exitCode,
			OOMKilled: now.oomKilled, Reason: now.reason, Time: now.at,
		}})
	}
	for id, before := range prev {
		if _, ok := cur[id]; ok {
			continue
		}
		ev := instance.Event{InstanceID: id, Function: before.function, State: instance.StateExited, Gone: true, Reason: reasonRemoved}
		if before.state == instance.StateExited {
			ev.ExitCode, ev.OOMKilled = before.exitCode, before.oomKilled
		}
		changes = append(changes, change{index: ^uint64(0), ev: ev})
	}
	slices.SortFunc(changes, func(a, b change) int {
		return cmp.Or(cmp.Compare(a.index, b.index), cmp.Compare(a.ev.InstanceID, b.ev.InstanceID))
	})
	events := make([]instance.Event, len(changes))
	for i, c := range changes {
		events[i] = c.ev
	}
	return events
}
