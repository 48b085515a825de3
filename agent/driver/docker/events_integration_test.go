//go:build integration

package docker

import (
	"testing"
	"time"

	"github.com/docker/docker/client"

	"github.com/hearthfn/hearth/agent/driver/drivertest"
	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/internal/testimage"
)

// TestWatchSeesChangesBehindItsBack changes an instance through Docker's API, not the driver,
// and checks that Watch reports each change: a pause, an unpause, a kill within a second of the
// kill returning (the "seen within a second"), and the removal.
func TestWatchSeesChangesBehindItsBack(t *testing.T) {
	d := newDriver(t, DefaultConfig())
	cli, err := client.NewClientWithOpts(client.WithHost(DefaultConfig().Host), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cli.Close() }()

	evs, stop := drivertest.Watch(t, d, 64)
	defer stop()

	spec := instance.Spec{ID: uniqueID(t), Function: "echo", Version: 1, Image: testimage.Ensure(t)}
	inst := startInstance(t, d, spec)
	next := func(within time.Duration, want func(instance.Event) bool) instance.Event {
		t.Helper()
		return drivertest.NextEvent(t, evs, spec.ID, within, want)
	}
	started := next(10*time.Second, func(ev instance.Event) bool { return ev.State == instance.StateRunning })
	if started.Function != "echo" || started.Reason != "start" || started.Time.IsZero() {
		t.Errorf("start event %+v", started)
	}

	if err := cli.ContainerPause(t.Context(), inst.DriverRef); err != nil {
		t.Fatal(err)
	}
	next(10*time.Second, func(ev instance.Event) bool { return ev.State == instance.StatePaused })
	if err := cli.ContainerUnpause(t.Context(), inst.DriverRef); err != nil {
		t.Fatal(err)
	}
	next(10*time.Second, func(ev instance.Event) bool { return ev.State == instance.StateRunning && ev.Reason == "unpause" })

	if err := cli.ContainerKill(t.Context(), inst.DriverRef, "KILL"); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	exited := next(time.Second, func(ev instance.Event) bool { return ev.State == instance.StateExited })
	t.Logf("the exit was seen %v after the kill returned", time.Since(killed))
	if exited.ExitCode != 137 || exited.OOMKilled || exited.Gone {
		t.Errorf("exit event %+v, want exit code 137, no OOM, not gone", exited)
	}

	if err := d.Stop(t.Context(), spec.ID, time.Second); err != nil {
		t.Fatal(err)
	}
	next(10*time.Second, func(ev instance.Event) bool { return ev.Gone })
}
