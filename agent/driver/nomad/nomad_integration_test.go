//go:build integration

package nomad

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/driver/drivertest"
	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/internal/nomadtest"
	"github.com/hearthfn/hearth/internal/testimage"
)

// newDriver returns a driver for the dev agent that scripts/nomad.sh starts, and fails the test
// when it does not answer: integration tests never skip.
func newDriver(t *testing.T, cfg Config) *Driver {
	t.Helper()
	cfg.Address = nomadtest.Addr(t)
	cfg.Logger = testLogger(t)
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

func TestConformance(t *testing.T) {
	img := testimage.Ensure(t)
	drivertest.Run(t, func(t *testing.T) driver.Driver {
		return newDriver(t, Config{})
	}, drivertest.Options{Image: img})
}

func uniqueID(t *testing.T) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "it-" + hex.EncodeToString(b)
}

// testSpec is a spec of the test image with a fresh id, labelled with the test's name.
func testSpec(t *testing.T) instance.Spec {
	return instance.Spec{
		ID: uniqueID(t), Function: "nomadtest", Version: 1, Image: testimage.Ensure(t), Port: 8080,
		Resources: instance.Resources{MemoryMB: 64, CPUMilli: 250},
		Labels:    map[string]string{drivertest.LabelTest: t.Name(), instance.LabelFunction: "nomadtest"},
	}
}

// startInstance starts spec, stops it when the test ends, and waits until it is ready.
func startInstance(t *testing.T, d *Driver, spec instance.Spec) instance.Instance {
	t.Helper()
	begin := time.Now()
	inst, err := d.Start(t.Context(), spec)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	running := time.Since(begin)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := d.Stop(ctx, spec.ID, time.Second); err != nil && !errors.Is(err, driver.ErrInstanceNotFound) {
			t.Errorf("cleanup: %v", err)
		}
	})
	waitReady(t, inst.Endpoint)
	t.Logf("Start→running %v, →ready %v, at %s (allocation %s)", running.Round(time.Millisecond),
		time.Since(begin).Round(time.Millisecond), inst.Endpoint, inst.DriverRef)
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
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%s never became ready", endpoint)
}

// waitState polls List until the instance is listed in state want, and returns its status.
func waitState(t *testing.T, d *Driver, id string, want instance.State, within time.Duration) instance.Status {
	t.Helper()
	deadline := time.Now().Add(within)
	var last instance.Status
	for time.Now().Before(deadline) {
		list, err := d.List(t.Context())
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		for _, st := range list {
			if st.Instance.ID == id {
				last = st
			}
		}
		if last.State == want {
			return last
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("List never showed %s %s within %v; last %+v", id, want, within, last)
	return last
}

// TestHardening checks which confinement Nomad's docker driver gives an instance, seen from
// inside it, with the agent's default docker plugin configuration.
func TestHardening(t *testing.T) {
	d := newDriver(t, Config{})
	inst := startInstance(t, d, testSpec(t))
	p := testimage.GetProbe(t, inst.Endpoint)
	for _, c := range []struct {
		what      string
		got, want any
	}{
		{"uid", p.UID, 65534},
		{"gid", p.GID, 65534},
		{"CapEff", p.CapEff, "0000000000000000"},
		{"NoNewPrivs", p.NoNewPrivs, "1"},
		{"RootWrite", p.RootWrite, "EROFS"},
		{"TmpWrite", p.TmpWrite, "ok"},
		{"TmpBytes", p.TmpBytes, int64(defaultTmpSizeMB << 20)},
		{"PidsMax", p.PidsMax, "512"},
		{"NoFileSoft", p.NoFileSoft, uint64(defaultNoFile)},
		{"NoFileHard", p.NoFileHard, uint64(defaultNoFile)},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
	if p.Pid == 1 || !strings.Contains(p.Init, "init") {
		t.Errorf("PID 1 is %q (the server is pid %d): want an init", p.Init, p.Pid)
	}
}

// TestNoCapacity checks that a placement no node can take fails at once with ErrNoCapacity and
// Nomad's reason, and leaves no job behind.
func TestNoCapacity(t *testing.T) {
	d := newDriver(t, Config{})
	spec := testSpec(t)
	spec.Resources.MemoryMB = 64 << 20 // 64 TiB
	begin := time.Now()
	_, err := d.Start(t.Context(), spec)
	took := time.Since(begin)
	if !errors.Is(err, driver.ErrNoCapacity) || !strings.Contains(err.Error(), `dimension "memory" exhausted`) {
		t.Fatalf("Start of 64 TiB = %v, want ErrNoCapacity saying memory is exhausted", err)
	}
	t.Logf("failed in %v: %v", took.Round(time.Millisecond), err)
	if _, _, found, err := d.fetchInstance(t.Context(), spec.ID); err != nil || found {
		t.Errorf("the job is still there after the failed start (found %v, %v)", found, err)
	}
}

// TestStoppedBehindTheDriversBack checks that an allocation stopped or killed outside hearth
// shows as exited in List within seconds, through the watcher's blocking queries.
func TestStoppedBehindTheDriversBack(t *testing.T) {
	for _, how := range []string{"alloc stop", "docker kill"} {
		t.Run(strings.ReplaceAll(how, " ", "_"), func(t *testing.T) {
			d := newDriver(t, Config{})
			spec := testSpec(t)
			inst := startInstance(t, d, spec)
			waitState(t, d, spec.ID, instance.StateRunning, 10*time.Second)
			begin := time.Now()
			switch how {
			case "alloc stop":
				q, cancel := d.queryOpts(t.Context(), 0)
				a, _, err := d.api.Allocations().Info(inst.DriverRef, q)
				cancel()
				if err != nil {
					t.Fatal(err)
				}
				if _, err := d.api.Allocations().Stop(a, nil); err != nil {
					t.Fatalf("stop the allocation: %v", err)
				}
			case "docker kill":
				out, err := exec.Command("docker", "ps", "-q", "--filter", "label=com.hashicorp.nomad.alloc_id="+inst.DriverRef).Output()
				if err != nil || strings.TrimSpace(string(out)) == "" {
					t.Fatalf("find the container of allocation %s: %q, %v", inst.DriverRef, out, err)
				}
				if out, err := exec.Command("docker", "kill", strings.TrimSpace(string(out))).CombinedOutput(); err != nil {
					t.Fatalf("docker kill: %v: %s", err, out)
				}
			}
			st := waitState(t, d, spec.ID, instance.StateExited, 30*time.Second)
			t.Logf("%s: listed exited %v later: exit code %d, %q", how, time.Since(begin).Round(time.Millisecond), st.ExitCode, st.Reason)
			// From the watcher's view, not from a listing of its own.
			if list, ok := d.view.list(); !ok || !slices.ContainsFunc(list, func(s instance.Status) bool {
				return s.Instance.ID == spec.ID && s.State == instance.StateExited
			}) {
				t.Errorf("the watcher's view (current: %v) does not show %s exited: %+v", ok, spec.ID, list)
			}
			if how == "docker kill" && st.ExitCode != 137 {
				t.Errorf("exit code %d after docker kill, want 137", st.ExitCode)
			}
		})
	}
}

// TestUnreachable checks that a Nomad nobody answers for is ErrUnavailable naming its address.
func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "http://" + l.Addr().String()
	_ = l.Close() // nothing listens there now
	d, err := New(Config{Address: addr, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	ctx := t.Context()
	_, fpErr := d.Fingerprint(ctx)
	_, listErr := d.List(ctx)
	_, startErr := d.Start(ctx, testSpec(t))
	for name, err := range map[string]error{"Fingerprint": fpErr, "List": listErr, "Start": startErr} {
		if !errors.Is(err, driver.ErrUnavailable) || !strings.Contains(err.Error(), addr) {
			t.Errorf("%s = %v, want ErrUnavailable naming %s", name, err, addr)
		}
	}
}

// TestFollowEndsWithTheInstance checks that a follow ends, with the instance's last line, once
// its task has exited.
func TestFollowEndsWithTheInstance(t *testing.T) {
	d := newDriver(t, Config{})
	spec := testSpec(t)
	inst := startInstance(t, d, spec)
	rc, err := d.Logs(t.Context(), spec.ID, driver.LogOptions{Follow: true, Stream: driver.StreamStdout})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rc.Close() }()
	out := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(rc)
		out <- string(b)
	}()
	if resp, err := http.Get("http://" + inst.Endpoint + "/last-words?exit=3"); err == nil {
		_ = resp.Body.Close()
	}
	select {
	case got := <-out:
		if !strings.Contains(got, "/last-words") {
			t.Errorf("the follow ended without the last request's line: %q", got)
		}
	case <-time.After(time.Minute):
		t.Fatal("the follow did not end after the instance exited")
	}
	st := waitState(t, d, spec.ID, instance.StateExited, 30*time.Second)
	if st.ExitCode != 3 {
		t.Errorf("exit code %d, want 3 (%s)", st.ExitCode, st.Reason)
	}
}

// TestFingerprintOfTheDevAgent checks that the dev agent's one node is counted, and that its
// CPU in millicores is its cores (nothing reserved), whatever its MHz.
func TestFingerprintOfTheDevAgent(t *testing.T) {
	d := newDriver(t, Config{})
	fp, err := d.Fingerprint(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v, %d MHz per core", fp, d.mhzPerCore.Load())
	nodes, err := d.nodes(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	c := capacityOf(nodes, nil)
	if fp.Allocatable.MemoryMB != c.memoryMB || fp.Allocatable.CPUMilli != c.freeMHz*1000/(c.mhz/c.cores) || c.cores == 0 {
		t.Errorf("allocatable %+v from %+v", fp.Allocatable, c)
	}
}

// TestWatchBehindTheDriversBack checks that Watch reports an allocation stopped outside hearth
// (`nomad alloc stop`, through the API) as the instance's exit, and the driver's own Stop as
// its removal, from the watcher's blocking queries.
func TestWatchBehindTheDriversBack(t *testing.T) {
	testWatchBehindTheDriversBack(t, newDriver(t, Config{}))
}

func testWatchBehindTheDriversBack(t *testing.T, d *Driver) {
	spec := testSpec(t)
	inst := startInstance(t, d, spec)
	events := make(chan instance.Event, 100)
	errc := make(chan error, 1)
	go func() { errc <- d.Watch(t.Context(), func(ev instance.Event) { events <- ev }) }()
	// nextOf returns the next event about the instance, failing the test after within.
	nextOf := func(within time.Duration) (instance.Event, time.Time) {
		t.Helper()
		deadline := time.After(within)
		for {
			select {
			case ev := <-events:
				if ev.Resync || ev.InstanceID == spec.ID {
					return ev, time.Now()
				}
			case err := <-errc:
				t.Fatalf("Watch returned %v", err)
			case <-deadline:
				t.Fatalf("no event about %s within %v", spec.ID, within)
			}
		}
	}
	if ev, _ := nextOf(30 * time.Second); !ev.Resync {
		t.Fatalf("first event %+v, want a Resync", ev)
	}

	q, cancel := d.queryOpts(t.Context(), 0)
	a, _, err := d.api.Allocations().Info(inst.DriverRef, q)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.api.Allocations().Stop(a, nil); err != nil {
		t.Fatalf("stop the allocation: %v", err)
	}
	stopped := time.Now()
	ev, at := nextOf(30 * time.Second)
	if ev.State != instance.StateExited || ev.Gone || ev.Function != "nomadtest" || ev.Time.IsZero() {
		t.Errorf("after nomad alloc stop: %+v, want %s exited", ev, spec.ID)
	}
	t.Logf("alloc stop → exited event in %v: exit code %d, %q", at.Sub(stopped).Round(time.Millisecond), ev.ExitCode, ev.Reason)

	if err := d.Stop(t.Context(), spec.ID, time.Second); err != nil {
		t.Fatal(err)
	}
	for {
		ev, _ = nextOf(30 * time.Second)
		if ev.Gone {
			break
		}
		if ev.State != instance.StateExited {
			t.Errorf("after the exit: %+v, want nothing but exits until it is gone", ev)
		}
	}
}
