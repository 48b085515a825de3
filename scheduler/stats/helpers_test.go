package stats_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/pool"
	"github.com/hearthfn/hearth/scheduler/stats"
)

// base is the tests' "now" at start: a whole hour, so that every step's points start on it.
var base = time.Date(2031, 5, 6, 12, 0, 0, 0, time.UTC)

// clock is a settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// fakePool reports the instance counts it holds, sorted by function as the pool does.
type fakePool struct {
	mu  sync.Mutex
	fns []pool.FunctionStats
}

func (p *fakePool) Stats() pool.Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return pool.Stats{Functions: p.fns}
}

// fakeNodes lists its nodes and counts the listings.
type fakeNodes struct {
	mu    sync.Mutex
	nodes []api.Node
	calls int
}

func (n *fakeNodes) List(context.Context) ([]api.Node, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.calls++
	return append([]api.Node(nil), n.nodes...), nil
}

func (n *fakeNodes) set(ids ...string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.nodes = nil
	for _, id := range ids {
		n.nodes = append(n.nodes, api.Node{ID: id, State: api.NodeReady})
	}
}

func (n *fakeNodes) listings() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.calls
}

// newCollector returns a collector on a clock at base that knows the functions named.
func newCollector(t *testing.T, cfg stats.Config, functions ...string) (*stats.Collector, *clock) {
	t.Helper()
	clk := &clock{t: base}
	cfg.Now = clk.Now
	c := stats.New(cfg)
	for _, name := range functions {
		c.SetFunction(function(name, 1))
	}
	return c, clk
}

func function(name string, version int) api.Function {
	return api.Function{Name: name, Version: api.Version{Number: version, Spec: api.FunctionSpec{Name: name, Runtime: "go"}}}
}

var seq int

// call is a finished call of fn created at created, succeeded with duration ms (0: none).
func call(fn string, created time.Time, ms float64) api.Call {
	seq++
	c := api.Call{ID: fmt.Sprintf("%s-%06d", fn, seq), Function: fn, Version: 1, Status: api.CallSucceeded, HTTPStatus: 200,
		CreatedAt: created, FinishedAt: created.Add(time.Duration(ms * float64(time.Millisecond))), DurationMS: ms}
	if ms > 0 {
		c.StartedAt = created
	}
	return c
}

func failed(c api.Call, status api.CallStatus, code int) api.Call {
	c.Status, c.HTTPStatus, c.Error = status, code, "it broke"
	return c
}

func cold(c api.Call, kind string) api.Call {
	c.Cold = kind
	return c
}

func series(t *testing.T, c *stats.Collector, fn, since, step string) stats.Series {
	t.Helper()
	s, err := c.Series(fn, since, step)
	if err != nil {
		t.Fatalf("Series(%s, since=%q, step=%q): %v", fn, since, step, err)
	}
	return s
}

func overview(t *testing.T, c *stats.Collector, scope stats.Scope) stats.Overview {
	t.Helper()
	o, err := c.Overview(t.Context(), scope)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func summaryOf(t *testing.T, o stats.Overview, name string) stats.FunctionSummary {
	t.Helper()
	for _, f := range o.Functions {
		if f.Name == name {
			return f
		}
	}
	t.Fatalf("overview has no function %q: %+v", name, o.Functions)
	return stats.FunctionSummary{}
}

func contextWithCancel(t *testing.T) (context.Context, context.CancelFunc) {
	return context.WithCancel(t.Context())
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
