package pool

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/runtimes/contract"
)

// Node is the slice of agent.Agent the pool drives.
type Node interface {
	StartInstance(ctx context.Context, spec instance.Spec) (instance.Instance, error)
	StopInstance(ctx context.Context, id string) error
}

// Config tunes the pool. Zero fields take the defaults of DefaultConfig.
type Config struct {
	// StartTimeout bounds one instance start, image check to ready.
	StartTimeout time.Duration
	// StopTimeout bounds one instance stop.
	StopTimeout time.Duration
	// ReapInterval is how often idle instances are looked for.
	ReapInterval time.Duration
	// Now is the clock; tests inject their own.
	Now func() time.Time
	// OnStopped, when set, is called (outside the pool's lock) after an instance has left
	// service, so that the router can drop its connections to it.
	OnStopped func(instanceID string)
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{StartTimeout: 2 * time.Minute, StopTimeout: 30 * time.Second, ReapInterval: time.Second, Now: time.Now}
}

// Pool owns the instances of every function. It is safe for concurrent use.
type Pool struct {
	node Node
	log  *slog.Logger
	cfg  Config

	// ctx bounds background work (starts, stops); cancelled by Shutdown.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	fns    map[string]*function // guarded by mu
	closed bool                 // guarded by mu
}

// function is one function's slice of the pool. All fields are guarded by Pool.mu.
type function struct {
	name    string
	spec    api.FunctionSpec // with defaults
	version int
	image   string
	removed bool

	instances map[string]*inst
	// waiting counts calls blocked in Acquire; starts are made for them.
	waiting int
	// changed is closed (and replaced) whenever something a waiter may want happens.
	changed chan struct{}
	// failures counts failed starts; lastErr is the newest. A waiter that saw a failure while
	// nothing else is starting gives up with lastErr instead of waiting for its deadline.
	failures int
	lastErr  error
}

type state string

const (
	stateStarting state = "starting"
	stateReady    state = "ready"
	stateDraining state = "draining"
)

// inst is one instance. Fields are guarded by Pool.mu.
type inst struct {
	id        string
	version   int
	endpoint  string
	state     state
	inFlight  int
	startedAt time.Time
	lastUsed  time.Time
}

// New returns an empty pool that starts and stops instances through node.
func New(node Node, cfg Config, log *slog.Logger) *Pool {
	def := DefaultConfig()
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = def.StartTimeout
	}
	if cfg.StopTimeout <= 0 {
		cfg.StopTimeout = def.StopTimeout
	}
	if cfg.ReapInterval <= 0 {
		cfg.ReapInterval = def.ReapInterval
	}
	if cfg.Now == nil {
		cfg.Now = def.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Pool{node: node, log: log, cfg: cfg, ctx: ctx, cancel: cancel, fns: map[string]*function{}}
}

// Apply registers a function or moves it to a new version. Instances of older versions take no
// new calls and stop once their calls in flight are done, so a rollout fails no call.
func (p *Pool) Apply(fn api.Function) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := p.fns[fn.Name]
	if f == nil {
		f = &function{name: fn.Name, instances: map[string]*inst{}, changed: make(chan struct{})}
		p.fns[fn.Name] = f
	}
	f.spec = fn.Version.Spec.WithDefaults()
	f.image = fn.Version.Image
	if f.version != fn.Version.Number {
		f.version = fn.Version.Number
		for _, in := range f.instances {
			if in.version != f.version {
				p.drainLocked(f, in)
			}
		}
	}
	p.fillMinLocked(f)
	f.broadcast()
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
	f.removed = true
	for _, in := range f.instances {
		p.drainLocked(f, in)
	}
	f.broadcast()
}

// Acquire returns a lease on an instance of the function's current version, starting one when
// none has a free slot. It waits until ctx ends; errors: ErrUnknownFunction, ErrClosed, the
// node's error when starting failed, or ctx's error.
func (p *Pool) Acquire(ctx context.Context, name string) (*Lease, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var (
		waitingOn *function // the function whose waiting count includes this call
		seen      int       // its failure count when this call began to wait
	)
	stopWaiting := func() {
		if waitingOn != nil {
			waitingOn.waiting--
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
			stopWaiting()
			in.inFlight++
			in.lastUsed = p.cfg.Now()
			return &Lease{pool: p, fn: f, inst: in}, nil
		}
		if waitingOn == nil {
			waitingOn, seen = f, f.failures
			f.waiting++
		} else if f.failures != seen && f.startingCount() == 0 {
			// A start failed while this call waited and no other start is under way: waiting
			// on would only run into the deadline, so report the cause now.
			stopWaiting()
			return nil, fmt.Errorf("start an instance of %s: %w", name, f.lastErr)
		}
		p.scaleForWaitersLocked(f)
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

// scaleForWaitersLocked starts instances until those starting can take every waiting call, or
// the function is at max_instances.
func (p *Pool) scaleForWaitersLocked(f *function) {
	for f.startingCount()*f.spec.Concurrency < f.waiting && f.liveCount() < f.spec.MaxInstances {
		p.startLocked(f)
	}
}

// fillMinLocked starts instances until min_instances are live.
func (p *Pool) fillMinLocked(f *function) {
	for f.liveCount() < f.spec.MinInstances {
		p.startLocked(f)
	}
}

func (p *Pool) startLocked(f *function) {
	in := &inst{id: newInstanceID(f.name, f.version), version: f.version, state: stateStarting, startedAt: p.cfg.Now()}
	f.instances[in.id] = in
	spec := instance.Spec{
		ID:        in.id,
		Function:  f.name,
		Version:   f.version,
		Image:     f.image,
		Env:       f.spec.Env,
		Port:      contract.DefaultPort,
		Resources: instance.Resources{MemoryMB: f.spec.MemoryMB, CPUMilli: f.spec.CPUMilli},
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.start(f, in, spec)
	}()
}

func (p *Pool) start(f *function, in *inst, spec instance.Spec) {
	ctx, cancel := context.WithTimeout(p.ctx, p.cfg.StartTimeout)
	defer cancel()
	begin := time.Now()
	started, err := p.node.StartInstance(ctx, spec)
	p.mu.Lock()
	defer p.mu.Unlock()
	defer f.broadcast()
	if err != nil {
		delete(f.instances, in.id)
		f.failures++
		f.lastErr = err
		p.log.Error("instance failed to start", "function", f.name, "instance", in.id, "error", err)
		return
	}
	p.log.Info("instance ready", "function", f.name, "instance", in.id, "version", in.version,
		"endpoint", started.Endpoint, "took", time.Since(begin).Round(time.Millisecond))
	in.endpoint = started.Endpoint
	in.startedAt = p.cfg.Now()
	in.lastUsed = in.startedAt
	if in.state == stateDraining || p.closed {
		p.stopLocked(f, in)
		return
	}
	in.state = stateReady
}

func (p *Pool) release(f *function, in *inst, o Outcome) {
	p.mu.Lock()
	defer p.mu.Unlock()
	in.inFlight--
	in.lastUsed = p.cfg.Now()
	switch {
	case o != OutcomeOK:
		p.log.Warn("replacing instance", "function", f.name, "instance", in.id, "outcome", o.String())
		p.stopLocked(f, in)
	case in.state == stateDraining && in.inFlight == 0:
		p.stopLocked(f, in)
	}
	f.broadcast()
}

// drainLocked takes an instance out of service: at once when idle, after its last call
// otherwise. A starting instance is stopped when its start completes.
func (p *Pool) drainLocked(f *function, in *inst) {
	wasStarting := in.state == stateStarting
	in.state = stateDraining
	if !wasStarting && in.inFlight == 0 {
		p.stopLocked(f, in)
	}
}

// stopLocked removes an instance from the pool and stops it in the background.
func (p *Pool) stopLocked(f *function, in *inst) {
	if _, ok := f.instances[in.id]; !ok {
		return
	}
	delete(f.instances, in.id)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		// Stops outlive a cancelled pool context: Shutdown relies on them to leave nothing behind.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(p.ctx), p.cfg.StopTimeout)
		defer cancel()
		if p.cfg.OnStopped != nil {
			p.cfg.OnStopped(in.id)
		}
		if err := p.node.StopInstance(ctx, in.id); err != nil {
			p.log.Error("instance failed to stop", "function", f.name, "instance", in.id, "error", err)
		}
	}()
}

// Run stops idle instances and keeps min_instances until ctx ends, then shuts the pool down.
func (p *Pool) Run(ctx context.Context) error {
	t := time.NewTicker(p.cfg.ReapInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			p.Shutdown()
			return nil
		case <-t.C:
			p.Reap()
		}
	}
}

// Reap stops every instance idle for longer than its function's idle_timeout (down to
// min_instances) and starts instances up to min_instances. Run calls it on a ticker; tests call
// it directly with an injected clock.
func (p *Pool) Reap() {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.cfg.Now()
	for _, f := range p.fns {
		idle := make([]*inst, 0, len(f.instances))
		for _, in := range f.instances {
			if in.state == stateReady && in.inFlight == 0 && now.Sub(in.lastUsed) >= f.spec.IdleTimeout.D() {
				idle = append(idle, in)
			}
		}
		// Keep the most recently used ones when min_instances holds some back.
		sort.Slice(idle, func(i, j int) bool { return idle[i].lastUsed.Before(idle[j].lastUsed) })
		for _, in := range idle {
			if f.liveCount() <= f.spec.MinInstances {
				break
			}
			p.log.Info("stopping idle instance", "function", f.name, "instance", in.id,
				"idle", now.Sub(in.lastUsed).Round(time.Second))
			p.stopLocked(f, in)
		}
		p.fillMinLocked(f)
	}
}

// Shutdown stops every instance and waits for background work. Calls in flight lose their
// instance; the server drains HTTP before it calls this.
func (p *Pool) Shutdown() {
	p.mu.Lock()
	p.closed = true
	for _, f := range p.fns {
		for _, in := range f.instances {
			if in.state != stateStarting {
				p.stopLocked(f, in)
			} else {
				in.state = stateDraining
			}
		}
		f.broadcast()
	}
	p.mu.Unlock()
	p.cancel()
	p.wg.Wait()
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
		s := string(in.state)
		if in.state == stateReady && in.inFlight > 0 {
			s = "busy"
		}
		st.Instances = append(st.Instances, api.InstanceStatus{ID: in.id, Version: in.version, State: s,
			Endpoint: in.endpoint, InFlight: in.inFlight, StartedAt: in.startedAt, LastUsed: in.lastUsed})
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

// pick returns the ready instance of the current version with a free slot and the fewest calls
// in flight, or nil.
func (f *function) pick() *inst {
	var best *inst
	for _, in := range f.instances {
		if in.state != stateReady || in.version != f.version || in.inFlight >= f.spec.Concurrency {
			continue
		}
		if best == nil || in.inFlight < best.inFlight || (in.inFlight == best.inFlight && in.lastUsed.After(best.lastUsed)) {
			best = in
		}
	}
	return best
}

// liveCount counts instances of the current version that take or will take calls.
func (f *function) liveCount() int {
	n := 0
	for _, in := range f.instances {
		if in.version == f.version && in.state != stateDraining {
			n++
		}
	}
	return n
}

func (f *function) startingCount() int {
	n := 0
	for _, in := range f.instances {
		if in.version == f.version && in.state == stateStarting {
			n++
		}
	}
	return n
}

func (f *function) broadcast() {
	close(f.changed)
	f.changed = make(chan struct{})
}

func (o Outcome) String() string {
	switch o {
	case OutcomeOK:
		return "ok"
	case OutcomeFailed:
		return "failed"
	case OutcomeTimedOut:
		return "timed_out"
	}
	return fmt.Sprintf("outcome(%d)", int(o))
}

// newInstanceID makes an id that is unique on a node and readable in `docker ps`:
// <function>-v<version>-<random>.
func newInstanceID(function string, version int) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-v%d-%s", function, version, hex.EncodeToString(b[:]))
}

// Stats returns a snapshot of the pool for metrics.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := Stats{Functions: make([]FunctionStats, 0, len(p.fns))}
	for _, f := range p.fns {
		fs := FunctionStats{Function: f.name, Instances: map[string]int{}, Queued: f.waiting}
		for _, in := range f.instances {
			fs.Instances[in.apiState()]++
		}
		st.Functions = append(st.Functions, fs)
	}
	sort.Slice(st.Functions, func(i, j int) bool { return st.Functions[i].Function < st.Functions[j].Function })
	return st
}

// apiState is the state as the API and metrics name it.
func (in *inst) apiState() string {
	if in.state == stateReady && in.inFlight > 0 {
		return "busy"
	}
	return string(in.state)
}
