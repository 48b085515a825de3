package pool

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hearthfn/hearth/agent"
	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/keepalive"
	"github.com/hearthfn/hearth/scheduler/placer"
)

// Node is the slice of agent.Agent the pool drives.
type Node interface {
	Info(ctx context.Context) (agent.NodeInfo, error)
	StartInstance(ctx context.Context, spec instance.Spec) (instance.Instance, error)
	PauseInstance(ctx context.Context, id string) error
	ResumeInstance(ctx context.Context, id string) error
	StopInstance(ctx context.Context, id string) error
	Instances(ctx context.Context) ([]instance.Status, error)
}

// Config tunes the pool. Zero fields take the defaults of DefaultConfig.
type Config struct {
	// StartTimeout bounds one instance start, image check to ready.
	StartTimeout time.Duration
	// StopTimeout bounds one instance stop; PauseTimeout one pause or resume.
	StopTimeout  time.Duration
	PauseTimeout time.Duration
	// ReapInterval is how often Reap runs: it visits only the functions whose upkeep is due by
	// then (due.go), so a short interval costs nothing per idle function.
	ReapInterval time.Duration
	// HealthInterval is how often every node is asked which instances still run, so that one
	// that died (killed, out of memory) while idle is replaced before a call finds it.
	HealthInterval time.Duration
	// Capacity, when a field is non-zero, caps what instances may reserve on each node; zero
	// fields take the node's allocatable resources.
	Capacity instance.Resources
	// KeepOnShutdown makes Run leave every instance running when its context ends
	// (Shutdown(true)), so that the next server start adopts them; false stops them all.
	KeepOnShutdown bool
	// Now is the clock; tests inject their own.
	Now func() time.Time
	// OnStopped, when set, is called (outside the pool's lock) after an instance has left
	// service, so that the router can drop its connections to it.
	OnStopped func(instanceID string)
	// OnStarted, when set, is called (outside the pool's lock) once an instance has started and
	// answered its ready check, before it takes a call, so that its output can be followed.
	OnStarted func(function, instanceID string)
	// OnPaused and OnResumed, when set, are called (outside the pool's lock) once an instance
	// has been paused, and once it has been resumed, so that its output is not followed while
	// it cannot write (scheduler/logs).
	OnPaused  func(instanceID string)
	OnResumed func(instanceID string)
	// Observer, when set, hears cold starts.
	Observer Observer
	// Secrets, when set, gives every instance start its function's secret values (secrets.go).
	Secrets SecretsFunc
	// FixedKeepAlive turns the learned keep-alive off (keepalive.go): every function's idle
	// instances follow its idle_timeout and pause_timeout alone. KeepAlive tunes the learning.
	FixedKeepAlive bool
	KeepAlive      keepalive.Config
	// PreparedPerNode caps the instances prepared ahead on each node (prepare.go): those of the
	// functions called most recently are kept. Zero takes the default, 32; negative prepares none.
	PreparedPerNode int
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{StartTimeout: 2 * time.Minute, StopTimeout: 30 * time.Second, PauseTimeout: 10 * time.Second,
		ReapInterval: 250 * time.Millisecond, HealthInterval: 2 * time.Second, Now: time.Now, PreparedPerNode: 32}
}

// Pool owns the instances of every function, on every node. It is safe for concurrent use.
type Pool struct {
	log *slog.Logger
	cfg Config

	// ctx bounds background work (starts, pauses); cancelled by Shutdown.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	fns    map[string]*function // guarded by mu
	nodes  map[string]*node     // guarded by mu; nodes.go
	closed bool                 // guarded by mu
	// keep is Shutdown's choice to leave instances running, starts under way included.
	keep bool // guarded by mu
	// readyGen counts instances that became ready or resumed, so that a health check can tell
	// which instances it may judge from a listing taken earlier.
	readyGen uint64 // guarded by mu
	// known holds the id of every instance the pool may have a container for, on any node:
	// from its start (or adoption) until its stop has returned (instances of removed functions
	// draining their last calls included). A listed container whose id is not in it is an
	// orphan (health.go).
	known map[string]struct{} // guarded by mu
	// expected are the nodes the start-up grace waits for, until expectUntil (grace.go).
	expected    map[string]struct{} // guarded by mu
	expectUntil time.Time           // guarded by mu
	// cost is the per-function cost accounts (cost.go).
	cost costBook // guarded by mu
	// prep is the pool's part of instances prepared ahead (prepare.go).
	prep prepareState // guarded by mu
	// due orders the functions by when their upkeep is next due, for Reap (due.go).
	due dueHeap // guarded by mu
	// waiters holds the functions with calls waiting in Acquire: what a freed room or a new node
	// may serve, found without a scan of every function.
	waiters map[*function]struct{} // guarded by mu
	// watchers are the goroutines following the nodes' instance events (watch.go).
	watchers watchers
}

// function is one function's slice of the pool. All fields are guarded by Pool.mu.
type function struct {
	name    string
	spec    api.FunctionSpec // with defaults
	version int
	image   string
	removed bool

	instances map[string]*inst
	// waiting counts calls blocked in Acquire; starts and resumes are made for them.
	waiting int
	// changed is closed (and replaced) whenever something a waiter may want happens.
	changed chan struct{}
	// failures counts failed starts and resumes; lastErr is the newest. A waiter that saw a
	// failure while nothing else is under way gives up with lastErr instead of waiting out its
	// deadline.
	failures int
	lastErr  error
	// startFailures counts the failed starts in a row; no start is tried before retryAt
	// (backoff.go).
	startFailures int
	retryAt       time.Time
	// ka is what the keep-alive policy learned of the function's calls (keepalive.go).
	ka keepAlive
	// prep is its instance prepared ahead, if any (prepare.go).
	prep *prepared
	// due is when its upkeep is next due, dueIdx its index in Pool.due (-1: not queued).
	due    time.Time
	dueIdx int
}

// New returns an empty pool with no node: AddNode gives it nodes to run instances on.
func New(cfg Config, log *slog.Logger) *Pool {
	def := DefaultConfig()
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = def.StartTimeout
	}
	if cfg.StopTimeout <= 0 {
		cfg.StopTimeout = def.StopTimeout
	}
	if cfg.PauseTimeout <= 0 {
		cfg.PauseTimeout = def.PauseTimeout
	}
	if cfg.ReapInterval <= 0 {
		cfg.ReapInterval = def.ReapInterval
	}
	if cfg.HealthInterval <= 0 {
		cfg.HealthInterval = def.HealthInterval
	}
	if cfg.Now == nil {
		cfg.Now = def.Now
	}
	if cfg.PreparedPerNode == 0 {
		cfg.PreparedPerNode = def.PreparedPerNode
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Pool{log: log, cfg: cfg, ctx: ctx, cancel: cancel, fns: map[string]*function{}, nodes: map[string]*node{},
		known: map[string]struct{}{}, waiters: map[*function]struct{}{}}
}

// Apply registers a function or moves it to a new version. When the new version runs the same
// image with the same environment and resources (a settings change such as idle_timeout), the
// warm instances carry on under it (those on nodes its constraints still allow). Otherwise older
// instances take no new calls and stop once their calls in flight are done, so a rollout fails
// no call.
func (p *Pool) Apply(fn api.Function) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := p.fns[fn.Name]
	if f == nil {
		f = &function{name: fn.Name, instances: map[string]*inst{}, changed: make(chan struct{}), dueIdx: -1}
		p.fns[fn.Name] = f
	}
	spec := fn.Version.Spec.WithDefaults()
	same := f.image == fn.Version.Image && sameInstance(f.spec, spec)
	old := f.version
	f.spec, f.image, f.version = spec, fn.Version.Image, fn.Version.Number
	if old != f.version {
		f.startSucceededLocked() // a new version may well start: try it at once
		for _, in := range f.instances {
			switch {
			case in.state == stateDraining:
			case same && in.version == old && labelsMatch(in.nd.labels, constraintsOf(spec)):
				in.version = f.version
			case in.version != f.version:
				p.drainLocked(f, in)
			}
		}
	}
	p.upkeepLocked(f, p.cfg.Now())
	f.broadcast()
}

// sameInstance reports whether instances made for a can serve b unchanged.
func sameInstance(a, b api.FunctionSpec) bool {
	if a.MemoryMB != b.MemoryMB || a.CPUMilli != b.CPUMilli || len(a.Env) != len(b.Env) || secretsMode(a) != secretsMode(b) ||
		!sameSecurity(securityOf(a), securityOf(b)) {
		return false
	}
	for k, v := range a.Env {
		if w, ok := b.Env[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// Remove forgets a function: its instances stop once their calls in flight are done, and calls
// waiting for it fail with ErrUnknownFunction.
func (p *Pool) Remove(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := p.fns[name]
	if f == nil {
		return
	}
	delete(p.fns, name)
	p.dropCostLocked(name)
	f.removed = true
	p.unqueueLocked(f)
	p.discardPreparedLocked(f)
	for _, in := range f.instances {
		p.drainLocked(f, in)
	}
	f.broadcast()
}

// Acquire returns a lease on an instance of the function's current version. Routing, in order:
// a ready instance with a free slot (fewest calls in flight); else the call queues and the pool
// resumes a paused instance or starts a new one under max_instances, on the node the placer
// picks; else the call waits for a slot. It waits until ctx ends. Errors: ErrUnknownFunction,
// ErrQueueFull, ErrNoCapacity (no node can ever hold an instance), ErrClosed, the node's error
// when a start or resume failed, driver.ErrUnavailable while no node can take an instance
// (down, draining, disconnected, its engine unreachable: see CheckHealth) and none of the
// function's instances may free a slot, or ctx's error.
func (p *Pool) Acquire(ctx context.Context, name string) (*Lease, error) {
	begin := time.Now()
	p.mu.Lock()
	lease, err := p.acquireLocked(ctx, name)
	p.mu.Unlock()
	if err == nil && lease.cold != Warm && p.cfg.Observer != nil {
		p.cfg.Observer.ColdStart(baseName(name), lease.cold, time.Since(begin))
	}
	return lease, err
}

func (p *Pool) acquireLocked(ctx context.Context, name string) (*Lease, error) {
	var (
		waitingOn *function // the function whose waiting count includes this call
		seen      int       // its failure count when this call began to wait
	)
	stopWaiting := func() {
		if waitingOn != nil {
			if waitingOn.waiting--; waitingOn.waiting == 0 {
				delete(p.waiters, waitingOn)
			}
			waitingOn = nil
		}
	}
	for {
		if p.closed {
			stopWaiting()
			return nil, ErrClosed
		}
		f := p.fns[name]
		if f != waitingOn {
			stopWaiting()
		}
		if f == nil {
			return nil, fmt.Errorf("function %q: %w", name, ErrUnknownFunction)
		}
		if in := f.pick(); in != nil {
			cold := Warm
			if waitingOn != nil {
				cold = in.fresh
			}
			stopWaiting()
			now := p.cfg.Now()
			costTakeLocked(in, cold, now)
			in.fresh = Warm
			in.inFlight++
			in.lastUsed = now
			p.callArrivedLocked(f, now)
			return &Lease{pool: p, fn: f, inst: in, cold: cold}, nil
		}
		if err := p.unservableLocked(f); err != nil {
			// No node can take an instance now (or ever): waiting would only spend the caller's
			// acquire timeout.
			stopWaiting()
			return nil, err
		}
		if waitingOn == nil {
			if f.waiting >= f.spec.Queue {
				return nil, fmt.Errorf("function %s: %d calls are waiting already: %w", name, f.waiting, ErrQueueFull)
			}
			waitingOn, seen = f, f.failures
			if f.waiting++; f.waiting == 1 {
				p.waiters[f] = struct{}{}
			}
		} else if f.failures != seen && f.pendingCount() == 0 {
			// A start or resume failed while this call waited and nothing else is under way:
			// waiting on would only run into the deadline, so report the cause now.
			stopWaiting()
			return nil, fmt.Errorf("start an instance of %s: %w", name, f.lastErr)
		}
		p.scaleLocked(f)
		if f.backingOffLocked(p.cfg.Now()) && f.pendingCount() == 0 && f.liveCount() == 0 {
			// Starts keep failing and none is due yet: nothing will come for this call to take.
			stopWaiting()
			return nil, &BackoffError{Function: name, Failures: f.startFailures, RetryIn: f.retryAt.Sub(p.cfg.Now()), Last: f.lastErr}
		}
		changed := f.changed
		p.mu.Unlock()
		select {
		case <-changed:
			p.mu.Lock()
		case <-ctx.Done():
			p.mu.Lock()
			stopWaiting()
			return nil, ctx.Err()
		}
	}
}

// Status reports a function's instances, oldest first. ok is false for an unknown function.
func (p *Pool) Status(name string) (st api.PoolStatus, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := p.fns[name]
	if f == nil {
		return api.PoolStatus{}, false
	}
	st.Instances = []api.InstanceStatus{}
	for _, in := range f.instances {
		st.Instances = append(st.Instances, api.InstanceStatus{ID: in.id, Version: in.version, State: in.apiState(),
			Endpoint: in.endpoint, InFlight: in.inFlight, StartedAt: in.startedAt, LastUsed: in.lastUsed, PausedAt: in.pausedAt,
			Node: in.nd.id, Placement: in.placement})
	}
	sort.Slice(st.Instances, func(i, j int) bool { return st.Instances[i].StartedAt.Before(st.Instances[j].StartedAt) })
	return st, true
}

// Timeout returns a function's call timeout; ok is false for an unknown function.
func (p *Pool) Timeout(name string) (d time.Duration, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if f := p.fns[name]; f != nil {
		return f.spec.Timeout.D(), true
	}
	return 0, false
}

// Public reports whether the named function may be called without a token (func.yaml
// public), and whether the pool knows the function at all. It is on every call's path: a map
// lookup under the lock.
func (p *Pool) Public(name string) (public, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if f := p.fns[name]; f != nil {
		return f.spec.Public, true
	}
	return false, false
}

// Stats returns a snapshot of the pool for metrics.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := Stats{Functions: make([]FunctionStats, 0, len(p.fns))}
	// One node without a limit makes the pool's unlimited too.
	memLimited, cpuLimited := true, true
	for _, nd := range p.nodes {
		if nd.handle == nil || nd.state == placer.StateDown {
			continue
		}
		st.Reserved.MemoryMB += nd.reserved.MemoryMB
		st.Reserved.CPUMilli += nd.reserved.CPUMilli
		st.Capacity.MemoryMB += nd.capacity.MemoryMB
		st.Capacity.CPUMilli += nd.capacity.CPUMilli
		memLimited = memLimited && nd.capacity.MemoryMB > 0
		cpuLimited = cpuLimited && nd.capacity.CPUMilli > 0
	}
	if !memLimited {
		st.Capacity.MemoryMB = 0
	}
	if !cpuLimited {
		st.Capacity.CPUMilli = 0
	}
	byName := map[string]int{} // index in st.Functions: a function's "NAME@N" entries count as it
	for _, f := range p.fns {
		i, ok := byName[baseName(f.name)]
		if !ok {
			i = len(st.Functions)
			byName[baseName(f.name)] = i
			st.Functions = append(st.Functions, FunctionStats{Function: baseName(f.name), Instances: map[string]int{}})
		}
		fs := &st.Functions[i]
		fs.Queued += f.waiting
		for _, in := range f.instances {
			fs.Instances[in.apiState()]++
		}
	}
	sort.Slice(st.Functions, func(i, j int) bool { return st.Functions[i].Function < st.Functions[j].Function })
	return st
}

// Shutdown closes the pool (calls get ErrClosed) and waits for background work. With keep
// false it stops every instance; calls in flight lose theirs (the server drains HTTP before
// it calls this). With keep true it stops nothing: instances stay as they are, paused ones
// paused, and starts under way finish and are left running, so that the next server start
// adopts them all (adopt.go). Only the first call decides; later ones only wait.
func (p *Pool) Shutdown(keep bool) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.wg.Wait()
		return
	}
	p.closed, p.keep = true, keep
	for _, f := range p.fns {
		// Even with keep: a prepared instance is cheap to make again, and one left for the next
		// pool would only be removed by it as an orphan (prepare.go).
		p.discardPreparedLocked(f)
		for _, in := range f.instances {
			switch {
			case keep:
			case in.state == stateStarting:
				in.state = stateDraining // stopped when its start returns
			default:
				p.stopLocked(f, in)
			}
		}
		f.broadcast()
	}
	p.mu.Unlock()
	if keep {
		// Starts, pauses and resumes under way run to their end rather than being cut short:
		// a start cut short removes its container.
		p.wg.Wait()
		p.cancel()
		return
	}
	p.cancel()
	p.wg.Wait()
}

func (f *function) resources() instance.Resources {
	return instance.Resources{MemoryMB: f.spec.MemoryMB, CPUMilli: f.spec.CPUMilli}
}

func (f *function) broadcast() {
	close(f.changed)
	f.changed = make(chan struct{})
}

// instanceLocked finds an instance of the pool by id. An id the pool made reads
// "<function>-v<version>-<random>" (newInstanceID), so the function's entries are looked up by
// name ("NAME", or "NAME@version" for an older version served beside the current one); only an
// id of another shape costs a scan of every function.
func (p *Pool) instanceLocked(id string) *inst {
	if rest, _, ok := cutLast(id, "-"); ok {
		if base, version, ok := cutLast(rest, "-v"); ok {
			for _, entry := range [...]string{base, base + "@" + version} {
				if f := p.fns[entry]; f != nil && f.instances[id] != nil {
					return f.instances[id]
				}
			}
		}
	}
	for _, f := range p.fns {
		if in := f.instances[id]; in != nil {
			return in
		}
	}
	return nil
}

// cutLast is strings.Cut at the last sep.
func cutLast(s, sep string) (before, after string, found bool) {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[:i], s[i+len(sep):], true
	}
	return s, "", false
}
