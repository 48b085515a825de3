//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/builder/buildctx"
)

// call invokes a function over plain HTTP and returns status, body and the answering instance.
func call(t *testing.T, s *server, name, body string) (int, string, string) {
	t.Helper()
	resp, err := s.post("/invoke/"+name, "text/plain", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header.Get("X-Instance")
}

// errorOf decodes an API error body.
func errorOf(t *testing.T, body string) api.ErrorDetail {
	t.Helper()
	var e api.ErrorBody
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error.Code == "" {
		t.Fatalf("not an error body (%v): %s", err, body)
	}
	return e.Error
}

// TestErrors covers the errors a user meets, each with a clear message, against one server.
func TestErrors(t *testing.T) {
	s := startServer(t, serverOpts{})

	t.Run("InvalidFuncYAML", func(t *testing.T) {
		dir := s.newFunction(t, "badyaml")
		setFuncYAML(t, dir, "memory", "lots")
		line := s.fails(t, dir, "deploy")
		if !strings.Contains(line, "memory") {
			t.Fatalf("error does not name the field: %q", line)
		}
	})

	t.Run("UnknownRuntime", func(t *testing.T) {
		line := s.fails(t, t.TempDir(), "init", "--runtime", "cobol", "legacy")
		if !strings.Contains(line, "cobol") || !strings.Contains(line, "go") {
			t.Fatalf("init error should name the runtime and the known ones: %q", line)
		}
		dir := s.newFunction(t, "legacy")
		setFuncYAML(t, dir, "runtime", "cobol")
		line = s.fails(t, dir, "deploy")
		if !strings.Contains(line, "cobol") {
			t.Fatalf("deploy error should name the runtime: %q", line)
		}
	})

	t.Run("UnknownFunction", func(t *testing.T) {
		line := s.fails(t, t.TempDir(), "invoke", "ghost")
		if !strings.Contains(line, "not found") {
			t.Fatalf("invoke of an unknown function: %q", line)
		}
		status, body, _ := call(t, s, "ghost", "")
		if status != http.StatusNotFound || errorOf(t, body).Code != api.CodeNotFound {
			t.Fatalf("HTTP: %d %s", status, body)
		}
	})

	// One function serves the panic, size and build-failure cases: it panics on "boom" and
	// otherwise answers with its instance's host name, so a replacement is visible.
	dir := s.newFunction(t, "crashy")
	writeHandler(t, dir, []string{"io", "os"}, `	b, _ := io.ReadAll(r.Body)
	if string(b) == "boom" {
		panic("boom requested")
	}
	host, _ := os.Hostname()
	w.Header().Set("X-Instance", host)
	w.Write([]byte("ok"))`)
	s.must(t, dir, "deploy")

	t.Run("HandlerPanic", func(t *testing.T) {
		status, _, first := call(t, s, "crashy", "hi")
		if status != http.StatusOK || first == "" {
			t.Fatalf("warm-up call: %d from %q", status, first)
		}
		status, body, _ := call(t, s, "crashy", "boom")
		if status < 500 || !strings.Contains(errorOf(t, body).Message, "boom requested") {
			t.Fatalf("panic: got %d %s, want a 5xx carrying the panic", status, body)
		}
		status, _, next := call(t, s, "crashy", "hi")
		if status != http.StatusOK || next == first {
			t.Fatalf("after the panic: %d from %q; want a new instance (was %q)", status, next, first)
		}
	})

	t.Run("BodyOverLimit", func(t *testing.T) {
		big := bytes.Repeat([]byte("x"), 11<<20) // the server's default limit is 10 MiB
		resp, err := s.post("/invoke/crashy", "application/octet-stream", bytes.NewReader(big))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge || errorOf(t, string(b)).Code != api.CodeTooLarge {
			t.Fatalf("got %d %s, want 413", resp.StatusCode, b)
		}
	})

	t.Run("BuildFailureKeepsOldVersion", func(t *testing.T) {
		broken := filepath.Join(dir, "broken.go")
		src, _ := os.ReadFile(filepath.Join(dir, "handler.go"))
		pkg := packageRe.FindSubmatch(src)[1]
		if err := os.WriteFile(broken, []byte("package "+string(pkg)+"\n\nfunc broken() { undefinedThing() }\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(broken)
		r := s.hearth(t, dir, "deploy")
		if r.code == 0 || !strings.Contains(r.stderr, "undefinedThing") {
			t.Fatalf("deploy of code that does not compile: exit %d, stderr:\n%s", r.code, r.stderr)
		}
		if status, body, _ := call(t, s, "crashy", "hi"); status != http.StatusOK || body != "ok" {
			t.Fatalf("the old version stopped serving after a failed build: %d %s", status, body)
		}
		vs := s.must(t, dir, "inspect", "crashy", "-o", "json")
		var fn api.Function
		if err := json.Unmarshal([]byte(vs.stdout), &fn); err != nil || fn.Version.Number != 1 {
			t.Fatalf("a failed build must not record a version: %v, version %d", err, fn.Version.Number)
		}
	})

	t.Run("Timeout", func(t *testing.T) {
		dir := s.newFunction(t, "sleepy")
		setFuncYAML(t, dir, "timeout", "2s")
		writeHandler(t, dir, []string{"os", "time"}, `	host, _ := os.Hostname()
	w.Header().Set("X-Instance", host)
	if r.URL.Query().Get("sleep") != "" {
		time.Sleep(30 * time.Second) // ignores the deadline on purpose
	}
	w.Write([]byte("awake"))`)
		s.must(t, dir, "deploy")
		_, _, first := call(t, s, "sleepy", "")
		began := time.Now()
		resp, err := s.get("/invoke/sleepy?sleep=1")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusGatewayTimeout || errorOf(t, string(b)).Code != api.CodeTimeout {
			t.Fatalf("got %d %s, want 504 timeout", resp.StatusCode, b)
		}
		if took := time.Since(began); took > 20*time.Second {
			t.Fatalf("the call was not cut off at the timeout: it took %s", took)
		}
		status, _, next := call(t, s, "sleepy", "")
		if status != http.StatusOK || next == first {
			t.Fatalf("after the timeout: %d from %q; want a new instance (was %q)", status, next, first)
		}
	})
}

// TestDockerUnreachable: a server whose engine cannot be reached says so at start and answers
// 503 promptly instead of hanging.
func TestDockerUnreachable(t *testing.T) {
	s := startServer(t, serverOpts{extraArgs: []string{"--docker-host", "unix:///nonexistent/docker.sock"}})
	if !strings.Contains(s.logs(), "not reachable") {
		t.Fatalf("the server did not say at start that Docker is unreachable:\n%s", s.logs())
	}
	resp, err := s.get("/v1/info")
	if err != nil {
		t.Fatal(err)
	}
	var info api.Info
	err = json.NewDecoder(resp.Body).Decode(&info)
	resp.Body.Close()
	if err != nil || info.Ready || info.Problem == "" {
		t.Fatalf("/v1/info: %v %+v, want ready=false with the problem", err, info)
	}

	dir := s.newFunction(t, "nodocker")
	began := time.Now()
	r := s.hearth(t, dir, "deploy")
	if r.code == 0 || !strings.Contains(strings.ToLower(r.stderr), "docker") {
		t.Fatalf("deploy without Docker: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if took := time.Since(began); took > 30*time.Second {
		t.Fatalf("deploy without Docker took %s: it should fail promptly", took)
	}

	// The API itself answers 503 with the error body.
	var archive bytes.Buffer
	if err := buildctx.PackDir(&archive, dir); err != nil {
		t.Fatal(err)
	}
	resp, err = s.post("/v1/functions/nodocker/versions", "application/gzip", &archive)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || errorOf(t, string(b)).Code != api.CodeUnavailable {
		t.Fatalf("deploy API without Docker: %d %s, want 503 unavailable", resp.StatusCode, b)
	}
}
