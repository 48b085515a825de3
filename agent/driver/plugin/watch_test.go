package plugin_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/driver/plugin"
	"github.com/hearthfn/hearth/agent/instance"
)

// watching is a driver whose Watch sends script, then returns end (or waits for ctx when end is
// nil). ended receives the error its Watch returned.
type watching struct {
	driver.Driver
	script []instance.Event
	end    error
	ended  chan error
}

func (w *watching) Watch(ctx context.Context, fn func(instance.Event)) error {
	err := w.end
	for _, ev := range w.script {
		fn(ev)
	}
	if err == nil {
		<-ctx.Done()
		err = ctx.Err()
	}
	w.ended <- err
	return err
}

// TestWatchCrossesTheBoundary checks that the driver's events reach the host in order, whole,
// and that the error that ended the driver's stream keeps its identity.
func TestWatchCrossesTheBoundary(t *testing.T) {
	at := time.Unix(1_700_000_000, 5).UTC()
	script := []instance.Event{
		{Resync: true},
		{InstanceID: "a1", Function: "hello", State: instance.StatePaused, Reason: "pause", Time: at},
		{InstanceID: "a1", Function: "hello", State: instance.StateExited, ExitCode: 137, OOMKilled: true, Reason: "die", Time: at},
		{InstanceID: "a1", Function: "hello", State: instance.StateExited, Gone: true, Reason: "destroy", Time: at},
	}
	w := &watching{Driver: newFake(t), script: script, ended: make(chan error, 1),
		end: fmt.Errorf("cannot reach Docker at unix:///nowhere.sock: %w", driver.ErrUnavailable)}
	d, _ := connect(t, w)
	var got []instance.Event
	err := d.(driver.Watcher).Watch(t.Context(), func(ev instance.Event) { got = append(got, ev) })
	if !errors.Is(err, driver.ErrUnavailable) || errors.Is(err, driver.ErrPluginExited) {
		t.Errorf("Watch = %v, want ErrUnavailable only", err)
	}
	if !slices.Equal(got, script) {
		t.Errorf("events:\n got %+v\nwant %+v", got, script)
	}
}

// TestWatchEndReachesPlugin checks that cancelling the host's ctx ends the driver's Watch.
func TestWatchEndReachesPlugin(t *testing.T) {
	w := &watching{Driver: newFake(t), script: []instance.Event{{Resync: true}}, ended: make(chan error, 1)}
	d, _ := connect(t, w)
	ctx, cancel := context.WithCancel(t.Context())
	err := d.(driver.Watcher).Watch(ctx, func(ev instance.Event) {
		if ev.Resync {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) || errors.Is(err, driver.ErrPluginExited) {
		t.Errorf("Watch = %v, want context.Canceled", err)
	}
	select {
	case err := <-w.ended:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("the plugin side's Watch ended with %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the plugin side's Watch did not end")
	}
}

// TestWatchNotSupported checks that a driver that cannot watch, in memory or behind a
// supervised plugin process, answers ErrNotSupported.
func TestWatchNotSupported(t *testing.T) {
	d, _ := connect(t, newFake(t))
	err := d.(driver.Watcher).Watch(t.Context(), func(instance.Event) { t.Error("an event from a driver that cannot watch") })
	if !errors.Is(err, driver.ErrNotSupported) {
		t.Errorf("Watch in memory = %v, want ErrNotSupported", err)
	}

	l, _ := selfLoader()
	s, err := plugin.Supervise(t.Context(), l, "fake", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Watch(t.Context(), func(instance.Event) {}); !errors.Is(err, driver.ErrNotSupported) {
		t.Errorf("Watch through a plugin process = %v, want ErrNotSupported", err)
	}
}

// TestWatchServerGoneIsPluginExited checks that a watch whose plugin goes away ends with
// ErrPluginExited, which tells the caller to dispense again (Supervised does).
func TestWatchServerGoneIsPluginExited(t *testing.T) {
	w := &watching{Driver: newFake(t), script: []instance.Event{{Resync: true}}, ended: make(chan error, 1)}
	d, s := connect(t, w)
	err := d.(driver.Watcher).Watch(t.Context(), func(ev instance.Event) {
		if ev.Resync {
			go s.Stop()
		}
	})
	if !errors.Is(err, driver.ErrPluginExited) {
		t.Errorf("Watch after the server stopped = %v, want ErrPluginExited", err)
	}
}
