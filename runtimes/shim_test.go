package runtimes

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hearthfn/hearth/internal/syncbuf"
)

// These tests compile the rendered Go shim with the local toolchain and run it as a process,
// so the function contract is checked on every `go test` without Docker. The image build itself
// is covered by builder/docker's integration tests.

// probeHandler exercises each part of the contract.
const probeHandler = `package probe

import (
	"fmt"
	"io"
	"net/http"
	"time"
)

func Handle(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/panic":
		w.Header().Set("Content-Type", "text/plain")
		panic("boom")
	case "/panic-after-write":
		w.Write([]byte("partial"))
		panic("late")
	case "/deadline":
		dl, ok := r.Context().Deadline()
		fmt.Fprint(w, ok, " ", dl.UTC().Format(time.RFC3339Nano))
	case "/slow":
		fmt.Println("slow call started")
		time.Sleep(500 * time.Millisecond)
		fmt.Fprint(w, "done")
	case "/echo":
		w.Header().Set("X-Echo", r.Header.Get("X-In"))
		w.WriteHeader(http.StatusCreated)
		io.Copy(w, r.Body)
	default:
		fmt.Fprint(w, r.Method, " ", r.URL.Path, "?", r.URL.RawQuery)
	}
}
`

// buildAndStart builds the Go shim for the function in dir with the local toolchain and runs it.
func buildAndStart(t *testing.T, dir string) *shimProc {
	t.Helper()
	rt := lookup(t, "go")
	writeShim(t, dir, render(t, rt, Source{Function: "probe", FS: os.DirFS(dir)}))
	bin := filepath.Join(t.TempDir(), "function")
	build := exec.Command("go", "build", "-trimpath", "-o", bin, "./"+rt.ShimDir)
	build.Dir = dir
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOPROXY=off", "GOFLAGS=-mod=mod", "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build of the shim: %v\n%s", err, out)
	}

	port := freePort(t)
	cmd := exec.Command(bin)
	cmd.Env = []string{fmt.Sprintf("PORT=%d", port)}
	out := &syncbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	return startShim(t, cmd, out, port, 10*time.Second)
}

func TestShimScaffold(t *testing.T) {
	dir := t.TempDir()
	if err := lookup(t, "go").WriteScaffold(dir, "hello"); err != nil {
		t.Fatal(err)
	}
	p := buildAndStart(t, dir)
	for _, tt := range []struct{ body, want string }{
		{`{"name":"Ada"}`, "Hello, Ada!"},
		{"", "Hello, world!"},
	} {
		resp, err := http.Post(p.url+"/", "application/json", strings.NewReader(tt.body))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(got) != tt.want {
			t.Errorf("POST %q = %d %q, want 200 %q", tt.body, resp.StatusCode, got, tt.want)
		}
	}
}

func TestShimContract(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"go.mod": "module example.com/probe\n\ngo 1.26\n", "probe.go": probeHandler})
	p := buildAndStart(t, dir)

	t.Run("everything but GET /_/ready reaches Handle", func(t *testing.T) {
		for _, tt := range []struct{ method, path, want string }{
			{"POST", "/_/ready", "POST /_/ready?"},
			{"GET", "/other?x=1", "GET /other?x=1"},
			{"DELETE", "/", "DELETE /?"},
		} {
			req, _ := http.NewRequest(tt.method, p.url+tt.path, nil)
			_, body := do(t, req)
			if body != tt.want {
				t.Errorf("%s %s = %q, want %q", tt.method, tt.path, body, tt.want)
			}
		}
	})
	t.Run("status, headers and body pass through; call id echoed", func(t *testing.T) {
		req, _ := http.NewRequest("POST", p.url+"/echo", strings.NewReader("payload"))
		req.Header.Set("X-In", "v")
		req.Header.Set("Hearth-Call-Id", "call-echo-1")
		resp, body := do(t, req)
		if resp.StatusCode != http.StatusCreated || body != "payload" || resp.Header.Get("X-Echo") != "v" ||
			resp.Header.Get("Hearth-Call-Id") != "call-echo-1" {
			t.Fatalf("echo = %d %q %v", resp.StatusCode, body, resp.Header)
		}
	})
	t.Run("panic becomes a 500 with the contract's error body", func(t *testing.T) {
		req, _ := http.NewRequest("GET", p.url+"/panic", nil)
		req.Header.Set("Hearth-Call-Id", "call-panic-1")
		resp, body := do(t, req)
		var eb struct {
			Error struct{ Code, Message string }
		}
		if err := json.Unmarshal([]byte(body), &eb); err != nil {
			t.Fatalf("body %q: %v", body, err)
		}
		if resp.StatusCode != 500 || resp.Header.Get("Hearth-Instance-Failed") != "true" ||
			resp.Header.Get("Content-Type") != "application/json" ||
			eb.Error.Code != "handler_error" || eb.Error.Message != "boom" {
			t.Fatalf("panic = %d %v %q", resp.StatusCode, resp.Header, body)
		}
	})
	t.Run("panic after the status line cuts the connection", func(t *testing.T) {
		resp, err := http.Get(p.url + "/panic-after-write")
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		if err == nil {
			t.Fatal("a response broken by a panic arrived whole")
		}
	})
	t.Run("deadline header reaches the context", func(t *testing.T) {
		dl := time.Now().Add(time.Minute).UTC().Truncate(time.Microsecond)
		req, _ := http.NewRequest("GET", p.url+"/deadline", nil)
		req.Header.Set("Hearth-Deadline", dl.Format(time.RFC3339Nano))
		if _, body := do(t, req); body != "true "+dl.Format(time.RFC3339Nano) {
			t.Fatalf("deadline = %q, want %v", body, dl)
		}
		req, _ = http.NewRequest("GET", p.url+"/deadline", nil)
		if _, body := do(t, req); !strings.HasPrefix(body, "false") {
			t.Fatalf("deadline without header = %q", body)
		}
	})
	t.Run("one log line per call with the call id", func(t *testing.T) {
		req, _ := http.NewRequest("GET", p.url+"/x", nil)
		req.Header.Set("Hearth-Call-Id", "call-log-42")
		do(t, req)
		waitFor(t, func() bool { return strings.Contains(p.out.String(), "call_id=call-log-42") })
		if n := strings.Count(p.out.String(), "call_id=call-log-42"); n != 1 {
			t.Fatalf("%d log lines for one call:\n%s", n, p.out)
		}
	})
	t.Run("SIGTERM lets the call in flight finish", func(t *testing.T) {
		done := p.getLater("/slow")
		p.waitLog(t, "slow call started")
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if r := <-done; r.err != nil || r.body != "done" {
			t.Fatalf("call in flight during shutdown = %q, %v", r.body, r.err)
		}
		if err := p.exited(t, 10*time.Second); err != nil {
			t.Fatalf("shim exit after SIGTERM: %v", err)
		}
	})
}

func do(t *testing.T, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}
