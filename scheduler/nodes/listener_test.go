package nodes

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/hearthfn/hearth/agent"
	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/agent/remote"
	"github.com/hearthfn/hearth/api"
)

// cluster is a Manager serving on a loopback port.
type cluster struct {
	*env
	addr string
	stop func() // stops Serve and waits for it
}

// serve starts a Manager whose configuration tune may change.
func serve(t *testing.T, tune ...func(*Config)) *cluster {
	t.Helper()
	e := newEnv(t, tune...)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.m.Serve(ctx, ln) }()
	c := &cluster{env: e, addr: ln.Addr().String()}
	stopped := false
	c.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}
	t.Cleanup(c.stop)
	return c
}

// joinAs joins with token as an agent would and returns its node id and TLS certificate.
func (c *cluster) joinAs(t *testing.T, token, name string) (string, tls.Certificate, error) {
	t.Helper()
	key := ecKey(t)
	body, _ := json.Marshal(remote.JoinRequest{Token: token, Name: name, CSR: string(newCSR(t, key))})
	tok, err := remote.ParseJoinToken(token)
	pin := strings.Repeat("0", 64)
	if err == nil {
		pin = tok.CAPin
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: remote.PinnedTLSConfig(pin, "127.0.0.1")}, Timeout: 10 * time.Second}
	defer hc.CloseIdleConnections()
	resp, err := hc.Post("https://"+c.addr+remote.JoinPath, "application/json", bytes.NewReader(body))
	if err != nil {
		return "", tls.Certificate{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", tls.Certificate{}, remote.ReadStatusError(resp)
	}
	var jr remote.JoinResponse
	if err := json.NewDecoder(resp.Body).Decode(&jr); err != nil {
		t.Fatal(err)
	}
	if jr.CA != string(c.m.PKI().CACertPEM()) {
		t.Fatal("the join answer's CA is not the server's")
	}
	block, _ := pem.Decode([]byte(jr.Cert))
	return jr.NodeID, tls.Certificate{Certificate: [][]byte{block.Bytes}, PrivateKey: key}, nil
}

// agentSession is the agent's end of a session.
type agentSession struct {
	sess    *yamux.Session
	enc     *remote.Encoder
	welcome remote.Welcome
	served  chan error
}

// connect dials the listener with cert (none when its Certificate is empty), upgrades, serves
// a fake agent on the session and sends the hello.
func (c *cluster) connect(t *testing.T, id string, cert tls.Certificate, fp driver.Fingerprint) (*agentSession, error) {
	t.Helper()
	cfg := &tls.Config{RootCAs: c.m.PKI().CAPool(), ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	if len(cert.Certificate) > 0 {
		cfg.Certificates = []tls.Certificate{cert}
	}
	conn, err := tls.Dial("tcp", c.addr, cfg)
	if err != nil {
		return nil, err
	}
	up, err := remote.DialUpgrade(t.Context(), conn, c.addr)
	if err != nil {
		conn.Close()
		return nil, err
	}
	sess, err := yamux.Client(up, remote.SessionConfig(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	a := &agentSession{sess: sess, served: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { a.served <- remote.Serve(ctx, sess, &fakeAgent{id: id, fp: fp}, testLogger(t)) }()
	t.Cleanup(func() {
		cancel()
		<-a.served
	})
	stream, err := sess.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	a.enc = remote.NewEncoder(stream)
	hello := remote.Hello{NodeID: id, Name: "agent", Labels: map[string]string{"disk": "ssd"}, AdvertiseAddr: "127.0.0.9",
		Version: "test", Info: agent.NodeInfo{ID: id, Driver: fp}}
	if err := a.enc.Send(remote.NewHello(hello)); err != nil {
		t.Fatal(err)
	}
	msg, err := remote.NewDecoder(stream).Next()
	if err != nil {
		return nil, err
	}
	if msg.Type != remote.TypeWelcome {
		t.Fatalf("answer to hello: %+v", msg)
	}
	a.welcome = *msg.Welcome
	return a, nil
}

// waitCalls waits until the pool got want, in order, and nothing else.
func waitCalls(t *testing.T, p *fakePool, want ...string) {
	t.Helper()
	var got []string
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		got = append(got, p.take()...)
		if len(got) >= len(want) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("pool calls %q, want %q", got, want)
	}
}

func statusCode(err error) string {
	var se *remote.StatusError
	if errors.As(err, &se) {
		return se.Code
	}
	return ""
}

func TestJoinConnectRemove(t *testing.T) {
	c := serve(t)
	nt, err := c.m.CreateJoinToken(t.Context(), api.JoinTokenRequest{Labels: map[string]string{"zone": "a"}})
	if err != nil {
		t.Fatal(err)
	}
	id, cert, err := c.joinAs(t, nt.Token, "worker-1")
	if err != nil {
		t.Fatal(err)
	}
	fp := driver.Fingerprint{Name: "fake", Version: "1", Images: []string{"a", "b"}}
	a, err := c.connect(t, id, cert, fp)
	if err != nil {
		t.Fatal(err)
	}
	if a.welcome.HeartbeatIntervalMS != 2000 {
		t.Fatalf("welcome %+v, want the 2 s default", a.welcome)
	}
	waitCalls(t, c.pool, "add "+id+" disk=ssd,zone=a")

	// The pool reaches the agent through the session.
	info, err := c.pool.agent(id).Info(t.Context())
	if err != nil || info.ID != id || info.Driver.Name != "fake" {
		t.Fatalf("Info through the session: %+v, %v", info, err)
	}
	ag, ok := c.m.Agent(id)
	if !ok {
		t.Fatal("Agent of a connected node")
	}
	rc, err := ag.Logs(t.Context(), "i1", driver.LogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "hello from i1\n" {
		t.Fatalf("logs %q", b)
	}

	// Heartbeats and events.
	c.clock.Add(5 * time.Second)
	if err := a.enc.Send(remote.NewHeartbeat(remote.Heartbeat{})); err != nil {
		t.Fatal(err)
	}
	events, _ := c.pool.watch(t, id)
	if ev := nextEvent(t, events); !ev.Resync {
		t.Fatalf("first event %+v, want the Resync", ev)
	}
	if err := a.enc.Send(remote.NewEvent(remote.Event{InstanceID: "i1", State: "exited", ExitCode: 137, OOMKilled: true})); err != nil {
		t.Fatal(err)
	}
	if ev, want := nextEvent(t, events), (instance.Event{InstanceID: "i1", State: "exited", ExitCode: 137, OOMKilled: true}); ev != want {
		t.Fatalf("event %+v, want %+v", ev, want)
	}
	if v, _ := c.m.Get(t.Context(), id); v.State != Ready || !v.LastSeen.Equal(c.clock.Now()) || v.Images != 2 || v.AdvertiseAddr != "127.0.0.9" {
		t.Fatalf("node after a heartbeat: %+v", v)
	}

	// A second session replaces the first.
	b2, err := c.connect(t, id, cert, fp)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-a.sess.CloseChan():
	case <-time.After(10 * time.Second):
		t.Fatal("the first session was left open")
	}
	waitCalls(t, c.pool, "add "+id+" disk=ssd,zone=a")

	// Removed: the session closes and the certificate no longer connects.
	if err := c.m.Remove(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	select {
	case <-b2.sess.CloseChan():
	case <-time.After(10 * time.Second):
		t.Fatal("the removed node's session was left open")
	}
	waitCalls(t, c.pool, "remove "+id)
	_, err = c.connect(t, id, cert, fp)
	if statusCode(err) != remote.CodeNodeUnknown || !strings.Contains(err.Error(), "join again with a new token") {
		t.Fatalf("connect of a removed node: %v", err)
	}
	c.stop()
}

func TestJoinRefusals(t *testing.T) {
	c := serve(t)
	nt, err := c.m.CreateJoinToken(t.Context(), api.JoinTokenRequest{ExpiresIn: "1m"})
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := remote.ParseJoinToken(nt.Token)
	wrong := remote.JoinToken{ID: tok.ID, Secret: strings.Repeat("1", 64), CAPin: tok.CAPin}.String()
	if _, _, err := c.joinAs(t, wrong, "n"); statusCode(err) != remote.CodeJoinTokenInvalid {
		t.Fatalf("join with a wrong secret: %v", err)
	}
	otherPin := remote.JoinToken{ID: tok.ID, Secret: tok.Secret, CAPin: strings.Repeat("1", 64)}.String()
	if _, _, err := c.joinAs(t, otherPin, "n"); !errors.Is(err, remote.ErrPinMismatch) {
		t.Fatalf("join pinning another CA: %v; want the agent to refuse the server", err)
	}
	c.clock.Add(time.Minute)
	_, _, err = c.joinAs(t, nt.Token, "n")
	if statusCode(err) != remote.CodeJoinTokenExpired || !strings.Contains(err.Error(), "expired at") {
		t.Fatalf("join with an expired token: %v", err)
	}

	// No certificate, and a certificate of another CA, do not connect.
	if _, err := c.connect(t, "x", tls.Certificate{}, driver.Fingerprint{}); statusCode(err) != remote.CodeNodeUnknown {
		t.Fatalf("connect without a certificate: %v", err)
	}
	other := serve(t)
	nt2, err := other.m.CreateJoinToken(t.Context(), api.JoinTokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	id, cert, err := other.joinAs(t, nt2.Token, "stranger")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.connect(t, id, cert, driver.Fingerprint{}); err == nil {
		t.Fatal("a node of another cluster connected")
	}

	// Bodies and methods that are not a join.
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: remote.PinnedTLSConfig(tok.CAPin, "127.0.0.1")}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Post("https://"+c.addr+remote.JoinPath, "application/json", strings.NewReader("{"))
	if err != nil {
		t.Fatal(err)
	}
	if se := remote.ReadStatusError(resp); resp.StatusCode != 400 || se.Code != remote.CodeBadRequest {
		t.Fatalf("bad body: %d %+v", resp.StatusCode, se)
	}
	resp.Body.Close()
	resp, err = hc.Get("https://" + c.addr + remote.JoinPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET %s: %d", remote.JoinPath, resp.StatusCode)
	}
}

// TestSilentAgentIsCut: a session whose agent sends no heartbeat is closed after the node
// timeout, and the pool loses the node; the agent may connect again.
func TestSilentAgentIsCut(t *testing.T) {
	c := serve(t)
	nt, err := c.m.CreateJoinToken(t.Context(), api.JoinTokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	id, cert, err := c.joinAs(t, nt.Token, "quiet")
	if err != nil {
		t.Fatal(err)
	}
	a, err := c.connect(t, id, cert, driver.Fingerprint{})
	if err != nil {
		t.Fatal(err)
	}
	waitCalls(t, c.pool, "add "+id+" disk=ssd")
	c.clock.Add(16 * time.Second) // the ticker sees it within a second
	select {
	case <-a.sess.CloseChan():
	case <-time.After(10 * time.Second):
		t.Fatal("a silent session was left open")
	}
	waitCalls(t, c.pool, "lost "+id)
	if v, _ := c.m.Get(t.Context(), id); v.State != Down || !strings.Contains(v.Problem, "no heartbeat") {
		t.Fatalf("silent node: %+v", v)
	}
	if _, err := c.connect(t, id, cert, driver.Fingerprint{}); err != nil {
		t.Fatalf("connect after down: %v", err)
	}
	waitCalls(t, c.pool, "add "+id+" disk=ssd")
	if v, _ := c.m.Get(t.Context(), id); v.State != Ready {
		t.Fatalf("node back: %+v", v)
	}
}

// TestHandshakeTimeout: a connection that upgrades but sends no hello is closed.
func TestHandshakeTimeout(t *testing.T) {
	c := serve(t, func(cfg *Config) { cfg.HandshakeTimeout = 200 * time.Millisecond })
	nt, err := c.m.CreateJoinToken(t.Context(), api.JoinTokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	id, cert, err := c.joinAs(t, nt.Token, "mute")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := tls.Dial("tcp", c.addr, &tls.Config{RootCAs: c.m.PKI().CAPool(), ServerName: "127.0.0.1",
		Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	up, err := remote.DialUpgrade(t.Context(), conn, c.addr)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := yamux.Client(up, remote.SessionConfig(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-sess.CloseChan():
	case <-time.After(10 * time.Second):
		t.Fatal("a session without a hello was left open")
	}
	if v, _ := c.m.Get(t.Context(), id); v.State != Disconnected {
		t.Fatalf("node %+v", v)
	}
	if calls := c.pool.take(); len(calls) != 0 {
		t.Fatalf("pool calls %q for a session that never said hello", calls)
	}
}
