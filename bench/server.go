package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// server is the hearth server under measurement.
type server struct {
	url     string
	dataDir string
	cmd     *exec.Cmd
	log     bytes.Buffer
}

func startServer(ctx context.Context, bin string) (*server, error) {
	dataDir, err := os.MkdirTemp("", "hearth-bench-")
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	s := &server{url: "http://" + addr, dataDir: dataDir}
	args := []string{"server", "--dev", "--addr", addr, "--data-dir", dataDir, "--log-level", "warn"}
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
