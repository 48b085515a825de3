package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// server is the hearth server under measurement.
type server struct {
	url     string
	dataDir string
	// token is the admin token the server wrote at its start (adminToken).
	token string
	cmd   *exec.Cmd
	log   bytes.Buffer
}

// startServer runs `hearth server` on a free loopback port with a temporary data directory;
// node says what runs its instances ("--dev": the local Docker Engine; "--driver nomad ...").
func startServer(ctx context.Context, bin string, node ...string) (*server, error) {
	dataDir, err := os.MkdirTemp("", "hearth-bench-")
	if err != nil {
		return nil, err
	}
	return startServerIn(ctx, bin, dataDir, node...)
}

// startServerIn starts a server on dataDir, which the caller may have filled (a store seeded
// with functions and calls); stop removes it.
func startServerIn(ctx context.Context, bin, dataDir string, node ...string) (*server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	s := &server{url: "http://" + addr, dataDir: dataDir}
	args := append([]string{"server", "--addr", addr, "--data-dir", dataDir, "--log-level", "warn"}, node...)
	if _, err := os.Stat(caBundle); err == nil {
		args = append(args, "--build-ca-bundle", caBundle)
	}
	s.cmd = exec.Command(bin, args...)
	s.cmd.Stdout, s.cmd.Stderr = &s.log, &s.log
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			return s, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			s.stop()
			return nil, fmt.Errorf("the server did not start: %s", s.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// adminToken reads the admin token the server made at its first start.
func (s *server) adminToken() (string, error) {
	b, err := os.ReadFile(filepath.Join(s.dataDir, "admin-token"))
	if err != nil {
		return "", fmt.Errorf("the server's admin token: %w", err)
	}
	s.token = strings.TrimSpace(string(b))
	return s.token, nil
}

// tokenTransport sends a bearer token with every request.
type tokenTransport struct {
	next  http.RoundTripper
	token string
}

func withToken(next http.RoundTripper, token string) http.RoundTripper {
	return tokenTransport{next: next, token: token}
}

func (t tokenTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+t.token)
	return t.next.RoundTrip(r)
}

// caBundle is handed to the server for builds that fetch dependencies (npm).
const caBundle = "/etc/ssl/certs/ca-certificates.crt"

// stop ends the server (which removes its instances) and its data directory.
func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
	os.RemoveAll(s.dataDir)
}

// userHZ is the unit of the CPU times in /proc/<pid>/stat, fixed at 100 on Linux.
const userHZ = 100

func (s *server) cpuTime() (time.Duration, error) { return cpuTime(s.cmd.Process.Pid) }

// cpuTime returns the CPU time (user + system) a process has used so far.
func cpuTime(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, field 2, may hold spaces: count the fields after its closing ')'.
	// There, utime and stime (fields 14 and 15 of proc(5)) are at 11 and 12.
	fields := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	if len(fields) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(fields))
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}
