package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"time"
)

// The bare proxy is a reference beside the warm rows: a plain net/http/httputil reverse proxy,
// in a process of its own, in front of the same instance. What it adds to the direct call is the
// price of one more HTTP hop on this machine, before anything hearth does (routing, the pool,
// metrics). The bench starts it by running its own executable with -serve-proxy.

// serveProxy runs the bare proxy from listen to target until the process is killed.
func serveProxy(listen, target string) error {
	u, err := url.Parse(target)
	if err != nil {
		return err
	}
	p := httputil.NewSingleHostReverseProxy(u)
	// As hearth's router: keep connections to the instance, no compression.
	p.Transport = &http.Transport{MaxIdleConnsPerHost: 1024, DisableCompression: true}
	// As hearth's router: full duplex, so that the answer never waits on the request body.
	return http.ListenAndServe(listen, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength != 0 {
			_ = http.NewResponseController(w).EnableFullDuplex()
		}
		p.ServeHTTP(w, r)
	}))
}

// proxyProc is a running bare proxy.
type proxyProc struct {
	url string
	cmd *exec.Cmd
}

// startProxy starts a bare proxy in front of target and waits until it answers.
func startProxy(ctx context.Context, target string) (*proxyProc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	p := &proxyProc{url: "http://" + addr + "/", cmd: exec.Command(self, "-serve-proxy", addr, "-proxy-target", target)}
	p.cmd.Stderr = os.Stderr
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the bare proxy: %w", err)
	}
	if err := waitReady(ctx, http.DefaultClient, p.url); err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}

func (p *proxyProc) cpuTime() (time.Duration, error) { return cpuTime(p.cmd.Process.Pid) }

func (p *proxyProc) stop() {
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
}
