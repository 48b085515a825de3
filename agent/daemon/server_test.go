package daemon_test

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/hearthfn/hearth/agent/remote"
	"github.com/hearthfn/hearth/agent/remote/remotetest"
)

// clusterServer is the server's side of joining and connecting, as little of it as the agent's
// tests need: one join token, nodes by id, sessions whose messages it records.
type clusterServer struct {
	t     *testing.T
	ca    *remotetest.CA
	srv   *httptest.Server
	token remote.JoinToken
	log   *slog.Logger

	expired  atomic.Bool
	joins    atomic.Int32
	conns    atomic.Int32 // TCP connections accepted
	messages chan remote.Message
	sessions chan *session

	mu    sync.Mutex
	nodes map[string]bool // id -> known
}

// session is one agent's session as the test server sees it.
type session struct {
	nodeID string
	sess   *yamux.Session
	client *remote.Client
}

func newClusterServer(t *testing.T) *clusterServer {
	t.Helper()
	ca, err := remotetest.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.ServerCert("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := remote.NewJoinToken(nil, ca.Pin())
	if err != nil {
		t.Fatal(err)
	}
	s := &clusterServer{t: t, ca: ca, token: tok, log: testLogger(t), nodes: map[string]bool{},
		messages: make(chan remote.Message, 1000), sessions: make(chan *session, 10)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+remote.JoinPath, s.join)
	mux.HandleFunc("GET "+remote.ConnectPath, s.connect)
	s.srv = httptest.NewUnstartedServer(mux)
	s.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: ca.Pool()}
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are part of the tests
	s.srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.srv.StartTLS()
	t.Cleanup(s.srv.Close)
	return s
}

func (s *clusterServer) url() string { return s.srv.URL }

func (s *clusterServer) join(w http.ResponseWriter, r *http.Request) {
	s.joins.Add(1)
	var req remote.JoinRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		remote.WriteError(w, http.StatusBadRequest, remote.CodeBadRequest, err.Error())
		return
	}
	tok, err := remote.ParseJoinToken(req.Token)
	if err != nil || tok != s.token {
		remote.WriteError(w, http.StatusUnauthorized, remote.CodeJoinTokenInvalid,
			"invalid join token: join token "+tok.ID+" is unknown; make a new one with `hearth node token create`")
		return
	}
	if s.expired.Load() {
		remote.WriteError(w, http.StatusUnauthorized, remote.CodeJoinTokenExpired,
			"join token expired: join token "+tok.ID+" expired at 2026-12-01T10:00:00Z")
		return
	}
	id := strings.ToLower(req.Name) + "-0a1b2c3d"
	cert, err := s.ca.SignCSR(req.CSR, id)
	if err != nil {
		remote.WriteError(w, http.StatusBadRequest, remote.CodeBadRequest, err.Error())
		return
	}
	s.mu.Lock()
	s.nodes[id] = true
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(remote.JoinResponse{NodeID: id, Cert: string(cert), CA: string(s.ca.PEM)}) //nolint:errcheck // test
}

func (s *clusterServer) remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.nodes, id)
}

func (s *clusterServer) connect(w http.ResponseWriter, r *http.Request) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		remote.WriteError(w, http.StatusUnauthorized, remote.CodeNodeUnknown, "no client certificate")
		return
	}
	id := r.TLS.PeerCertificates[0].Subject.CommonName
	s.mu.Lock()
	known := s.nodes[id]
	s.mu.Unlock()
	if !known {
		remote.WriteError(w, http.StatusUnauthorized, remote.CodeNodeUnknown,
			"node "+id+" was removed or never joined; join again with a new token")
		return
	}
	conn, err := remote.AcceptUpgrade(w, r)
	if err != nil {
		return
	}
	sess, err := yamux.Server(conn, remote.SessionConfig(s.log))
	if err != nil {
		s.t.Error(err)
		return
	}
	go s.serve(id, sess)
}

func (s *clusterServer) serve(id string, sess *yamux.Session) {
	defer sess.Close()
	ctl, err := sess.Accept()
	if err != nil {
		return
	}
	dec, enc := remote.NewDecoder(ctl), remote.NewEncoder(ctl)
	hello, err := dec.Next()
	if err != nil || hello.Type != remote.TypeHello || hello.Hello.NodeID != id {
		s.t.Errorf("first message %+v, %v; want a hello from %s", hello, err, id)
		return
	}
	s.messages <- hello
	if err := enc.Send(remote.NewWelcome(remote.Welcome{HeartbeatIntervalMS: 20})); err != nil {
		return
	}
	s.sessions <- &session{nodeID: id, sess: sess, client: remote.NewClient(sess, id)}
	for {
		m, err := dec.Next()
		if err != nil {
			return
		}
		s.messages <- m
	}
}

// next returns the next message of type typ, skipping others, within a few seconds.
func (s *clusterServer) next(t *testing.T, typ string) remote.Message {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case m := <-s.messages:
			if m.Type == typ {
				return m
			}
		case <-deadline:
			t.Fatalf("no %s message", typ)
		}
	}
}

func (s *clusterServer) session(t *testing.T) *session {
	t.Helper()
	select {
	case ss := <-s.sessions:
		return ss
	case <-time.After(10 * time.Second):
		t.Fatal("no session")
		return nil
	}
}

// testLogger logs through t, and drops lines after the test ends.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	defer func() { recover() }() //nolint:errcheck // a line logged after the test ended
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
