package node_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
)

// watchingDriver is a driver whose Watch sends script and returns end.
type watchingDriver struct {
	driver.Driver
	script []instance.Event
	end    error
}

func (w *watchingDriver) Watch(_ context.Context, fn func(instance.Event)) error {
	for _, ev := range w.script {
		fn(ev)
	}
	return w.end
}

func TestWatchInstancesForwardsTheDriversEvents(t *testing.T) {
	script := []instance.Event{{Resync: true}, {InstanceID: "a1", Function: "hello", State: instance.StateExited, ExitCode: 1}}
	n := newNode(t, "n1", &watchingDriver{Driver: newFake(t), script: script, end: driver.ErrUnavailable})
	var got []instance.Event
	err := n.WatchInstances(t.Context(), func(ev instance.Event) { got = append(got, ev) })
	if !errors.Is(err, driver.ErrUnavailable) {
		t.Errorf("WatchInstances = %v, want the driver's ErrUnavailable", err)
	}
	if !slices.Equal(got, script) {
		t.Errorf("events %+v, want %+v", got, script)
	}
}

func TestWatchInstancesNotSupported(t *testing.T) {
	n := newNode(t, "n1", newFake(t))
	err := n.WatchInstances(t.Context(), func(instance.Event) { t.Error("an event from a driver that cannot watch") })
	if !errors.Is(err, driver.ErrNotSupported) {
		t.Errorf("WatchInstances = %v, want ErrNotSupported", err)
	}
}
