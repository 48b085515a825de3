package nodes

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthfn/hearth/agent"
	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/scheduler/store/sqlstore"
)

// fakePool records the calls the Manager makes, as lines such as "add n1 zone=a".
type fakePool struct {
	mu     sync.Mutex
	calls  []string
	agents map[string]agent.Agent
}

func newFakePool() *fakePool {
	return &fakePool{agents: map[string]agent.Agent{}}
}

func (p *fakePool) record(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, fmt.Sprintf(format, args...))
}

func (p *fakePool) AddNode(id string, n agent.Agent, labels map[string]string) {
	p.mu.Lock()
	p.agents[id] = n
	p.mu.Unlock()
	var kv []string
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		kv = append(kv, k+"="+labels[k])
	}
	p.record("add %s %s", id, strings.Join(kv, ","))
}
func (p *fakePool) DrainNode(id string, drain bool)  { p.record("drain %s %v", id, drain) }
func (p *fakePool) NodeDisconnected(id string)       { p.record("disconnected %s", id) }
func (p *fakePool) NodeLost(id string, reason error) { p.record("lost %s", id) }
func (p *fakePool) RemoveNode(id string)             { p.record("remove %s", id) }

// watch follows the instance events of the handle the pool was last given for node id, as the
// pool would, until the test ends: they arrive on events, and what WatchInstances returned on
// ended.
func (p *fakePool) watch(t *testing.T, id string) (events <-chan instance.Event, ended <-chan error) {
	t.Helper()
	w, ok := p.agent(id).(agent.Watcher)
	if !ok {
		t.Fatalf("the pool's handle of node %s (%T) is not an agent.Watcher", id, p.agent(id))
	}
	evs, end := make(chan instance.Event, 100), make(chan error, 1)
	go func() { end <- w.WatchInstances(t.Context(), func(ev instance.Event) { evs <- ev }) }()
	return evs, end
}

// nextEvent returns the next event of a watch, failing after 10 s.
func nextEvent(t *testing.T, events <-chan instance.Event) instance.Event {
	t.Helper()
	select {
	case ev := <-events:
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no instance event within 10 s")
		return instance.Event{}
	}
}

// take returns the calls recorded since the last take.
func (p *fakePool) take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.calls
	p.calls = nil
	return out
}

func (p *fakePool) agent(id string) agent.Agent {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.agents[id]
}

// clock is a fake clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

// newClock starts at the real time: certificates the PKI makes on it must be valid for TLS.
func newClock() *clock { return &clock{now: time.Now().UTC().Truncate(time.Second)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// fakeSession is a session the Manager may close.
type fakeSession struct {
	mu     sync.Mutex
	closed bool
}

func (s *fakeSession) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

func (s *fakeSession) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// fakeAgent answers Info with its fingerprint and Instances with nothing.
type fakeAgent struct {
	id string
	fp driver.Fingerprint
}

func (a *fakeAgent) Info(ctx context.Context) (agent.NodeInfo, error) {
	return agent.NodeInfo{ID: a.id, Driver: a.fp}, nil
}
func (a *fakeAgent) StartInstance(ctx context.Context, spec instance.Spec) (instance.Instance, error) {
	return instance.Instance{}, driver.ErrNotSupported
}
func (a *fakeAgent) PauseInstance(ctx context.Context, id string) error {
	return driver.ErrNotSupported
}
func (a *fakeAgent) ResumeInstance(ctx context.Context, id string) error {
	return driver.ErrNotSupported
}
func (a *fakeAgent) StopInstance(ctx context.Context, id string) error { return nil }
func (a *fakeAgent) Instances(ctx context.Context) ([]instance.Status, error) {
	return []instance.Status{}, nil
}
func (a *fakeAgent) Logs(ctx context.Context, id string, opts driver.LogOptions) (io.ReadCloser, error) {
	return io.NopCloser(strings.NewReader("hello from " + id + "\n")), nil
}

var _ agent.Agent = (*fakeAgent)(nil)

// env is a Manager on a fresh SQLite store, a fake pool and a fake clock.
type env struct {
	m     *Manager
	st    *sqlstore.Store
	pool  *fakePool
	clock *clock
	dir   string
}

func newEnv(t *testing.T, tune ...func(*Config)) *env {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlstore.Open(t.Context(), filepath.Join(dir, "hearth.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return newEnvOn(t, dir, st, tune...)
}

// newEnvOn starts a Manager on the data directory and store of an earlier one, as a restarted
// server would.
func newEnvOn(t *testing.T, dir string, st *sqlstore.Store, tune ...func(*Config)) *env {
	t.Helper()
	c := newClock()
	p := newFakePool()
	cfg := Config{DataDir: dir, Hosts: []string{"127.0.0.1"}, Now: c.Now, NodeTimeout: 15 * time.Second}
	for _, f := range tune {
		f(&cfg)
	}
	m, err := New(t.Context(), cfg, st, p, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	return &env{m: m, st: st, pool: p, clock: c, dir: dir}
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
