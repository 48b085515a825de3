// Package testregistry starts a private image registry for one test: Debian's docker-registry
// (the CNCF distribution registry 2.8) on a free loopback port, its storage in the test's temp
// dir, with basic auth when asked, stopped when the test ends. The Docker Engine trusts
// loopback registries without TLS, so it pushes and pulls 127.0.0.1:<port>/NAME:TAG as is.
//
// Tests that need a registry of their own (one that loses its images, refuses strangers or
// goes away) use this; scripts/registry.sh's shared registry at 127.0.0.1:5000 serves the
// rest. A missing docker-registry fails the test with what to run: it never skips.
//
// Where to read next: builder/docker's push tests, agent/driver/docker's pull tests.
package testregistry

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Username and Password are what a registry started with Options.Auth accepts.
const (
	Username = "hearth"
	Password = "hearth-test-secret"
)

// passwordHash is Password's bcrypt hash, the only form the registry's htpasswd file takes.
const passwordHash = "$2a$10$KR8wUYCFr3NXHXfYLjb4EOVwfJxSppv6IZCSz8Ss6EbnhcCeRtyRy"

// Options configure a registry.
type Options struct {
	// Auth makes the registry refuse requests without Username and Password.
	Auth bool
}

// Registry is a running registry.
type Registry struct {
	// Addr is its host:port, e.g. "127.0.0.1:41234".
	Addr string
	// Username and Password are its credentials; empty without Options.Auth.
	Username, Password string

	dir  string
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// Start starts a registry, stopped (and its storage removed) when t ends.
func Start(t testing.TB, o Options) *Registry {
	t.Helper()
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		t.Fatalf("testregistry: docker-registry is not installed: run scripts/registry.sh, which installs it (or apt-get install -y docker-registry)")
	}
	r := &Registry{dir: t.TempDir()}
	if o.Auth {
		r.Username, r.Password = Username, Password
		if err := os.WriteFile(filepath.Join(r.dir, "htpasswd"), []byte(Username+":"+passwordHash+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { r.Stop(t) })
	// A free port may be taken between choosing it and the registry's listen: try another.
	for attempt := 0; ; attempt++ {
		r.Addr = freePort(t)
		err := r.start(bin, o)
		if err == nil {
			return r
		}
		if attempt == 2 || !strings.Contains(err.Error(), "address already in use") {
			t.Fatalf("testregistry: %v", err)
		}
	}
}

// Stop stops the registry; connections to Addr are then refused. It keeps the storage.
func (r *Registry) Stop(t testing.TB) {
	t.Helper()
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.done
	}
	r.cmd = nil
}

// Wipe stops the registry, deletes every image it holds and starts it again on the same
// address: a registry whose operator started afresh.
func (r *Registry) Wipe(t testing.TB) {
	t.Helper()
	r.Stop(t)
	if err := os.RemoveAll(filepath.Join(r.dir, "data")); err != nil {
		t.Fatal(err)
	}
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.start(bin, Options{Auth: r.Username != ""}); err != nil {
		t.Fatalf("testregistry: start again: %v", err)
	}
}

// HasTag reports whether the registry has repo:tag (repo without the registry's address).
func (r *Registry) HasTag(t testing.TB, repo, tag string) bool {
	t.Helper()
	req, err := http.NewRequest(http.MethodHead, "http://"+r.Addr+"/v2/"+repo+"/manifests/"+tag, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/vnd.docker.distribution.manifest.v2+json")
	if r.Username != "" {
		req.SetBasicAuth(r.Username, r.Password)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("testregistry: %v", err)
	}
	_ = resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return true
	case http.StatusNotFound:
		return false
	}
	t.Fatalf("testregistry: HEAD %s: %s", req.URL, resp.Status)
	return false
}

// start writes the config and starts the registry at r.Addr, waiting until it answers.
func (r *Registry) start(bin string, o Options) error {
	cfg := fmt.Sprintf(`version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
  secret: hearth-test
`, filepath.Join(r.dir, "data"), r.Addr)
	if o.Auth {
		cfg += fmt.Sprintf("auth:\n  htpasswd:\n    realm: hearth-test\n    path: %s\n", filepath.Join(r.dir, "htpasswd"))
	}
	path := filepath.Join(r.dir, "config.yml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return err
	}
	logPath := filepath.Join(r.dir, "registry.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.Command(bin, "serve", path)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	r.cmd, r.done = cmd, done
	client := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); {
		select {
		case <-done:
			r.cmd = nil
			out, _ := os.ReadFile(logPath)
			return fmt.Errorf("docker-registry exited at start: %s", strings.TrimSpace(string(out)))
		default:
		}
		resp, err := client.Get("http://" + r.Addr + "/v2/")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	out, _ := os.ReadFile(logPath)
	return fmt.Errorf("docker-registry at %s did not answer within 15 s: %s", r.Addr, strings.TrimSpace(string(out)))
}

// freePort returns a loopback address no one listens on just now.
func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}
