//go:build integration

package docker

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/hearthfn/hearth/agent/driver/drivertest"
	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/internal/testimage"
)

// prepareSpec prepares spec and removes whatever is left of it when the test ends.
func prepareSpec(t *testing.T, d *Driver, spec instance.Spec) {
	t.Helper()
	if err := d.Prepare(t.Context(), spec); err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		d.removePrepared(ctx, spec.ID) // the container (started or not) and its sandbox
	})
}

func exists(t *testing.T, d *Driver, name string) (container.InspectResponse, bool) {
	t.Helper()
	info, err := d.api.ContainerInspect(t.Context(), name)
	if err != nil && !isNotFound(err) {
		t.Fatal(err)
	}
	return info, err == nil
}

func prepTestSpec(t *testing.T) instance.Spec {
	return instance.Spec{ID: uniqueID(t), Function: "echo", Version: 1, Image: testimage.Ensure(t), Port: 8080,
		Env: map[string]string{"GREETING": "hi"}, Resources: instance.Resources{MemoryMB: 96},
		Labels: map[string]string{drivertest.LabelTest: t.Name()}}
}

// TestPrepareThenStart: a prepared instance is created, not running, listed as starting; Start
// of the same spec starts that very container, which answers as itself on its sandbox's IP.
func TestPrepareThenStart(t *testing.T) {
	d := newDriver(t, DefaultConfig())
	spec := prepTestSpec(t)
	prepareSpec(t, d, spec)
	before, ok := exists(t, d, containerName(spec.ID))
	if !ok || before.State.Status != container.StateCreated {
		t.Fatalf("prepared container: found %v, state %+v", ok, before.State)
	}
	if sb, ok := exists(t, d, sandboxName(spec.ID)); !ok || !sb.State.Running {
		t.Fatalf("sandbox: found %v", ok)
	}
	list, err := d.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var listed []instance.Status
	for _, st := range list {
		if st.Labels[drivertest.LabelTest] == t.Name() {
			listed = append(listed, st)
		}
	}
	if len(listed) != 1 || listed[0].Instance.ID != spec.ID || listed[0].State != instance.StateStarting {
		t.Errorf("List shows %+v, want the prepared instance alone, starting (not its sandbox)", listed)
	}

	t0 := time.Now()
	inst, err := d.Start(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("start of a prepared instance took %v", time.Since(t0))
	if inst.DriverRef != before.ID {
		t.Errorf("Start made container %s, not the prepared %s", inst.DriverRef, before.ID)
	}
	waitReady(t, inst.Endpoint)
	resp, err := http.Get("http://" + inst.Endpoint + "/")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.Header.Get("X-Instance") != spec.ID {
		t.Errorf("X-Instance %q, want the instance's hostname %s", resp.Header.Get("X-Instance"), spec.ID)
	}
	st, err := d.Inspect(t.Context(), spec.ID)
	if err != nil || st.Instance.Endpoint != inst.Endpoint || st.State != instance.StateRunning {
		t.Errorf("Inspect = %+v, %v", st, err)
	}

	if err := d.Stop(t.Context(), spec.ID, time.Second); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{containerName(spec.ID), sandboxName(spec.ID)} {
		if _, ok := exists(t, d, name); ok {
			t.Errorf("%s left after Stop", name)
		}
	}
}

// TestPrepareMismatch: a Start whose options differ from the prepared ones removes the prepared
// container and starts one made for the start's options.
func TestPrepareMismatch(t *testing.T) {
	d := newDriver(t, DefaultConfig())
	spec := prepTestSpec(t)
	prepareSpec(t, d, spec)
	before, _ := exists(t, d, containerName(spec.ID))

	spec.Env = map[string]string{"GREETING": "changed"}
	inst, err := d.Start(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if inst.DriverRef == before.ID {
		t.Fatal("Start used the prepared container made for other options")
	}
	if _, ok := exists(t, d, sandboxName(spec.ID)); ok {
		t.Error("the mismatching prepared instance's sandbox was left")
	}
	info, _ := exists(t, d, containerName(spec.ID))
	found := false
	for _, e := range info.Config.Env {
		found = found || e == "GREETING=changed"
	}
	if !found {
		t.Errorf("env %v: not the start's", info.Config.Env)
	}
	waitReady(t, inst.Endpoint)
}

// TestPrepareDiscard: Stop of an instance that was prepared and never started removes it and its
// sandbox, and so does a second Prepare of the same id (it replaces the first).
func TestPrepareDiscard(t *testing.T) {
	d := newDriver(t, DefaultConfig())
	spec := prepTestSpec(t)
	prepareSpec(t, d, spec)
	first, _ := exists(t, d, containerName(spec.ID))
	prepareSpec(t, d, spec)
	if _, ok := exists(t, d, first.ID); ok {
		t.Error("a second Prepare left the first container")
	}
	if err := d.Stop(t.Context(), spec.ID, time.Second); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{containerName(spec.ID), sandboxName(spec.ID)} {
		if _, ok := exists(t, d, name); ok {
			t.Errorf("%s left after Stop of a prepared instance", name)
		}
	}
}

// TestPrepareStartFallsBack: a prepared instance whose sandbox is gone does not start, and Start
// makes the instance afresh instead of failing.
func TestPrepareStartFallsBack(t *testing.T) {
	d := newDriver(t, DefaultConfig())
	spec := prepTestSpec(t)
	prepareSpec(t, d, spec)
	d.removeSandbox(t.Context(), spec.ID)
	inst, err := d.Start(t.Context(), spec)
	if err != nil {
		t.Fatalf("Start after the sandbox went: %v", err)
	}
	waitReady(t, inst.Endpoint)
}

// TestPreparedByEarlierDriver: a driver that did not prepare the instance itself (a restarted
// plugin process) finds the prepared container in the way of its create, removes it with its
// sandbox, and starts the instance.
func TestPreparedByEarlierDriver(t *testing.T) {
	d := newDriver(t, DefaultConfig())
	spec := prepTestSpec(t)
	prepareSpec(t, d, spec)
	later := newDriver(t, DefaultConfig())
	inst, err := later.Start(t.Context(), spec)
	if err != nil {
		t.Fatalf("Start by a driver that did not prepare it: %v", err)
	}
	waitReady(t, inst.Endpoint)
	if _, ok := exists(t, d, sandboxName(spec.ID)); ok {
		t.Error("the earlier prepared instance's sandbox was left")
	}
}
