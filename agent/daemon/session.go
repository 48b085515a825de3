package daemon

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"reflect"
	"sync"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/hearthfn/hearth/agent"
	"github.com/hearthfn/hearth/agent/remote"
)

const (
	dialTimeout    = 10 * time.Second
	welcomeTimeout = 30 * time.Second
	infoTimeout    = 10 * time.Second
)

// session connects to the server and serves it until the session ends. established says
// whether it got as far as the welcome, which resets the backoff.
func (d *daemon) session(ctx context.Context) (established bool, err error) {
	// Read before dialling: the server gives the hello a few seconds only.
	info := d.info(ctx)
	conn, err := d.dial(ctx)
	if err != nil {
		return false, err
	}
	up, err := remote.DialUpgrade(ctx, conn, d.srv.hostport)
	if err != nil {
		conn.Close()
		var se *remote.StatusError
		if errors.As(err, &se) && se.StatusCode == http.StatusUnauthorized && se.Code == remote.CodeNodeUnknown {
			return false, &removedError{msg: fmt.Sprintf("the server refused node %s: %s (remove %s so that the agent joins again)",
				d.cred.NodeID, se.Message, filepath.Join(d.cred.Dir, nodeIDFile))}
		}
		return false, fmt.Errorf("connect: %w", err)
	}
	sess, err := yamux.Client(up, remote.SessionConfig(d.log))
	if err != nil {
		up.Close()
		return false, err
	}
	defer sess.Close()
	ctl, err := sess.OpenStream()
	if err != nil {
		return false, sessionError("open the control stream", err)
	}
	defer ctl.Close()
	enc, dec := remote.NewEncoder(ctl), remote.NewDecoder(ctl)
	if err := enc.Send(remote.NewHello(remote.Hello{
		NodeID: d.cred.NodeID, Name: d.cfg.Name, Labels: d.cfg.Labels, AdvertiseAddr: d.cfg.AdvertiseAddr,
		Version: d.cfg.Version, Info: info,
	})); err != nil {
		return false, err
	}
	interval, err := d.welcome(ctl, dec)
	if err != nil {
		return false, err
	}
	d.log.Info("connected to the server", "server", d.srv.url, "heartbeat_interval", interval)

	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ended := make(chan error, 4)
	var wg sync.WaitGroup
	run := func(f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ended <- f()
		}()
	}
	run(func() error { return sessionError("the session closed", remote.Serve(sctx, sess, d.cfg.Agent, d.log)) })
	run(func() error { return d.heartbeat(sctx, enc, interval, info) })
	run(func() error { return d.watch(sctx, enc.Send) })
	run(func() error {
		// The server sends nothing after welcome; reading shows when it goes away.
		for {
			if _, err := dec.Next(); err != nil {
				return sessionError("the control stream ended", err)
			}
		}
	})
	err = <-ended
	cancel()
	sess.Close()
	wg.Wait()
	return true, err
}

// dial opens the TLS connection to the server with the node's certificate.
func (d *daemon) dial(ctx context.Context) (net.Conn, error) {
	dialer := &tls.Dialer{
		NetDialer: &net.Dialer{Timeout: dialTimeout, KeepAlive: 15 * time.Second},
		Config: &tls.Config{
			MinVersion:   tls.VersionTLS12,
			Certificates: []tls.Certificate{d.cred.Cert},
			RootCAs:      d.cred.CA,
			ServerName:   d.srv.host,
		},
	}
	conn, err := dialer.DialContext(ctx, "tcp", d.srv.hostport)
	if err != nil {
		var ua x509.UnknownAuthorityError
		var he x509.HostnameError
		switch {
		case errors.As(err, &ua):
			return nil, fmt.Errorf("dial %s: %w (the server's certificate is not from the cluster CA this node joined, %s: is this the server it joined?)",
				d.srv.url, err, filepath.Join(d.cred.Dir, caFile))
		case errors.As(err, &he):
			return nil, fmt.Errorf("dial %s: %w (dial a name or address the server's certificate has: the server's --cluster-advertise adds some)", d.srv.url, err)
		}
		return nil, fmt.Errorf("dial %s: %w", d.srv.url, err)
	}
	return conn, nil
}

// welcome reads the server's answer to hello and returns the heartbeat interval.
func (d *daemon) welcome(ctl net.Conn, dec *remote.Decoder) (time.Duration, error) {
	if err := ctl.SetReadDeadline(time.Now().Add(welcomeTimeout)); err != nil {
		return 0, err
	}
	m, err := dec.Next()
	if err != nil {
		return 0, sessionError("read the welcome", err)
	}
	if m.Type != remote.TypeWelcome {
		return 0, fmt.Errorf("the server answered hello with %q, not %q", m.Type, remote.TypeWelcome)
	}
	if err := ctl.SetReadDeadline(time.Time{}); err != nil {
		return 0, err
	}
	interval := time.Duration(m.Welcome.HeartbeatIntervalMS) * time.Millisecond
	if d.cfg.HeartbeatInterval > 0 {
		interval = d.cfg.HeartbeatInterval
	}
	if interval <= 0 {
		interval = defaultHeartbeat
	}
	return interval, nil
}

// info returns the node's info, or only its id when the driver cannot say more now (the
// heartbeats carry the rest once it can).
func (d *daemon) info(ctx context.Context) agent.NodeInfo {
	ctx, cancel := context.WithTimeout(ctx, infoTimeout)
	defer cancel()
	info, err := d.cfg.Agent.Info(ctx)
	if err != nil {
		if ctx.Err() == nil {
			d.log.Warn("cannot read the node's info", "error", err)
		}
		return agent.NodeInfo{ID: d.cred.NodeID}
	}
	return info
}

// heartbeat sends a heartbeat every interval until ctx ends or a send fails. The node's info is
// read in the background, so that a slow engine delays no heartbeat; a heartbeat carries it
// when it changed since the last one sent, and at least every infoRefresh.
func (d *daemon) heartbeat(ctx context.Context, enc *remote.Encoder, interval time.Duration, sent agent.NodeInfo) error {
	var mu sync.Mutex
	latest, fresh := sent, false
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // before the Wait: a failed send ends the reader too
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			info := d.info(ctx)
			if ctx.Err() != nil {
				return
			}
			mu.Lock()
			latest, fresh = info, true
			mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-time.After(min(interval, infoRefresh)):
			}
		}
	}()
	sentAt := time.Now()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		var hb remote.Heartbeat
		mu.Lock()
		if fresh && (!reflect.DeepEqual(latest, sent) || time.Since(sentAt) >= infoRefresh) {
			info := latest
			hb.Info, sent, sentAt = &info, latest, time.Now()
		}
		mu.Unlock()
		if err := enc.Send(remote.NewHeartbeat(hb)); err != nil {
			return err
		}
	}
}
