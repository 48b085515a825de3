//go:build integration

package docker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/driver/drivertest"
	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/internal/testimage"
)

// newDriver returns a driver for the local engine and fails the test when the engine does not
// answer: integration tests never skip.
func newDriver(t *testing.T, cfg Config) *Driver {
	t.Helper()
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	if _, err := d.Fingerprint(t.Context()); err != nil {
		t.Fatalf("the Docker Engine must be running for integration tests: %v", err)
	}
	return d
}

func TestConformance(t *testing.T) {
	img := testimage.Ensure(t)
	drivertest.Run(t, func(t *testing.T) driver.Driver {
		return newDriver(t, DefaultConfig())
	}, drivertest.Options{Image: img})
}

func uniqueID(t *testing.T) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "it-" + hex.EncodeToString(b)
}

// startInstance starts the test image with spec's id and labels and stops it when the test ends.
func startInstance(t *testing.T, d *Driver, spec instance.Spec) instance.Instance {
	t.Helper()
	if spec.Labels == nil {
		spec.Labels = map[string]string{}
	}
	spec.Labels[drivertest.LabelTest] = t.Name()
	inst, err := d.Start(t.Context(), spec)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := d.Stop(ctx, spec.ID, time.Second); err != nil && !errors.Is(err, driver.ErrInstanceNotFound) {
			t.Errorf("cleanup: %v", err)
		}
	})
	waitReady(t, inst.Endpoint)
	return inst
}

func waitReady(t *testing.T, endpoint string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + endpoint + "/_/ready"); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s never became ready", endpoint)
}

// TestStartAppliesSpec checks what drivertest cannot see: the container Docker made.
func TestStartAppliesSpec(t *testing.T) {
	d := newDriver(t, DefaultConfig())
	spec := instance.Spec{
		ID: uniqueID(t), Function: "echo", Version: 2, Image: testimage.Ensure(t), Port: 9090,
		Env:       map[string]string{"GREETING": "hi"},
		Resources: instance.Resources{MemoryMB: 96, CPUMilli: 500},
	}
	inst := startInstance(t, d, spec)
	if !strings.HasSuffix(inst.Endpoint, ":9090") {
		t.Errorf("endpoint %q does not use the spec's port", inst.Endpoint)
	}
	info, err := d.api.ContainerInspect(t.Context(), inst.DriverRef)
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "/hearth-"+spec.ID {
		t.Errorf("container name %q", info.Name)
	}
	if lc := info.HostConfig.LogConfig; lc.Type != "local" || lc.Config["max-size"] != "10m" || lc.Config["max-file"] != "3" {
		t.Errorf("log config %+v, want the local driver bounded to 3 files of 10 MB", lc)
	}
	if info.HostConfig.Memory != 96<<20 || info.HostConfig.NanoCPUs != 500_000_000 {
		t.Errorf("limits: memory %d, nano CPUs %d", info.HostConfig.Memory, info.HostConfig.NanoCPUs)
	}
	for _, want := range []string{"PORT=9090", "GREETING=hi"} {
		if !slices.Contains(info.Config.Env, want) {
			t.Errorf("env %v lacks %s", info.Config.Env, want)
		}
	}
	resp, err := http.Post("http://"+inst.Endpoint+"/echo?status=201", "text/plain", strings.NewReader("ping"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || string(body) != "ping" || resp.Header.Get("X-Instance") != spec.ID {
		t.Errorf("POST /echo = %d %q, X-Instance %q", resp.StatusCode, body, resp.Header.Get("X-Instance"))
	}
}

// TestExitedInstance checks that an instance whose process ends is reported as exited, with its
// code, by Inspect and List, and that Stop still removes it.
func TestExitedInstance(t *testing.T) {
	d := newDriver(t, DefaultConfig())
	spec := instance.Spec{ID: uniqueID(t), Function: "echo", Image: testimage.Ensure(t)}
	inst := startInstance(t, d, spec)
	if resp, err := http.Get("http://" + inst.Endpoint + "/bye?exit=3"); err == nil {
		_ = resp.Body.Close()
	}
	deadline := time.Now().Add(time.Minute)
	var st instance.Status
	for time.Now().Before(deadline) {
		var err error
		if st, err = d.Inspect(t.Context(), spec.ID); err != nil {
			t.Fatal(err)
		}
		if st.State == instance.StateExited {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st.State != instance.StateExited || st.ExitCode != 3 {
		t.Fatalf("Inspect = %+v, want exited with code 3", st)
	}
	list, err := d.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(list, func(s instance.Status) bool { return s.Instance.ID == spec.ID })
	if i < 0 || list[i].State != instance.StateExited || list[i].ExitCode != 3 {
		t.Errorf("List entry = %+v, want exited with code 3", list)
	}
	if err := d.Stop(t.Context(), spec.ID, time.Second); err != nil {
		t.Errorf("Stop of an exited instance: %v", err)
	}
}

// TestStopPausedInstance checks that stopping a paused instance does not wait out the grace.
func TestStopPausedInstance(t *testing.T) {
	d := newDriver(t, DefaultConfig())
	spec := instance.Spec{ID: uniqueID(t), Image: testimage.Ensure(t)}
	startInstance(t, d, spec)
	if err := d.Pause(t.Context(), spec.ID); err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	if err := d.Stop(t.Context(), spec.ID, time.Minute); err != nil {
		t.Fatal(err)
	}
	// The echo server exits on SIGTERM: only a frozen one would keep Stop for the minute.
	if took := time.Since(begin); took > 30*time.Second {
		t.Errorf("Stop of a paused instance took %v", took)
	}
	if _, err := d.Inspect(t.Context(), spec.ID); !errors.Is(err, driver.ErrInstanceNotFound) {
		t.Errorf("Inspect after Stop = %v", err)
	}
}

// TestNetworkMadeAgain checks that the instance network is made when it is missing, with
// traffic between instances off, and made again when it is removed behind the driver's back.
func TestNetworkMadeAgain(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Network = testNetwork(t)
	d := newDriver(t, cfg)
	spec := instance.Spec{ID: uniqueID(t), Image: testimage.Ensure(t)}
	startInstance(t, d, spec)
	nets, err := d.findNetworks(t.Context(), cfg.Network)
	if err != nil || len(nets) != 1 || nets[0].Options[optICC] != "false" || nets[0].Labels[instance.LabelOwner] != instance.OwnerValue {
		t.Fatalf("networks named %s: %+v, %v; want one of hearth's with icc off", cfg.Network, nets, err)
	}
	if err := d.Stop(t.Context(), spec.ID, time.Second); err != nil {
		t.Fatal(err)
	}
	// The rules of the removed network's bridge are this test's to remove.
	t.Cleanup(func() { _ = d.fw.open(context.Background(), bridgeOf(nets[0])) })
	if err := d.api.NetworkRemove(t.Context(), nets[0].ID); err != nil {
		t.Fatal(err)
	}
	spec.ID = uniqueID(t)
	startInstance(t, d, spec)
}

// TestForeignNetwork checks that a network hearth did not make, Docker's default bridge here,
// is used as it is.
func TestForeignNetwork(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Network = "bridge"
	d := newDriver(t, cfg)
	inst := startInstance(t, d, instance.Spec{ID: uniqueID(t), Image: testimage.Ensure(t)})
	info, err := d.api.ContainerInspect(t.Context(), inst.DriverRef)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := info.NetworkSettings.Networks["bridge"]; !ok || info.HostConfig.NetworkMode != "bridge" {
		t.Errorf("networks %v, mode %q: want Docker's bridge", info.NetworkSettings.Networks, info.HostConfig.NetworkMode)
	}
	if st, err := d.Inspect(t.Context(), inst.ID); err != nil || st.Instance.Endpoint != inst.Endpoint {
		t.Errorf("Inspect = %+v, %v; want the endpoint %s", st, err, inst.Endpoint)
	}
}

// TestListIgnoresNonInstances checks that a container carrying the owner label but not made by
// Start (the builder's build containers inherit image labels) is not listed as an instance.
func TestListIgnoresNonInstances(t *testing.T) {
	d := newDriver(t, DefaultConfig())
	name := "hearth-build-" + uniqueID(t)
	created, err := d.api.ContainerCreate(t.Context(), &container.Config{
		Image:  testimage.Ensure(t),
		Labels: map[string]string{instance.LabelOwner: instance.OwnerValue, drivertest.LabelTest: t.Name()},
	}, nil, nil, nil, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = d.api.ContainerRemove(context.Background(), created.ID, container.RemoveOptions{Force: true})
	})
	list, err := d.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range list {
		if st.Instance.DriverRef == created.ID {
			t.Errorf("List includes a container Start did not make: %+v", st)
		}
	}
}
