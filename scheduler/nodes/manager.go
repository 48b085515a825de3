package nodes

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/hearthfn/hearth/agent"
	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/remote"
	"github.com/hearthfn/hearth/scheduler/store"

	"github.com/hashicorp/yamux"
)

// Pool is the instance pool as the node registry tells it about nodes; scheduler/pool
// implements it. The Manager calls it in the order the nodes' states change, never holding its
// own lock, and one call at a time: its methods should return quickly (start I/O in the
// background) and must not call back into the Manager.
type Pool interface {
	// AddNode gives the pool a node that connected (again): n reaches its agent, labels are
	// its labels for placement. A remote node's n is an agent.Watcher of the instance events
	// its agent sends on the session (events.go); a local node's is what AddLocal was given.
	AddNode(id string, n agent.Agent, labels map[string]string)
	// DrainNode stops (or resumes) placements on a node.
	DrainNode(id string, drain bool)
	// NodeDisconnected says the node's session ended: its instances keep serving, nothing
	// new goes there until it connects again or is lost.
	NodeDisconnected(id string)
	// NodeLost says the node missed its heartbeats past the node timeout: its instances are
	// gone from the pool's point of view.
	NodeLost(id string, reason error)
	// RemoveNode says an admin removed the node.
	RemoveNode(id string)
}

// Store is what the Manager keeps: nodes and join tokens.
type Store interface {
	store.NodeStore
	store.JoinTokenStore
}

// Config tunes a Manager. Zero fields take defaults.
type Config struct {
	// DataDir is the server's data directory; the PKI lives in DataDir/cluster. Required.
	DataDir string
	// Hosts are the names and addresses agents dial the cluster listener at (its host, and
	// --cluster-advertise hosts): the listener's certificate names them. See LoadPKI.
	Hosts []string
	// NodeTimeout is how long a node may send no heartbeat before it is down (default 15 s).
	NodeTimeout time.Duration
	// HeartbeatInterval is how often agents send a heartbeat, told to them in the welcome
	// (default 2 s).
	HeartbeatInterval time.Duration
	// HandshakeTimeout bounds a connect's hello and welcome (default 10 s).
	HandshakeTimeout time.Duration
	// TouchEvery is how often the times nodes were last seen are written to the store
	// (default 10 s).
	TouchEvery time.Duration
	// Now is the clock; tests inject their own.
	Now func() time.Time
}

func (c *Config) defaults() {
	if c.NodeTimeout <= 0 {
		c.NodeTimeout = 15 * time.Second
	}
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = 2 * time.Second
	}
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = 10 * time.Second
	}
	if c.TouchEvery <= 0 {
		c.TouchEvery = 10 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// State is a node's state as the Manager sees it.
type State string

// Node states; see the package documentation for how a node moves between them.
const (
	Ready        State = "ready"
	Draining     State = "draining"
	Disconnected State = "disconnected"
	Down         State = "down"
)

// NodeView is a node as List reports it.
type NodeView struct {
	ID   string
	Name string
	// State is the node's state; Drained says an admin drained it, which persists while it is
	// disconnected or down.
	State   State
	Drained bool
	// Local is the server's in-process node (AddLocal).
	Local bool
	// Connected: the agent has a session (always true of a local node).
	Connected bool
	// Labels are the node's labels: its join token's, with the agent's --label for names the
	// token does not set.
	Labels        map[string]string
	AdvertiseAddr string
	// Version is the agent's hearth version, from its hello.
	Version  string
	JoinedAt time.Time
	// LastSeen is when the node was last heard from; zero for one not heard from since it
	// joined (or for a local node).
	LastSeen time.Time
	// Driver is the node's driver: name, version, capabilities and what it can allocate,
	// without its image list (Images counts it). Zero until the node has said.
	Driver driver.Fingerprint
	Images int
	// Problem says why the node is down.
	Problem string
}

// Manager is the registry of the cluster's nodes: it admits agents (Join), holds their
// sessions (Serve), follows their heartbeats and tells the pool what changes. It is safe for
// concurrent use.
type Manager struct {
	cfg   Config
	store Store
	pool  Pool
	pki   *PKI
	log   *slog.Logger
	// newClient makes the agent.Agent of a session; tests replace it.
	newClient func(sess *yamux.Session, id string) agent.Agent

	// membership serialises a connect's update of a node's record with Remove, so that a
	// connect racing a remove cannot store the node again.
	membership sync.Mutex

	mu        sync.Mutex
	nodes     map[string]*entry // guarded by mu
	pending   []func(Pool)      // pool calls not made yet, in order; guarded by mu
	closing   bool              // Serve is ending: sessions close without telling the pool; guarded by mu
	lastTouch time.Time         // guarded by mu

	tellMu sync.Mutex // held by the goroutine making the pending pool calls
	wg     sync.WaitGroup
}

// entry is one node's state. Its session fields change only under Manager.mu.
type entry struct {
	rec   store.NodeRecord // as stored; Labels are the join token's
	local bool

	agent agent.Agent // nil until the node connected once since the server started
	sess  io.Closer   // the session; nil while not connected
	// events are the session's instance events, which the pool follows (events.go); nil
	// while not connected.
	events  *sessionEvents
	gen     uint64 // bumped by every new session and every close the Manager makes
	added   bool   // the pool was given the node (AddNode) since the server started
	down    bool
	problem string

	helloLabels map[string]string
	version     string
	info        agent.NodeInfo

	deadlineFrom time.Time // the timeout runs from here: last heartbeat, connect, join or start
	seen         time.Time // last heard from the node
	storedSeen   time.Time // seen as last written to the store
}

// New loads the PKI (making it at first start) and the stored nodes, which are disconnected
// until their agents connect. Serve must run for agents to join and connect.
func New(ctx context.Context, cfg Config, st Store, pool Pool, log *slog.Logger) (*Manager, error) {
	cfg.defaults()
	if cfg.DataDir == "" {
		return nil, errors.New("nodes: Config.DataDir is required")
	}
	pki, err := LoadPKI(filepath.Join(cfg.DataDir, "cluster"), cfg.Hosts, cfg.Now)
	if err != nil {
		return nil, err
	}
	recs, err := st.ListNodes(ctx)
	if err != nil {
		return nil, fmt.Errorf("read nodes: %w", err)
	}
	m := &Manager{cfg: cfg, store: st, pool: pool, pki: pki, log: log, nodes: map[string]*entry{}}
	m.newClient = func(sess *yamux.Session, id string) agent.Agent { return remote.NewClient(sess, id) }
	now := cfg.Now()
	for _, r := range recs {
		m.nodes[r.ID] = &entry{rec: r, deadlineFrom: now, seen: r.LastSeen, storedSeen: r.LastSeen}
	}
	return m, nil
}

// PKI returns the cluster's PKI (its pin is in every join token).
func (m *Manager) PKI() *PKI { return m.pki }

// AddLocal registers the server's in-process node (--dev, --driver nomad) and gives it to the
// pool: it is always connected, never times out, is not stored and cannot be removed. An admin
// may drain it (until the server restarts).
func (m *Manager) AddLocal(id string, a agent.Agent, labels map[string]string) error {
	m.mu.Lock()
	if _, ok := m.nodes[id]; ok {
		m.mu.Unlock()
		return fmt.Errorf("node %s is registered already", id)
	}
	labels = maps.Clone(labels)
	m.nodes[id] = &entry{local: true, agent: a, added: true,
		rec: store.NodeRecord{ID: id, Name: id, Labels: labels, State: store.NodeReady, JoinedAt: m.cfg.Now().UTC()}}
	m.pending = append(m.pending, func(p Pool) { p.AddNode(id, a, maps.Clone(labels)) })
	m.mu.Unlock()
	m.tell()
	return nil
}

// Agent returns the agent of a node, to reach it outside the pool (its instances' logs). A
// node that is not connected has one only if it connected since the server started, and its
// calls fail with driver.ErrUnavailable until it connects again.
func (m *Manager) Agent(id string) (agent.Agent, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.nodes[id]
	if !ok || e.agent == nil {
		return nil, false
	}
	return e.agent, true
}

// List returns every node, sorted by id. It asks local nodes for their driver's fingerprint
// (bounded by ctx and 2 s); remote nodes' come from their heartbeats.
func (m *Manager) List(ctx context.Context) []NodeView {
	m.mu.Lock()
	out := make([]NodeView, 0, len(m.nodes))
	locals := map[int]agent.Agent{} // by index in out
	for _, e := range m.nodes {
		if e.local {
			locals[len(out)] = e.agent
		}
		out = append(out, e.view())
	}
	m.mu.Unlock()
	for i, a := range locals {
		m.fillLocal(ctx, &out[i], a)
	}
	slices.SortFunc(out, func(a, b NodeView) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// Get returns one node. Errors: store.ErrNotFound.
func (m *Manager) Get(ctx context.Context, id string) (NodeView, error) {
	m.mu.Lock()
	e, ok := m.nodes[id]
	if !ok {
		m.mu.Unlock()
		return NodeView{}, notFound(id)
	}
	v, a := e.view(), e.agent
	m.mu.Unlock()
	if v.Local {
		m.fillLocal(ctx, &v, a)
	}
	return v, nil
}

func (m *Manager) fillLocal(ctx context.Context, v *NodeView, a agent.Agent) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	info, err := a.Info(ctx)
	if err != nil {
		v.Problem = err.Error()
		return
	}
	v.Driver, v.Images = info.Driver, len(info.Driver.Images)
	v.Driver.Images = nil
}

func notFound(id string) error {
	return fmt.Errorf("node %q: %w", id, store.ErrNotFound)
}

// view returns e as List reports it; the caller holds mu.
func (e *entry) view() NodeView {
	v := NodeView{ID: e.rec.ID, Name: e.rec.Name, State: e.state(), Drained: e.rec.State == store.NodeDraining,
		Local: e.local, Connected: e.local || e.sess != nil, Labels: e.labels(), AdvertiseAddr: e.rec.AdvertiseAddr,
		Version: e.version, JoinedAt: e.rec.JoinedAt, LastSeen: e.seen, Driver: e.info.Driver,
		Images: len(e.info.Driver.Images), Problem: e.problem}
	v.Driver.Images = nil
	return v
}

// state derives the node's state; the caller holds mu.
//
//	       join / server start
//	               │
//	               ▼
//	 ┌──────── disconnected ◄────── session ends ───────┐
//	 │ no heartbeat    │ connect (hello)                │
//	 │ for NodeTimeout ▼                                │
//	 │               ready ◄── undrain ──► draining ────┤
//	 ▼                 │                                │
//	down ◄─────────────┴── no heartbeat for NodeTimeout ┘
//	 │                     (the session is closed)
//	 └── connect (hello) ──► ready or draining
//
// Remove deletes the node from any state; a local node is ready or draining, always.
func (e *entry) state() State {
	switch {
	case !e.local && e.down:
		return Down
	case !e.local && e.sess == nil:
		return Disconnected
	case e.rec.State == store.NodeDraining:
		return Draining
	}
	return Ready
}

// labels returns the node's labels: the join token's win over the agent's.
func (e *entry) labels() map[string]string {
	if len(e.helloLabels) == 0 && len(e.rec.Labels) == 0 {
		return nil
	}
	out := maps.Clone(e.helloLabels)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, e.rec.Labels)
	return out
}

// Drain stops (drain true) or resumes placements on a node and returns it as it now is. The
// state is stored, so it survives server restarts (but a local node's does not). Errors:
// store.ErrNotFound.
func (m *Manager) Drain(ctx context.Context, id string, drain bool) (NodeView, error) {
	st := store.NodeReady
	if drain {
		st = store.NodeDraining
	}
	m.mu.Lock()
	e, ok := m.nodes[id]
	local := ok && e.local
	m.mu.Unlock()
	if !ok {
		return NodeView{}, notFound(id)
	}
	if !local {
		if err := m.store.SetNodeState(ctx, id, st); err != nil {
			return NodeView{}, err
		}
	}
	m.mu.Lock()
	e, ok = m.nodes[id]
	if !ok { // removed meanwhile
		m.mu.Unlock()
		return NodeView{}, notFound(id)
	}
	changed := e.rec.State != st
	e.rec.State = st
	if changed && e.added {
		m.pending = append(m.pending, func(p Pool) { p.DrainNode(id, drain) })
	}
	v := e.view()
	m.mu.Unlock()
	m.tell()
	if changed {
		m.log.Info("node drain changed", "node", id, "drain", drain)
	}
	return v, nil
}

// Remove deletes a node: its certificate stops working (a connect is refused), its session is
// closed and the pool forgets it. The agent must join again with a new token to come back.
// Errors: store.ErrNotFound, ErrLocalNode.
func (m *Manager) Remove(ctx context.Context, id string) error {
	m.mu.Lock()
	e, ok := m.nodes[id]
	local := ok && e.local
	m.mu.Unlock()
	if local {
		return errorf(ErrLocalNode, "node %s is this server's own node (--dev or --driver); it cannot be removed, only drained", id)
	}
	m.membership.Lock()
	defer m.membership.Unlock()
	if err := m.store.DeleteNode(ctx, id); err != nil {
		return err
	}
	m.mu.Lock()
	var sess io.Closer
	var events *sessionEvents
	if e, ok := m.nodes[id]; ok {
		delete(m.nodes, id)
		sess, events = e.sess, e.events
		e.sess, e.events = nil, nil
		e.gen++
		if e.added {
			m.pending = append(m.pending, func(p Pool) { p.RemoveNode(id) })
		}
	}
	m.mu.Unlock()
	if sess != nil {
		sess.Close()
	}
	m.tell()
	if events != nil {
		events.end() // after RemoveNode
	}
	m.log.Info("node removed", "node", id)
	return nil
}

// tell makes the pending pool calls, in order. Whoever queued calls calls it after releasing
// mu: it returns once its calls were made, by itself or by the goroutine that was making calls
// when it came.
func (m *Manager) tell() {
	m.tellMu.Lock()
	defer m.tellMu.Unlock()
	for {
		m.mu.Lock()
		calls := m.pending
		m.pending = nil
		m.mu.Unlock()
		if len(calls) == 0 {
			return
		}
		for _, call := range calls {
			call(m.pool)
		}
	}
}
