//go:build integration

package plugin_test

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/driver/docker"
	"github.com/hearthfn/hearth/agent/driver/drivertest"
	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/internal/testimage"
)

// TestDockerWatchSubprocess watches the Docker driver served by a real plugin process, as
// `hearth server --dev` does: the Resync, then an instance's start and removal.
func TestDockerWatchSubprocess(t *testing.T) {
	img := testimage.Ensure(t)
	l, _ := selfLoader()
	d, _ := dispenseName(t, l, docker.Name)
	evs, stop := drivertest.Watch(t, d.(driver.Watcher), 16)
	defer stop()
	id := "plugin-watch-" + strings.ToLower(rand.Text()[:10])
	spec := instance.Spec{ID: id, Function: "echo", Image: img, Labels: map[string]string{instance.LabelOwner: instance.OwnerValue}}
	if _, err := d.Start(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = d.Stop(context.Background(), id, time.Second)
		}
	})
	wait := func(want func(instance.Event) bool) {
		t.Helper()
		drivertest.NextEvent(t, evs, id, 10*time.Second, want)
	}
	wait(func(ev instance.Event) bool { return ev.State == instance.StateRunning && ev.Function == "echo" })
	if err := d.Stop(t.Context(), id, time.Second); err != nil {
		t.Fatal(err)
	}
	stopped = true
	wait(func(ev instance.Event) bool { return ev.Gone })
}
