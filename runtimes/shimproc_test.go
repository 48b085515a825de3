package runtimes

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthfn/hearth/internal/syncbuf"
	"github.com/hearthfn/hearth/runtimes/contract"
)

// The shim tests run each runtime's shim as a local process, the way its image runs it, so that
// the function contract is checked on every `go test` without Docker. What follows is what they
// share: starting a shim and waiting for it to be ready, calling it, running one to its end, and
// the checks every shim must pass the same way.

// shimProc is a shim serving a function as a local process.
type shimProc struct {
	url string
	cmd *exec.Cmd
	out *syncbuf.Buffer
	// done has the process's exit once it has ended; whoever takes it puts it back.
	done chan error
}

// startShim starts cmd, which serves on port, and returns once GET /_/ready answers 200; it fails
// the test if the process exits first or is not ready within wait. The process is killed when
// the test ends, and its output logged if the test failed.
func startShim(t *testing.T, cmd *exec.Cmd, out *syncbuf.Buffer, port int, wait time.Duration) *shimProc {
	t.Helper()
	p := &shimProc{url: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd, out: out, done: make(chan error, 1)}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		p.done <- <-p.done
		if t.Failed() {
			t.Logf("shim output:\n%s", out.String())
		}
	})
	for deadline := time.Now().Add(wait); ; {
		resp, err := http.Get(p.url + contract.ReadyPath)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("shim exited before it was ready (%v):\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("shim not ready in %s: %v\n%s", wait, err, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// exited waits up to d for the process to end and returns how it ended.
func (p *shimProc) exited(t *testing.T, d time.Duration) error {
	t.Helper()
	select {
	case err := <-p.done:
		p.done <- err
		return err
	case <-time.After(d):
		t.Fatalf("shim still running %s later:\n%s", d, p.out)
		return nil
	}
}

// call sends one request, headers given as name, value pairs, and returns the response with
// its whole body.
func (p *shimProc) call(t *testing.T, method, path string, body io.Reader, headers ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, p.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return resp, b
}

// callText is call with a text body in and out.
func (p *shimProc) callText(t *testing.T, method, path, body string, headers ...string) (*http.Response, string) {
	t.Helper()
	resp, b := p.call(t, method, path, strings.NewReader(body), headers...)
	return resp, string(b)
}

// answer is how a call made in the background ended.
type answer struct {
	status int
	body   string
	close  bool // the shim asked to close the connection (Connection: close)
	err    error
}

// getLater sends GET path in the background; the channel gets its answer.
func (p *shimProc) getLater(path string) <-chan answer {
	c := make(chan answer, 1)
	go func() {
		resp, err := http.Get(p.url + path)
		if err != nil {
			c <- answer{err: err}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		c <- answer{resp.StatusCode, string(b), resp.Close, err}
	}()
	return c
}

// waitLog waits until the process's output has want: the output reaches the test through a
// pipe, a little after the response.
func (p *shimProc) waitLog(t *testing.T, want string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(p.out.String(), want); {
		if time.Now().After(deadline) {
			t.Fatalf("the output has no %q:\n%s", want, p.out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// runToEnd runs cmd until it exits, for at most d, and returns how it ended.
func runToEnd(t *testing.T, cmd *exec.Cmd, d time.Duration) error {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("%s did not exit within %s", cmd, d)
		return nil
	}
}

// exitCode is the exit code in err, what cmd.Wait returned.
func exitCode(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	t.Fatal(err)
	return 0
}

// testBodiesAndConnections checks what every shim does with large and chunked bodies, kept-alive
// connections and concurrent calls, on a probe function with /echo and /barrier (which answers
// "together" only when 16 calls wait in the handler at once). keepAlive, when set, is what the
// Keep-Alive header of an answer must contain.
func testBodiesAndConnections(t *testing.T, p *shimProc, keepAlive string) {
	big := make([]byte, 7<<20)
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	t.Run("7 MB each way", func(t *testing.T) {
		resp, body := p.call(t, "POST", "/echo", bytes.NewReader(big), "Content-Type", "application/x-probe")
		if resp.StatusCode != 200 || !bytes.Equal(body, big) || resp.Header.Get("Content-Type") != "application/x-probe" {
			t.Fatalf("echo of 7 MB: %d, %d bytes back, equal %v", resp.StatusCode, len(body), bytes.Equal(body, big))
		}
	})
	t.Run("chunked request body", func(t *testing.T) {
		pr, pw := io.Pipe()
		go func() {
			for off := 0; off < len(big); off += 1 << 20 {
				_, _ = pw.Write(big[off : off+1<<20])
			}
			pw.Close()
		}()
		req, _ := http.NewRequest("POST", p.url+"/echo", pr) // unknown length: Go sends it chunked
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Equal(body, big) {
			t.Fatalf("chunked echo: %d, %d bytes back", resp.StatusCode, len(body))
		}
	})
	t.Run("connections are kept alive", func(t *testing.T) {
		client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}
		defer client.CloseIdleConnections()
		reused := 0
		for i := 0; i < 3; i++ {
			trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
				if info.Reused {
					reused++
				}
			}}
			req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "POST",
				p.url+"/echo", strings.NewReader("x"))
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if i == 0 && keepAlive != "" && !strings.Contains(resp.Header.Get("Keep-Alive"), keepAlive) {
				t.Errorf("Keep-Alive = %q, want %q (an idle timeout above the platform's 90 s)", resp.Header.Get("Keep-Alive"), keepAlive)
			}
		}
		if reused != 2 {
			t.Errorf("%d of 3 calls reused the connection, want 2", reused)
		}
	})
	t.Run("16 calls at once", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for i := 0; i < 16; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := http.Get(p.url + "/barrier")
				if err != nil {
					errs <- err
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if string(body) != "together" {
					errs <- fmt.Errorf("%d %s", resp.StatusCode, body)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
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
