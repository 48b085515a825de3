//go:build integration

package testimage_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/driver/docker"
	"github.com/hearthfn/hearth/agent/driver/drivertest"
	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/internal/testimage"
)

func TestEnsureBuildsOnce(t *testing.T) {
	ref := testimage.Ensure(t)
	if ref != testimage.Ref() || !strings.HasPrefix(ref, testimage.Repository+":") {
		t.Fatalf("Ensure = %q, Ref = %q", ref, testimage.Ref())
	}
	if again := testimage.Ensure(t); again != ref {
		t.Fatalf("second Ensure = %q, want %q", again, ref)
	}
}

// TestImageBehaviour runs the image and checks every behaviour the package documents.
func TestImageBehaviour(t *testing.T) {
	d, err := docker.New(docker.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	id := "ti-" + hex.EncodeToString(b)
	inst, err := d.Start(t.Context(), instance.Spec{
		ID: id, Image: testimage.Ensure(t), Port: 8181,
		Labels: map[string]string{drivertest.LabelTest: t.Name()},
	})
	if err != nil {
		t.Fatalf("the Docker Engine must be running for integration tests: %v", err)
	}
	t.Cleanup(func() {
		if err := d.Stop(context.Background(), id, time.Second); err != nil && !errors.Is(err, driver.ErrInstanceNotFound) {
			t.Errorf("cleanup: %v", err)
		}
	})
	base := "http://" + inst.Endpoint

	deadline := time.Now().Add(time.Minute)
	for {
		code, _, _ := call(t, http.MethodGet, base+"/_/ready", "")
		if code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("never ready")
		}
		time.Sleep(20 * time.Millisecond)
	}

	code, body, hdr := call(t, http.MethodPost, base+"/x?status=202", "hello")
	if code != http.StatusAccepted || body != "hello" || hdr.Get("X-Instance") != id {
		t.Errorf("echo = %d %q X-Instance %q", code, body, hdr.Get("X-Instance"))
	}

	begin := time.Now()
	if code, _, _ := call(t, http.MethodGet, base+"/x?sleep=300ms", ""); code != http.StatusOK || time.Since(begin) < 300*time.Millisecond {
		t.Errorf("sleep=300ms answered %d after %v", code, time.Since(begin))
	}

	code, body, _ = call(t, http.MethodGet, base+"/x?panic=1", "")
	var eb struct {
		Error struct{ Code string } `json:"error"`
	}
	if code != http.StatusInternalServerError || json.Unmarshal([]byte(body), &eb) != nil || eb.Error.Code != "handler_error" {
		t.Errorf("panic=1 = %d %q, want 500 with a handler_error body", code, body)
	}
	if code, _, _ := call(t, http.MethodGet, base+"/_/ready", ""); code != http.StatusOK {
		t.Errorf("after a panic, ready = %d", code)
	}

	rc, err := d.Logs(t.Context(), id, driver.LogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	logs, _ := io.ReadAll(rc)
	_ = rc.Close()
	for _, want := range []string{"listening on :8181", "POST /x?status=202"} {
		if !strings.Contains(string(logs), want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
}

func call(t *testing.T, method, url, body string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", nil
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}
