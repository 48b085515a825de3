package drivertest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
)

// Watch runs w.Watch until stop is called, passing its events on through events (buffered by
// buffer), and fails t unless the first event is the Resync. stop ends the watch and fails t
// unless Watch then returned context.Canceled; defer it.
func Watch(t *testing.T, w driver.Watcher, buffer int) (events <-chan instance.Event, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	evs := make(chan instance.Event, buffer)
	done := make(chan error, 1)
	go func() {
		done <- w.Watch(ctx, func(ev instance.Event) {
			select {
			case evs <- ev:
			case <-ctx.Done():
			}
		})
	}()
	stop = func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Watch = %v, want context.Canceled once its ctx ended", err)
		}
	}
	if ev := <-evs; !ev.Resync {
		stop()
		t.Fatalf("first event %+v, want the Resync", ev)
	}
	return evs, stop
}

// NextEvent returns the next event on events for instance id that want accepts, failing t if
// none comes within the given time.
func NextEvent(t *testing.T, events <-chan instance.Event, id string, within time.Duration, want func(instance.Event) bool) instance.Event {
	t.Helper()
	timer := time.NewTimer(within)
	defer timer.Stop()
	for {
		select {
		case ev := <-events:
			if ev.InstanceID == id && want(ev) {
				return ev
			}
		case <-timer.C:
			t.Fatalf("no such event for %s within %v", id, within)
		}
	}
}
