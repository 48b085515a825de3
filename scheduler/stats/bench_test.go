package stats_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/pool"
	"github.com/hearthfn/hearth/scheduler/stats"
)

// loaded returns a collector that knows functions functions and has counted calls calls spread
// over the last day (a tenth of them failed, some cold), with a pool that has instances of
// each.
func loaded(tb testing.TB, functions, calls int) *stats.Collector {
	p := &fakePool{}
	nodes := &fakeNodes{}
	nodes.set("n1", "n2", "n3")
	clk := &clock{t: base}
	c := stats.New(stats.Config{Pool: p, Nodes: nodes, Now: clk.Now})
	for i := range functions {
		name := fmt.Sprintf("fn-%04d", i)
		c.SetFunction(function(name, 1+i%5))
		p.fns = append(p.fns, pool.FunctionStats{Function: name, Instances: map[string]int{"ready": 1 + i%3, "paused": i % 2}})
	}
	rng := rand.New(rand.NewPCG(7, 11))
	batch := make([]api.Call, 0, 256)
	for i := range calls {
		fn := fmt.Sprintf("fn-%04d", rng.IntN(functions))
		cl := api.Call{ID: fmt.Sprintf("c%07d", i), Function: fn, Status: api.CallSucceeded, HTTPStatus: 200,
			CreatedAt: base.Add(-time.Duration(rng.Int64N(int64(stats.Window)))), DurationMS: rng.ExpFloat64() * 20}
		if i%10 == 0 {
			cl.Status, cl.HTTPStatus, cl.Error = api.CallFailed, 500, "boom"
		}
		if i%50 == 0 {
			cl.Cold = "new"
		}
		batch = append(batch, cl)
		if len(batch) == cap(batch) {
			c.ObserveAll(batch)
			batch = batch[:0]
		}
	}
	c.ObserveAll(batch)
	return c
}

// BenchmarkOverview: 1,000 functions, 100,000 calls of the last day, every function in
// scope, with nodes and failures.
func BenchmarkOverview(b *testing.B) {
	c := loaded(b, 1000, 100_000)
	scope := stats.Scope{Nodes: true, Calls: true}
	for b.Loop() {
		o, err := c.Overview(b.Context(), scope)
		if err != nil || len(o.Functions) != 1000 || len(o.RecentFailures) != 20 {
			b.Fatalf("%d functions, %d failures, %v", len(o.Functions), len(o.RecentFailures), err)
		}
	}
}

// BenchmarkOverviewScoped: the same for a token that covers 3 functions.
func BenchmarkOverviewScoped(b *testing.B) {
	c := loaded(b, 1000, 100_000)
	scope := stats.Scope{Calls: true, Function: func(name string) bool {
		return name == "fn-0001" || name == "fn-0500" || name == "fn-0999"
	}}
	for b.Loop() {
		if o, err := c.Overview(b.Context(), scope); err != nil || len(o.Functions) != 3 {
			b.Fatalf("%d functions, %v", len(o.Functions), err)
		}
	}
}

// BenchmarkSeries: one function's points, from the widest query to the finest.
func BenchmarkSeries(b *testing.B) {
	c := loaded(b, 1000, 100_000)
	for _, q := range []struct{ since, step string }{{"24h", "1m"}, {"24h", "1h"}, {"1h", "1m"}, {"1h", "10s"}} {
		b.Run(q.since+"/"+q.step, func(b *testing.B) {
			for b.Loop() {
				if _, err := c.Series("fn-0500", q.since, q.step); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkObserve is the feed's cost per call (the recorder's goroutine pays it).
func BenchmarkObserve(b *testing.B) {
	c := loaded(b, 1000, 0)
	calls := make([]api.Call, 1000)
	for i := range calls {
		calls[i] = call(fmt.Sprintf("fn-%04d", i), base.Add(-time.Duration(i)*time.Second), 3)
	}
	c.ObserveAll(calls)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		c.Observe(calls[i%len(calls)])
	}
}

// BenchmarkBackfill reads 100,000 stored calls of the last day back into a collector, as a
// server start does.
func BenchmarkBackfill(b *testing.B) {
	st := openStore(b)
	rng := rand.New(rand.NewPCG(1, 1))
	batch := make([]api.Call, 0, 1000)
	for i := range 100_000 {
		created := base.Add(-time.Duration(rng.Int64N(int64(stats.Window))))
		batch = append(batch, api.Call{ID: fmt.Sprintf("c%06d", i), Function: fmt.Sprintf("fn-%04d", rng.IntN(1000)),
			Status: api.CallSucceeded, HTTPStatus: 200, CreatedAt: created, FinishedAt: created.Add(time.Millisecond), DurationMS: 1})
		if len(batch) == cap(batch) {
			if err := st.RecordCalls(b.Context(), batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	for b.Loop() {
		c := stats.New(stats.Config{Now: func() time.Time { return base }})
		if n, err := c.Backfill(b.Context(), st, base); err != nil || n != 100_000 {
			b.Fatalf("%d calls, %v", n, err)
		}
	}
}
