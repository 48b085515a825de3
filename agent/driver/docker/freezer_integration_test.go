//go:build integration

package docker

import (
	"errors"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/internal/testimage"
)

// answers reports whether the instance answers GET /_/ready within timeout.
func answers(endpoint string, timeout time.Duration) bool {
	c := &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + endpoint + "/_/ready")
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// procState is the state letter of /proc/PID/stat and the process's CPU ticks (utime+stime).
func procState(t *testing.T, pid int) (string, int) {
	t.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	ut, _ := strconv.Atoi(f[11])
	st, _ := strconv.Atoi(f[12])
	return f[0], ut + st
}

// startPaused starts an instance on d, pauses it through d and returns Docker's inspect of it.
func startPaused(t *testing.T, d *Driver) (instance.Spec, instance.Instance, container.InspectResponse) {
	t.Helper()
	spec := instance.Spec{ID: uniqueID(t), Image: testimage.Ensure(t)}
	inst := startInstance(t, d, spec)
	if err := d.Pause(t.Context(), spec.ID); err != nil {
		t.Fatal(err)
	}
	info, err := d.api.ContainerInspect(t.Context(), inst.DriverRef)
	if err != nil {
		t.Fatal(err)
	}
	return spec, inst, info
}

// TestFreezerPause pauses through the cgroup freezer on the real engine: Docker is not asked
// (its inspect still says running), the instance gets no CPU and does not answer, the driver's
// Inspect and List say paused, and Resume makes it answer again.
func TestFreezerPause(t *testing.T) {
	d := newDriver(t, DefaultConfig())
	if d.frz == nil {
		t.Fatal("no cgroup freezer found on this host: the driver would pause through Docker only")
	}
	spec, inst, info := startPaused(t, d)
	ctx := t.Context()
	if info.State.Paused {
		t.Fatal("Docker paused the container: the freezer was not used")
	}
	dir, err := d.frz.dirOf(info.ID, info.State.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if frozen, err := d.frz.isFrozen(dir); err != nil || !frozen {
		t.Fatalf("cgroup %s: frozen %v, %v", dir, frozen, err)
	}
	// A request is queued in the kernel but never served: the server gets no CPU.
	_, ticks := procState(t, info.State.Pid)
	if answers(inst.Endpoint, 300*time.Millisecond) {
		t.Error("a frozen instance answered")
	}
	if _, after := procState(t, info.State.Pid); after != ticks {
		t.Errorf("a frozen instance used CPU: %d ticks, then %d", ticks, after)
	}
	if st, err := d.Inspect(ctx, spec.ID); err != nil || st.State != instance.StatePaused {
		t.Errorf("Inspect = %q, %v; want paused", st.State, err)
	}
	if st := listed(t, d, spec.ID); st.State != instance.StatePaused {
		t.Errorf("List state = %q, want paused", st.State)
	}

	// A driver started afresh (a restarted node) sees the freeze too, and resumes it.
	d2 := newDriver(t, DefaultConfig())
	if st, err := d2.Inspect(ctx, spec.ID); err != nil || st.State != instance.StatePaused {
		t.Errorf("a new driver's Inspect = %q, %v; want paused", st.State, err)
	}
	if st := listed(t, d2, spec.ID); st.State != instance.StatePaused {
		t.Errorf("a new driver's List state = %q, want paused", st.State)
	}
	if err := d2.Resume(ctx, spec.ID); err != nil {
		t.Fatal(err)
	}
	if !answers(inst.Endpoint, 5*time.Second) {
		t.Error("no answer after Resume")
	}
	if st, err := d.Inspect(ctx, spec.ID); err != nil || st.State != instance.StateRunning {
		t.Errorf("Inspect after Resume = %q, %v; want running", st.State, err)
	}

	// The first driver's cache says it froze the instance; it resumes a thawed one harmlessly.
	if err := d.Pause(ctx, spec.ID); err != nil {
		t.Fatal(err)
	}
	if err := d.Resume(ctx, spec.ID); err != nil {
		t.Fatal(err)
	}
	if !answers(inst.Endpoint, 5*time.Second) {
		t.Error("no answer after the second Resume")
	}
}

// TestStopFrozenInstance stops an instance frozen through the freezer: Stop thaws it first, so
// it acts on SIGTERM instead of waiting out the grace (cgroup v1 cannot even kill it frozen).
func TestStopFrozenInstance(t *testing.T) {
	d := newDriver(t, DefaultConfig())
	spec := instance.Spec{ID: uniqueID(t), Image: testimage.Ensure(t)}
	startInstance(t, d, spec)
	if err := d.Pause(t.Context(), spec.ID); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- d.Stop(t.Context(), spec.ID, 5*time.Minute) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("Stop of a frozen instance did not return: it waited out the grace")
	}
	if _, err := d.Inspect(t.Context(), spec.ID); !errors.Is(err, driver.ErrInstanceNotFound) {
		t.Errorf("Inspect after Stop = %v", err)
	}
}

// TestDockerPauseMode checks the fallback: with DockerPause the driver pauses through Docker,
// which then reports the container paused itself; a driver using the freezer resumes it
// through Docker as well, keeping Docker's record true.
func TestDockerPauseMode(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DockerPause = true
	d := newDriver(t, cfg)
	if d.frz != nil {
		t.Fatal("DockerPause: the driver still has a freezer")
	}
	spec, inst, info := startPaused(t, d)
	ctx := t.Context()
	if !info.State.Paused {
		t.Error("DockerPause: Docker does not report the container paused")
	}
	if answers(inst.Endpoint, 300*time.Millisecond) {
		t.Error("a paused instance answered")
	}
	fz := newDriver(t, DefaultConfig())
	if st, err := fz.Inspect(ctx, spec.ID); err != nil || st.State != instance.StatePaused {
		t.Errorf("Inspect = %q, %v; want paused", st.State, err)
	}
	if err := fz.Resume(ctx, spec.ID); err != nil {
		t.Fatal(err)
	}
	info, err := d.api.ContainerInspect(ctx, inst.DriverRef)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Paused {
		t.Error("Docker still reports paused after Resume: it was thawed behind its back")
	}
	if !answers(inst.Endpoint, 5*time.Second) {
		t.Error("no answer after Resume")
	}
}

// listed is instance id's entry in d's List.
func listed(t *testing.T, d *Driver, id string) instance.Status {
	t.Helper()
	list, err := d.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range list {
		if st.Instance.ID == id {
			return st
		}
	}
	t.Fatalf("List lacks %s", id)
	return instance.Status{}
}
