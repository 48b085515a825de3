package pool

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/hearthfn/hearth/agent"
	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/keepalive"
)

// This file replays a trace of calls through the real pool, on a fake clock and a node whose
// starts, pauses and stops take no time, so that `make bench` can compare keep-alive policies
// over hours of calls in seconds (bench/keepalive.go). Nothing else uses it.

// ErrSimStuck: a call of the replay found no instance and none could be made (the node full
// with nothing to evict, or max_instances reached).
var ErrSimStuck = errors.New("replay: a call could not get an instance")

// SimFunction is one function of a replay.
type SimFunction struct {
	Name     string
	MemoryMB int64
}

// SimCall is one call of a replay: At from the replay's start, lasting Duration.
type SimCall struct {
	Function string
	At       time.Duration
	Duration time.Duration
}

// SimPolicy is the keep-alive policy a replay runs.
type SimPolicy struct {
	// IdleTimeout and PauseTimeout are every function's func.yaml timeouts.
	IdleTimeout, PauseTimeout time.Duration
	// Learned turns the learned keep-alive on (tuned by KeepAlive); off, only the timeouts apply.
	Learned   bool
	KeepAlive keepalive.Config
	// NodeMemoryMB caps the node's memory (0: unlimited): past it, starts evict idle instances.
	NodeMemoryMB int64
	// Tick is how often the pool's upkeep runs (Config.ReapInterval); 0: one second.
	Tick time.Duration
}

// SimResult is what a replay measured.
type SimResult struct {
	Calls int
	// ColdNew counts calls that waited for a new instance; ColdResumed for a paused one.
	ColdNew, ColdResumed int
	// Starts counts every instance start, pre-warms included.
	Starts int
	// IdleMBSeconds is the memory held by instances with no call in flight (ready, paused,
	// pausing, resuming, starting), integrated over the replay.
	IdleMBSeconds float64
	// ColdNewBy counts ColdNew by function.
	ColdNewBy map[string]int
}

// Replay runs calls (sorted by At or not) of fns through a pool with policy pol, and reports
// what it measured. The pool's background work is waited for after each step, so the outcome
// depends on the calls alone.
func Replay(ctx context.Context, pol SimPolicy, fns []SimFunction, calls []SimCall) (SimResult, error) {
	tick := pol.Tick
	if tick <= 0 {
		tick = time.Second
	}
	c := &simClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	start := c.now
	p := New(Config{Now: c.Now, ReapInterval: tick, FixedKeepAlive: !pol.Learned, KeepAlive: pol.KeepAlive},
		slog.New(slog.DiscardHandler))
	defer p.Shutdown(false)
	for _, sf := range fns {
		spec := api.FunctionSpec{Name: sf.Name, MemoryMB: sf.MemoryMB, IdleTimeout: api.Duration(pol.IdleTimeout),
			PauseTimeout: api.Duration(pol.PauseTimeout), MaxInstances: 1000, Queue: 1000}
		p.Apply(api.Function{Name: sf.Name, Version: api.Version{Number: 1, Image: "sim", Spec: spec}})
	}
	nd := &simNode{alloc: instance.Resources{MemoryMB: pol.NodeMemoryMB}}
	p.AddNode("sim", nd, nil)
	p.wg.Wait()

	calls = append([]SimCall(nil), calls...)
	sort.SliceStable(calls, func(i, j int) bool { return calls[i].At < calls[j].At })
	var (
		res     SimResult
		ends    endHeap
		next    = 0
		nextTik = tick
		last    time.Duration
		idleMB  int64
		busyMB  int64 // the memory of the instances with a call in flight (concurrency 1)
		mem     = make(map[string]int64, len(fns))
	)
	res.ColdNewBy = map[string]int{}
	for _, sf := range fns {
		mem[sf.Name] = sf.MemoryMB
	}
	advance := func(to time.Duration) {
		res.IdleMBSeconds += float64(idleMB) * (to - last).Seconds()
		last = to
		c.set(start.Add(to))
	}
	for next < len(calls) || len(ends) > 0 {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		at := nextTik
		if next < len(calls) && calls[next].At < at {
			at = calls[next].At
		}
		if len(ends) > 0 && ends[0].at <= at {
			at = ends[0].at
		}
		advance(at)
		switch {
		case len(ends) > 0 && ends[0].at == at:
			e := heap.Pop(&ends).(simEnd)
			e.lease.Release(OutcomeOK)
			busyMB -= e.mb
		case next < len(calls) && calls[next].At == at:
			call := calls[next]
			next++
			actx, cancel := context.WithTimeout(ctx, 10*time.Second)
			l, err := p.Acquire(actx, call.Function)
			cancel()
			if err != nil {
				return res, fmt.Errorf("%w: %s at %v: %v", ErrSimStuck, call.Function, call.At, err)
			}
			res.Calls++
			switch l.Cold() {
			case ColdNew:
				res.ColdNew++
				res.ColdNewBy[call.Function]++
			case ColdResumed:
				res.ColdResumed++
			}
			heap.Push(&ends, simEnd{at: at + call.Duration, lease: l, mb: mem[call.Function]})
			busyMB += mem[call.Function]
		default:
			p.Reap()
			nextTik += tick
		}
		p.wg.Wait() // the starts, pauses and stops the step set off
		idleMB = p.reservedMemory() - busyMB
	}
	res.Starts = nd.starts
	return res, nil
}

// reservedMemory is what every instance on every node holds: once the pool's background work is
// through, those it runs and no more.
func (p *Pool) reservedMemory() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	var mb int64
	for _, nd := range p.nodes {
		mb += nd.reserved.MemoryMB
	}
	return mb
}

type simClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *simClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *simClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

type simEnd struct {
	at    time.Duration
	lease *Lease
	mb    int64
}

type endHeap []simEnd

func (h endHeap) Len() int           { return len(h) }
func (h endHeap) Less(i, j int) bool { return h[i].at < h[j].at }
func (h endHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *endHeap) Push(x any)        { *h = append(*h, x.(simEnd)) }
func (h *endHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// simNode is a node whose every operation succeeds at once.
type simNode struct {
	mu     sync.Mutex
	alloc  instance.Resources
	starts int
}

func (n *simNode) Info(ctx context.Context) (agent.NodeInfo, error) {
	return agent.NodeInfo{ID: "sim", Driver: driver.Fingerprint{Name: "sim",
		Capabilities: driver.Capabilities{Pause: true}, Allocatable: n.alloc}}, nil
}

func (n *simNode) StartInstance(ctx context.Context, spec instance.Spec) (instance.Instance, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.starts++
	return instance.Instance{ID: spec.ID, Endpoint: "sim"}, nil
}

func (n *simNode) PauseInstance(ctx context.Context, id string) error  { return nil }
func (n *simNode) ResumeInstance(ctx context.Context, id string) error { return nil }
func (n *simNode) StopInstance(ctx context.Context, id string) error   { return nil }
func (n *simNode) Instances(ctx context.Context) ([]instance.Status, error) {
	return nil, nil
}
