package nodes

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/hearthfn/hearth/agent/remote"
	"github.com/hearthfn/hearth/scheduler/store"
)

// maxJoinBytes bounds a join request: a token, a name and a CSR are well under 8 KiB.
const maxJoinBytes = 64 << 10

// Serve runs the cluster listener on ln (a plain TCP listener: Serve adds TLS with the
// cluster's certificate) until ctx ends: agents join on POST /v1/join and hold their sessions
// through GET /v1/connect. It also follows the nodes' heartbeats, marking down those that go
// silent, and stores when nodes were last seen. When ctx ends it closes every session (without
// telling the pool: the server is stopping) and returns once its goroutines have.
func (m *Manager) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m.mu.Lock()
	m.lastTouch = m.cfg.Now()
	m.mu.Unlock()

	srv := &http.Server{
		Handler:           m.routes(ctx),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second, // a connect clears it once upgraded
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// No HTTP/2: a connect upgrades its HTTP/1.1 connection.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
		ErrorLog:     slog.NewLogLogger(m.log.Handler(), slog.LevelDebug),
		BaseContext:  func(net.Listener) context.Context { return ctx },
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(tls.NewListener(ln, m.pki.ServerTLSConfig())) }()
	tickDone := make(chan struct{})
	go func() {
		defer close(tickDone)
		m.runTicker(ctx)
	}()

	var err error
	select {
	case err = <-serveErr:
	case <-ctx.Done():
	}
	cancel()
	srv.Close() // the listener and the joins in flight; sessions were hijacked and are ours
	m.closeSessions()
	<-tickDone
	m.wg.Wait()
	m.mu.Lock()
	touch := m.touchesLocked()
	m.mu.Unlock()
	m.storeTouches(context.WithoutCancel(ctx), touch)
	if err == nil || errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("cluster listener: %w", err)
}

// runTicker checks the nodes' deadlines until ctx ends: one goroutine for every node, often
// enough that a node goes down within a quarter of the timeout after it passed.
func (m *Manager) runTicker(ctx context.Context) {
	every := min(time.Second, m.cfg.NodeTimeout/4)
	t := time.NewTicker(max(every, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			m.storeTouches(ctx, m.tick(m.cfg.Now()))
		}
	}
}

// closeSessions closes every session at shutdown.
func (m *Manager) closeSessions() {
	m.mu.Lock()
	m.closing = true
	var closes []func() error
	for _, e := range m.nodes {
		if e.sess != nil {
			closes = append(closes, e.sess.Close)
		}
	}
	m.mu.Unlock()
	for _, c := range closes {
		c()
	}
}

func (m *Manager) routes(ctx context.Context) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(remote.JoinPath, m.handleJoin)
	mux.HandleFunc(remote.ConnectPath, func(w http.ResponseWriter, r *http.Request) { m.handleConnect(ctx, w, r) })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		remote.WriteError(w, http.StatusNotFound, "not_found",
			fmt.Sprintf("%s is not served here: this is hearth's cluster listener, for agents (%s, %s)", r.URL.Path, remote.JoinPath, remote.ConnectPath))
	})
	return mux
}

func (m *Manager) handleJoin(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		remote.WriteError(w, http.StatusMethodNotAllowed, remote.CodeBadRequest, remote.JoinPath+" takes POST")
		return
	}
	var req remote.JoinRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJoinBytes)).Decode(&req); err != nil {
		remote.WriteError(w, http.StatusBadRequest, remote.CodeBadRequest, "the body must be a JSON join request: "+err.Error())
		return
	}
	resp, err := m.Join(r.Context(), req)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(resp) //nolint:errcheck // the agent went away; it joins again
}

// fail answers a join or a connect that cannot be done.
func (m *Manager) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, code := http.StatusInternalServerError, "internal"
	switch {
	case errors.Is(err, ErrJoinTokenInvalid):
		status, code = http.StatusUnauthorized, remote.CodeJoinTokenInvalid
	case errors.Is(err, ErrJoinTokenExpired):
		status, code = http.StatusUnauthorized, remote.CodeJoinTokenExpired
	case errors.Is(err, ErrNodeUnknown):
		status, code = http.StatusUnauthorized, remote.CodeNodeUnknown
	case errors.Is(err, ErrBadJoinRequest):
		status, code = http.StatusBadRequest, remote.CodeBadRequest
	case errors.Is(err, store.ErrUnavailable):
		status, code = http.StatusServiceUnavailable, "unavailable"
	}
	if status == http.StatusUnauthorized {
		m.log.Warn("agent refused", "path", r.URL.Path, "remote_addr", r.RemoteAddr, "reason", err)
	} else if status >= 500 {
		m.log.Error("agent request failed", "path", r.URL.Path, "remote_addr", r.RemoteAddr, "error", err)
	}
	remote.WriteError(w, status, code, err.Error())
}

// clientNode returns the node id of a connection's client certificate, which the TLS
// handshake verified against the CA.
func clientNode(r *http.Request) (string, bool) {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return "", false
	}
	id := r.TLS.VerifiedChains[0][0].Subject.CommonName
	return id, id != ""
}

// handleConnect authenticates a node, upgrades its connection to a session and holds it until
// it ends. ctx is Serve's.
func (m *Manager) handleConnect(ctx context.Context, w http.ResponseWriter, r *http.Request) {
	id, ok := clientNode(r)
	if !ok {
		m.fail(w, r, errorf(ErrNodeUnknown, "the connection has no client certificate of this cluster; join first with a join token"))
		return
	}
	if _, err := m.known(r.Context(), id); err != nil {
		m.fail(w, r, err)
		return
	}
	conn, err := remote.AcceptUpgrade(w, r)
	if err != nil {
		return // answered
	}
	// Serve waits for this goroutine; once it began to wait, no session starts.
	m.mu.Lock()
	if m.closing {
		m.mu.Unlock()
		conn.Close()
		return
	}
	m.wg.Add(1)
	m.mu.Unlock()
	defer m.wg.Done()
	sess, err := yamux.Server(conn, remote.SessionConfig(m.log))
	if err != nil {
		conn.Close()
		m.log.Error("could not start a node's session", "node", id, "error", err)
		return
	}
	defer sess.Close()
	// At shutdown the session closes, which ends a handshake or the control stream's read.
	stop := context.AfterFunc(ctx, func() { sess.Close() })
	defer stop()
	stream, hello, err := m.handshake(ctx, sess, id)
	if err != nil {
		m.log.Warn("node's session refused", "node", id, "remote_addr", r.RemoteAddr, "reason", err)
		return
	}
	gen, err := m.connected(ctx, id, hello, m.newClient(sess, id), sess)
	if err != nil {
		m.log.Warn("node's session refused", "node", id, "reason", err)
		return
	}
	err = m.readControl(id, gen, stream)
	sess.Close()
	m.disconnected(id, gen, err)
}

// controlStream is the agent's control stream after the handshake.
type controlStream struct {
	dec *remote.Decoder
}

// handshake accepts the agent's control stream, reads its hello and answers the welcome,
// within HandshakeTimeout.
func (m *Manager) handshake(ctx context.Context, sess *yamux.Session, id string) (controlStream, remote.Hello, error) {
	hctx, cancel := context.WithTimeout(ctx, m.cfg.HandshakeTimeout)
	defer cancel()
	stream, err := sess.AcceptStreamWithContext(hctx)
	if err != nil {
		return controlStream{}, remote.Hello{}, fmt.Errorf("no control stream within %s: %w", m.cfg.HandshakeTimeout, err)
	}
	if err := stream.SetDeadline(time.Now().Add(m.cfg.HandshakeTimeout)); err != nil {
		return controlStream{}, remote.Hello{}, err
	}
	dec := remote.NewDecoder(stream)
	msg, err := dec.Next()
	if err != nil {
		return controlStream{}, remote.Hello{}, fmt.Errorf("read the hello: %w", err)
	}
	if msg.Type != remote.TypeHello {
		return controlStream{}, remote.Hello{}, fmt.Errorf("the first message is %q, not a hello", msg.Type)
	}
	if msg.Hello.NodeID != id {
		return controlStream{}, remote.Hello{}, fmt.Errorf("the hello names node %q, the certificate %q", msg.Hello.NodeID, id)
	}
	welcome := remote.Welcome{HeartbeatIntervalMS: m.cfg.HeartbeatInterval.Milliseconds()}
	if err := remote.NewEncoder(stream).Send(remote.NewWelcome(welcome)); err != nil {
		return controlStream{}, remote.Hello{}, err
	}
	if err := stream.SetDeadline(time.Time{}); err != nil {
		return controlStream{}, remote.Hello{}, err
	}
	return controlStream{dec: dec}, *msg.Hello, nil
}

// readControl reads heartbeats and events until the stream ends, and returns why it ended.
func (m *Manager) readControl(id string, gen uint64, cs controlStream) error {
	for {
		msg, err := cs.dec.Next()
		if err != nil {
			return err
		}
		switch msg.Type {
		case remote.TypeHeartbeat:
			m.heartbeat(id, gen, *msg.Heartbeat)
		case remote.TypeEvent:
			m.event(id, gen, *msg.Event)
		default:
			// A newer agent's message: skipped, as the protocol says.
		}
	}
}
