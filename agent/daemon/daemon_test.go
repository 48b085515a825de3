package daemon_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthfn/hearth/agent"
	"github.com/hearthfn/hearth/agent/daemon"
	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/agent/remote"
	"github.com/hearthfn/hearth/agent/remote/remotetest"
)

// fakeAgent is a node whose instances the test sets.
type fakeAgent struct {
	mu        sync.Mutex
	id        string
	instances map[string]instance.Status
}

func newFakeAgent() *fakeAgent { return &fakeAgent{instances: map[string]instance.Status{}} }

func (f *fakeAgent) set(id string, state instance.State, exit int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.instances[id] = instance.Status{Instance: instance.Instance{ID: id}, Function: "fn", State: state, ExitCode: exit}
}

func (f *fakeAgent) remove(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.instances, id)
}

func (f *fakeAgent) Info(context.Context) (agent.NodeInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return agent.NodeInfo{ID: f.id, Driver: driver.Fingerprint{Name: "fake", Allocatable: instance.Resources{MemoryMB: 1024}}}, nil
}

func (f *fakeAgent) StartInstance(_ context.Context, spec instance.Spec) (instance.Instance, error) {
	f.set(spec.ID, instance.StateRunning, 0)
	return instance.Instance{ID: spec.ID, Endpoint: "10.0.0.9:8080"}, nil
}

func (f *fakeAgent) PauseInstance(_ context.Context, id string) error {
	f.set(id, instance.StatePaused, 0)
	return nil
}

func (f *fakeAgent) ResumeInstance(_ context.Context, id string) error {
	f.set(id, instance.StateRunning, 0)
	return nil
}

func (f *fakeAgent) StopInstance(_ context.Context, id string) error {
	f.remove(id)
	return nil
}

func (f *fakeAgent) Instances(context.Context) ([]instance.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []instance.Status
	for _, st := range f.instances {
		out = append(out, st)
	}
	return out, nil
}

func (f *fakeAgent) Logs(context.Context, string, driver.LogOptions) (io.ReadCloser, error) {
	return io.NopCloser(strings.NewReader("hello\n")), nil
}

func config(t *testing.T, s *clusterServer, dir string) daemon.Config {
	return daemon.Config{
		ServerURL: s.url(), JoinToken: s.token.String(), DataDir: dir, Name: "Web1",
		AdvertiseAddr: "10.0.0.9", Labels: map[string]string{"zone": "a"}, Version: "v-test",
		Log: testLogger(t), EventPoll: 10 * time.Millisecond, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
	}
}

// run starts the daemon and returns a function that stops it and returns Run's error.
func run(t *testing.T, cfg daemon.Config, cred *daemon.Credentials) (stop func() error, done <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- daemon.Run(ctx, cfg, cred) }()
	t.Cleanup(cancel)
	return func() error {
		cancel()
		select {
		case err := <-errc:
			return err
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return after its ctx ended")
			return nil
		}
	}, errc
}

func TestJoinConnectServeAndReconnect(t *testing.T) {
	s := newClusterServer(t)
	dir := filepath.Join(t.TempDir(), "agent")
	cfg := config(t, s, dir)
	cred, err := daemon.Join(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if cred.NodeID != "web1-0a1b2c3d" {
		t.Fatalf("node id %q", cred.NodeID)
	}
	for name, mode := range map[string]os.FileMode{"key.pem": 0o600, "cert.pem": 0o644, "ca.pem": 0o644, "node-id": 0o644} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s: %v, %v; want mode %v", name, fi, err, mode)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "ca.pem")); string(b) != string(s.ca.PEM) {
		t.Error("ca.pem is not the cluster CA")
	}

	fa := newFakeAgent()
	fa.id = cred.NodeID
	fa.set("i1", instance.StateRunning, 0)
	fa.set("i2", instance.StateRunning, 0)
	cfg.Agent = fa
	stop, _ := run(t, cfg, cred)

	hello := s.next(t, remote.TypeHello).Hello
	if hello.NodeID != cred.NodeID || hello.Name != "Web1" || hello.Labels["zone"] != "a" || hello.AdvertiseAddr != "10.0.0.9" ||
		hello.Version != "v-test" || hello.Info.ID != cred.NodeID || hello.Info.Driver.Allocatable.MemoryMB != 1024 {
		t.Errorf("hello %+v", hello)
	}
	ss := s.session(t)
	s.next(t, remote.TypeHeartbeat)

	// The server's calls reach the agent.
	ctx := context.Background()
	if info, err := ss.client.Info(ctx); err != nil || info.ID != cred.NodeID {
		t.Fatalf("Info over the session: %+v, %v", info, err)
	}
	if _, err := ss.client.StartInstance(ctx, instance.Spec{ID: "i3"}); err != nil {
		t.Fatal(err)
	}
	// What the server asks for is no news; what happens behind its back is.
	if err := ss.client.PauseInstance(ctx, "i3"); err != nil {
		t.Fatal(err)
	}
	if err := ss.client.StopInstance(ctx, "i1"); err != nil {
		t.Fatal(err)
	}
	fa.set("i2", instance.StateExited, 137)
	ev := s.next(t, remote.TypeEvent).Event
	if ev.InstanceID != "i2" || ev.State != instance.StateExited || ev.ExitCode != 137 || ev.Function != "fn" {
		t.Errorf("event %+v, want i2 exited 137", ev)
	}
	fa.remove("i2")
	if ev := s.next(t, remote.TypeEvent).Event; ev.InstanceID != "i2" || ev.Reason != remote.ReasonGone {
		t.Errorf("event %+v, want i2 gone", ev)
	}
	fa.set("i3", instance.StateRunning, 0)
	if ev := s.next(t, remote.TypeEvent).Event; ev.InstanceID != "i3" || ev.State != instance.StateRunning {
		t.Errorf("event %+v, want i3 running (resumed behind the server's back)", ev)
	}

	// The server drops the session: the agent comes back on its own.
	ss.sess.Close()
	if again := s.next(t, remote.TypeHello).Hello; again.NodeID != cred.NodeID {
		t.Errorf("hello after reconnecting: %+v", again)
	}
	ss = s.session(t)
	if all, err := ss.client.Instances(ctx); err != nil || len(all) != 1 {
		t.Errorf("Instances over the new session: %+v, %v", all, err)
	}

	if err := stop(); err != nil {
		t.Fatalf("Run after its ctx ended: %v", err)
	}
	// Stopping leaves the instances alone.
	if all, _ := fa.Instances(ctx); len(all) != 1 {
		t.Errorf("instances after the agent stopped: %+v", all)
	}
	select {
	case <-ss.sess.CloseChan():
	case <-time.After(5 * time.Second):
		t.Error("the session outlived the agent")
	}
}

func TestJoinSkippedWhenJoined(t *testing.T) {
	s := newClusterServer(t)
	cfg := config(t, s, t.TempDir())
	first, err := daemon.Join(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.JoinToken = "" // expired long ago, or not given at all
	again, err := daemon.Join(context.Background(), cfg)
	if err != nil || again.NodeID != first.NodeID {
		t.Fatalf("second Join: %+v, %v", again, err)
	}
	if n := s.joins.Load(); n != 1 {
		t.Errorf("%d joins, want 1", n)
	}
}

func TestJoinRefusals(t *testing.T) {
	s := newClusterServer(t)
	other, err := remotetest.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	wrongSecret := s.token
	wrongSecret.Secret = strings.Repeat("0", 64)
	wrongPin := s.token
	wrongPin.CAPin = other.Pin()

	for _, tc := range []struct {
		name    string
		token   string
		url     string
		expired bool
		is      error
		want    string
		network bool // whether the agent may have talked to the server
	}{
		{name: "no token", is: daemon.ErrNoJoinToken},
		{name: "malformed", token: "hjt_abc", is: remote.ErrMalformedToken, want: "got 1 part(s)"},
		{name: "truncated pin", token: s.token.String()[:len(s.token.String())-3], is: remote.ErrMalformedToken, want: "ca pin must be 64"},
		{name: "not https", token: s.token.String(), url: strings.Replace(s.url(), "https", "http", 1), is: daemon.ErrBadServerURL},
		{name: "no port", token: s.token.String(), url: "https://127.0.0.1", is: daemon.ErrBadServerURL, want: "no port"},
		{name: "wrong pin", token: wrongPin.String(), is: remote.ErrPinMismatch, want: "was the token made on this server?", network: true},
		{name: "unknown", token: wrongSecret.String(), is: daemon.ErrJoinRefused,
			want: "join token " + s.token.ID + " is unknown; make a new one with `hearth node token create` (join_token_invalid)", network: true},
		{name: "expired", token: s.token.String(), expired: true, is: daemon.ErrJoinRefused,
			want: "expired at 2026-12-01T10:00:00Z (join_token_expired)", network: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "agent")
			cfg := config(t, s, dir)
			cfg.JoinToken = tc.token
			if tc.url != "" {
				cfg.ServerURL = tc.url
			}
			s.expired.Store(tc.expired)
			conns, joins := s.conns.Load(), s.joins.Load()
			_, err := daemon.Join(context.Background(), cfg)
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Join: %v; want %v saying %q", err, tc.is, tc.want)
			}
			if !tc.network && s.conns.Load() != conns {
				t.Error("the agent dialled the server with a token or URL it could have refused first")
			}
			if tc.is == remote.ErrPinMismatch && s.joins.Load() != joins {
				t.Error("the token reached a server whose CA is not the pinned one")
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a refused join left %s behind (%v)", dir, err)
			}
		})
	}
}

func TestRemovedNodeEndsRun(t *testing.T) {
	s := newClusterServer(t)
	cfg := config(t, s, t.TempDir())
	cred, err := daemon.Join(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	fa := newFakeAgent()
	cfg.Agent = fa
	_, done := run(t, cfg, cred)
	ss := s.session(t)
	s.remove(cred.NodeID)
	ss.sess.Close()
	select {
	case err := <-done:
		if !errors.Is(err, daemon.ErrNodeRemoved) ||
			!strings.Contains(err.Error(), "node "+cred.NodeID+" was removed or never joined") ||
			!strings.Contains(err.Error(), filepath.Join(cfg.DataDir, "node-id")) {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run goes on for a node the server removed")
	}
}

func TestRunRetriesUntilTheServerIsBack(t *testing.T) {
	s := newClusterServer(t)
	cfg := config(t, s, t.TempDir())
	cred, err := daemon.Join(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	// A server that is not up yet: nobody listens at the address for a while.
	cfg.Agent = newFakeAgent()
	addr := strings.TrimPrefix(s.url(), "https://")
	s.srv.Listener.Close()
	stop, _ := run(t, cfg, cred)
	time.Sleep(100 * time.Millisecond)
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("cannot listen at %s again: %v", addr, err)
	}
	s.srv.Listener = l
	go s.srv.Config.Serve(tls.NewListener(l, s.srv.TLS)) //nolint:errcheck // ends with the test
	s.next(t, remote.TypeHello)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func TestLoadCredentialsDamaged(t *testing.T) {
	dir := t.TempDir()
	if _, err := daemon.LoadCredentials(dir); !errors.Is(err, daemon.ErrNotJoined) {
		t.Fatalf("an empty directory: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "node-id"), []byte("n1\n"), 0o644)                 //nolint:errcheck // checked by the load
	os.WriteFile(filepath.Join(dir, "cert.pem"), []byte("not a certificate\n"), 0o644) //nolint:errcheck // checked by the load
	if _, err := daemon.LoadCredentials(dir); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("a node id without a key: %v", err)
	}
}

func TestLoadCredentialsOfAServerDataDir(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "node-id"), []byte("server-1234\n"), 0o644) //nolint:errcheck // checked by the load
	if _, err := daemon.LoadCredentials(dir); err == nil || !strings.Contains(err.Error(), "server's data directory") {
		t.Fatalf("a server's data directory: %v", err)
	}
}
