package runtimes

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
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

// shimProcess is a running, natively built function.
type shimProcess struct {
	url string
	cmd *exec.Cmd
	out *syncBuffer
}

func buildAndStart(t *testing.T, dir string) *shimProcess {
	t.Helper()
	rt := goRuntime(t)
	d, err := rt.Prepare("probe", os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	files, err := rt.Render(d)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files[1:] { // the Dockerfile is for Docker only
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Data, f.Mode); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(t.TempDir(), "function")
	build := exec.Command("go", "build", "-trimpath", "-o", bin, "./"+rt.ShimDir)
	build.Dir = dir
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOPROXY=off", "GOFLAGS=-mod=mod", "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build of the shim: %v\n%s", err, out)
	}

	port := freePort(t)
	p := &shimProcess{url: fmt.Sprintf("http://127.0.0.1:%d", port), out: &syncBuffer{}}
	p.cmd = exec.Command(bin)
	p.cmd.Env = []string{fmt.Sprintf("PORT=%d", port)}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		_, _ = p.cmd.Process.Wait()
		t.Logf("shim output:\n%s", p.out.String())
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(p.url + "/_/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("shim not ready: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestShimScaffold(t *testing.T) {
	dir := t.TempDir()
	if err := goRuntime(t).WriteScaffold(dir, "hello"); err != nil {
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
		type result struct {
			body string
			err  error
		}
		done := make(chan result, 1)
		go func() {
			resp, err := http.Get(p.url + "/slow")
			if err != nil {
				done <- result{err: err}
				return
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			done <- result{string(b), err}
		}()
		time.Sleep(150 * time.Millisecond)
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if r := <-done; r.err != nil || r.body != "done" {
			t.Fatalf("call in flight during shutdown = %q, %v", r.body, r.err)
		}
		if err := p.cmd.Wait(); err != nil {
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

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer safe for the process's writes and the test's reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
