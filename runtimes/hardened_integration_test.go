//go:build integration

package runtimes_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/driver/docker"
	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/builder"
	dockerbuilder "github.com/hearthfn/hearth/builder/docker"
	"github.com/hearthfn/hearth/runtimes/contract"
	"github.com/hearthfn/hearth/runtimes/contract/contracttest"
	"github.com/hearthfn/hearth/runtimes/funcfile"
)

// TestRuntimesRunHardened builds every runtime's contract function (testdata/contract) and runs
// it as hearth runs instances: through the Docker driver with its defaults, as a non-root user
// with a read-only root, only /tmp writable, no capabilities. It checks what an instance does by
// itself: it starts, answers ready, echoes, reads its env and reports a crash. (The whole
// contract, through hearth's router, is each runtime's e2e test.)
//
// The images are labelled for the owner "hearth-test-hardened" and kept, like the test image
// of internal/testimage: rebuilding them would cost minutes per run.
func TestRuntimesRunHardened(t *testing.T) {
	b, err := dockerbuilder.New(dockerbuilder.Config{Owner: "hearth-test-hardened", CABundle: os.Getenv("HEARTH_BUILD_CA_BUNDLE")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	d, err := docker.New(docker.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	if _, err := d.Fingerprint(t.Context()); err != nil {
		t.Fatalf("the Docker Engine must be running for integration tests: %v", err)
	}
	for _, rt := range []string{"go", "python", "node", "java", "docker"} {
		t.Run(rt, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(rt, "testdata", "contract")
			spec, err := funcfile.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
			defer cancel()
			res, err := b.Build(ctx, builder.Request{Function: spec.Name, Runtime: spec.Runtime, Handler: spec.Handler, Source: os.DirFS(dir)})
			if err != nil {
				t.Fatalf("build: %v", err)
			}
			base := start(t, d, instance.Spec{ID: "rt-" + rt + "-" + randomHex(), Function: spec.Name, Image: res.Image,
				Env: spec.Env, Resources: instance.Resources{MemoryMB: spec.WithDefaults().MemoryMB}})

			body := []byte("hardened \x00\xff")
			if status, got := call(t, http.MethodPost, base+"/echo", nil, body); status != http.StatusOK || !bytes.Equal(got, body) {
				t.Errorf("POST /echo = %d %q", status, got)
			}
			h := http.Header{contract.HeaderCallID: {"c1"}, contract.HeaderDeadline: {time.Now().Add(time.Minute).Format(time.RFC3339Nano)}}
			status, got := call(t, http.MethodGet, base+"/info", h, nil)
			var info struct{ Env string }
			if status != http.StatusOK || json.Unmarshal(got, &info) != nil || info.Env != contracttest.EnvValue {
				t.Errorf("GET /info = %d %q, want 200 with env %q", status, got, contracttest.EnvValue)
			}
			status, got = call(t, http.MethodPost, base+"/fail", h, []byte("x"))
			var eb contract.ErrorBody
			if status != http.StatusInternalServerError || json.Unmarshal(got, &eb) != nil || eb.Error.Code != contract.CodeHandlerError {
				t.Errorf("POST /fail = %d %q, want 500 %s", status, got, contract.CodeHandlerError)
			}
		})
	}
}

// start starts the instance, stops it when the test ends and returns its base URL once ready.
func start(t *testing.T, d *docker.Driver, spec instance.Spec) string {
	t.Helper()
	inst, err := d.Start(t.Context(), spec)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := d.Stop(ctx, spec.ID, time.Second); err != nil && !errors.Is(err, driver.ErrInstanceNotFound) {
			t.Errorf("cleanup: %v", err)
		}
	})
	base := "http://" + inst.Endpoint
	deadline := time.Now().Add(time.Minute)
	for {
		if status, _ := call(t, http.MethodGet, base+contract.ReadyPath, nil, nil); status == http.StatusOK {
			return base
		}
		if time.Now().After(deadline) {
			st, _ := d.Inspect(t.Context(), spec.ID)
			logs := ""
			if rc, err := d.Logs(t.Context(), spec.ID, driver.LogOptions{}); err == nil {
				b, _ := io.ReadAll(rc)
				_ = rc.Close()
				logs = string(b)
			}
			t.Fatalf("never ready; state %s, exit code %d; output:\n%s", st.State, st.ExitCode, logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// call makes one request; a transport error is status 0.
func call(t *testing.T, method, url string, h http.Header, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	c := &http.Client{Timeout: 30 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func randomHex() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return strings.ToLower(hex.EncodeToString(b))
}
