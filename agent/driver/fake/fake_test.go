package fake_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/driver/drivertest"
	"github.com/hearthfn/hearth/agent/driver/fake"
	"github.com/hearthfn/hearth/agent/instance"
)

const testImage = "hearth-test/fake:1"

func newFake(t *testing.T, opts ...fake.Option) *fake.Driver {
	d := fake.New(append([]fake.Option{fake.WithImages(testImage)}, opts...)...)
	t.Cleanup(func() { _ = d.Close() })
	return d
}

func TestConformance(t *testing.T) {
	drivertest.Run(t, func(t *testing.T) driver.Driver { return newFake(t) }, drivertest.Options{Image: testImage})
}

func TestConformanceWithoutCapabilities(t *testing.T) {
	drivertest.Run(t, func(t *testing.T) driver.Driver {
		return newFake(t, fake.WithCapabilities(driver.Capabilities{}))
	}, drivertest.Options{Image: testImage})
}

func start(t *testing.T, d *fake.Driver, id string) instance.Instance {
	t.Helper()
	inst, err := d.Start(t.Context(), instance.Spec{ID: id, Function: "f", Image: testImage})
	if err != nil {
		t.Fatalf("Start(%s): %v", id, err)
	}
	return inst
}

func get(t *testing.T, inst instance.Instance, path string, timeout time.Duration) (*http.Response, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+inst.Endpoint+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	return resp, string(b), err
}

func TestDefaultHandler(t *testing.T) {
	d := newFake(t)
	inst := start(t, d, "a")
	resp, _, err := get(t, inst, "/_/ready", time.Minute)
	if err != nil || resp.StatusCode != http.StatusOK || resp.Header.Get("X-Instance") != "a" {
		t.Fatalf("GET /_/ready = %v, %v", resp, err)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://"+inst.Endpoint+"/x?status=418", strings.NewReader("hello"))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusTeapot || string(body) != "hello" {
		t.Errorf("POST /x?status=418 = %d %q, want 418 \"hello\"", resp.StatusCode, body)
	}
}

func TestPauseHoldsRequestsUntilResume(t *testing.T) {
	d := newFake(t)
	inst := start(t, d, "a")
	if err := d.Pause(t.Context(), "a"); err != nil {
		t.Fatal(err)
	}
	if err := d.Pause(t.Context(), "a"); err == nil {
		t.Error("second Pause succeeded, want an error")
	}
	done := make(chan error, 1)
	go func() {
		_, _, err := get(t, inst, "/held", time.Minute)
		done <- err
	}()
	// Held, not a wait to see whether it returns: once the request waits at the frozen
	// instance, nothing but Resume (or its end) lets it through.
	for d.Held("a") != 1 {
		select {
		case err := <-done:
			t.Fatalf("request to a paused instance returned (%v) before Resume", err)
		case <-time.After(time.Millisecond):
		}
	}
	if err := d.Resume(t.Context(), "a"); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Errorf("held request after Resume: %v", err)
	}
	if c := d.Counts(); c.Starts != 1 || c.Pauses != 1 || c.Resumes != 1 {
		t.Errorf("Counts = %+v", c)
	}
}

func TestExit(t *testing.T) {
	d := newFake(t)
	inst := start(t, d, "a")
	rc, err := d.Logs(t.Context(), "a", driver.LogOptions{Follow: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rc.Close() }()
	if err := d.Exit("a", 137, "OOM"); err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(rc) // the follow stream ends with the instance
	if err != nil || !strings.Contains(string(out), "exited with code 137") {
		t.Errorf("followed logs = %q, %v", out, err)
	}
	st, err := d.Inspect(t.Context(), "a")
	if err != nil || st.State != instance.StateExited || st.ExitCode != 137 || st.Reason != "OOM" {
		t.Errorf("Inspect after Exit = %+v, %v", st, err)
	}
	if _, _, err := get(t, inst, "/_/ready", 5*time.Second); err == nil {
		t.Error("an exited instance still answers")
	}
	if err := d.Stop(t.Context(), "a", 0); err != nil {
		t.Errorf("Stop of an exited instance: %v", err)
	}
	if err := d.Exit("a", 1, ""); !errors.Is(err, driver.ErrInstanceNotFound) {
		t.Errorf("Exit of a stopped instance = %v, want ErrInstanceNotFound", err)
	}
}

func TestHookAndPull(t *testing.T) {
	var pulled []string
	d := newFake(t, fake.WithPull(func(_ context.Context, ref string) error {
		pulled = append(pulled, ref)
		return nil
	}))
	if err := d.EnsureImage(t.Context(), "other:1"); err != nil || len(pulled) != 1 || d.Counts().Pulls != 1 {
		t.Fatalf("EnsureImage = %v, pulled %v", err, pulled)
	}
	if err := d.EnsureImage(t.Context(), "other:1"); err != nil || len(pulled) != 1 {
		t.Fatalf("second EnsureImage = %v, pulled %v: want no second pull", err, pulled)
	}
	d.SetHook(func(_ context.Context, op fake.Op, target string) error {
		if op == fake.OpStart && target == "b" {
			return driver.ErrUnavailable
		}
		return nil
	})
	start(t, d, "a")
	if _, err := d.Start(t.Context(), instance.Spec{ID: "b", Image: testImage}); !errors.Is(err, driver.ErrUnavailable) {
		t.Errorf("Start(b) = %v, want the hook's ErrUnavailable", err)
	}
	if _, err := d.Start(t.Context(), instance.Spec{ID: "a", Image: testImage}); err == nil {
		t.Error("Start of a duplicate id succeeded")
	}
	if spec, ok := d.Spec("a"); !ok || spec.Function != "f" {
		t.Errorf("Spec(a) = %+v, %v", spec, ok)
	}
}

func TestConcurrentUse(t *testing.T) {
	d := newFake(t)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			id := "c" + string(rune('a'+i))
			inst := start(t, d, id)
			if _, _, err := get(t, inst, "/x", time.Minute); err != nil {
				t.Error(err)
			}
			_ = d.Pause(t.Context(), id)
			_ = d.Resume(t.Context(), id)
			if _, err := d.List(t.Context()); err != nil {
				t.Error(err)
			}
			if err := d.Stop(t.Context(), id, time.Second); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if c := d.Counts(); c.Starts != 20 || c.Stops != 20 {
		t.Errorf("Counts = %+v", c)
	}
}

func TestSecurityKeptAndChecked(t *testing.T) {
	d := newFake(t)
	sec := instance.Security{User: "root", Network: instance.NetworkNone, CapAdd: []string{"KILL"}}
	if _, err := d.Start(t.Context(), instance.Spec{ID: "s1", Image: testImage, Security: sec}); err != nil {
		t.Fatal(err)
	}
	if got, _ := d.Spec("s1"); got.Security.User != "root" || got.Security.Network != instance.NetworkNone {
		t.Errorf("Spec's security = %+v", got.Security)
	}
	if _, err := d.Start(t.Context(), instance.Spec{ID: "s2", Image: testImage,
		Security: instance.Security{Network: "host"}}); err == nil {
		t.Error("Start on a network the drivers do not know succeeded")
	}
}
