package pool

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/api"
)

// The pool's bookkeeping on a full node (issue 15): what a tick, a warm call and a cold start
// cost with many functions and paused instances, against a few. Compare the sizes:
//
//	go test -run '^$' -bench 'FullNode' ./scheduler/pool/

// fullNode returns a pool with fns functions of 32 MB on one node that can pause, the first
// paused of them called once and left paused; with evict, the node holds exactly those paused
// instances, so that every new start must evict one.
func fullNode(b *testing.B, fns, paused int, evict bool) (*Pool, *clock) {
	b.Helper()
	c := &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	// Fixed keep-alive: eviction by value is then least recently used first, which the
	// eviction rounds below count on.
	p := New(Config{Now: c.Now, FixedKeepAlive: true}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	b.Cleanup(func() { p.Shutdown(false) })
	n := &fakeNode{canPause: true}
	if evict {
		n.alloc = instance.Resources{MemoryMB: int64(paused) * 32}
	}
	p.AddNode(testNode, n, nil)
	for {
		p.mu.Lock()
		listed := p.nodes[testNode].listed && p.nodes[testNode].known
		p.mu.Unlock()
		if listed {
			break
		}
		time.Sleep(time.Millisecond)
	}
	spec := api.FunctionSpec{MemoryMB: 32, IdleTimeout: api.Duration(time.Second), PauseTimeout: api.Duration(time.Hour)}
	for i := range fns {
		p.Apply(fn(fmt.Sprintf("f%04d", i), 1, spec))
	}
	ctx := context.Background()
	for i := range paused {
		l, err := p.Acquire(ctx, fmt.Sprintf("f%04d", i))
		if err != nil {
			b.Fatal(err)
		}
		l.Release(OutcomeOK)
		c.Add(time.Millisecond) // used one after the other: the first goes first
	}
	c.Add(2 * time.Second)
	p.Reap()
	p.wg.Wait()
	p.Reap() // what the pauses' settling asks for
	p.wg.Wait()
	if st := p.Stats(); len(st.Functions) != fns {
		b.Fatalf("%d functions", len(st.Functions))
	}
	return p, c
}

func benchSizes(b *testing.B, run func(b *testing.B, fns, paused int)) {
	for _, sz := range []struct{ fns, paused int }{{10, 6}, {1000, 640}} {
		b.Run(fmt.Sprintf("functions=%d", sz.fns), func(b *testing.B) { run(b, sz.fns, sz.paused) })
	}
}

// BenchmarkReapFullNode is one upkeep tick with nothing due.
func BenchmarkReapFullNode(b *testing.B) {
	benchSizes(b, func(b *testing.B, fns, paused int) {
		p, c := fullNode(b, fns, paused, false)
		b.ResetTimer()
		for range b.N {
			c.Add(time.Millisecond)
			p.Reap()
		}
	})
}

// BenchmarkWarmCallFullNode is a call's lease on a ready instance.
func BenchmarkWarmCallFullNode(b *testing.B) {
	benchSizes(b, func(b *testing.B, fns, paused int) {
		p, _ := fullNode(b, fns, paused, false)
		ctx := context.Background()
		name := fmt.Sprintf("f%04d", fns-1)
		b.ResetTimer()
		for range b.N {
			l, err := p.Acquire(ctx, name)
			if err != nil {
				b.Fatal(err)
			}
			l.Release(OutcomeOK)
		}
	})
}

// BenchmarkColdStartFullNode is a call that starts its instance (which the node makes at once),
// on a node with room, then on a full one where it must evict a paused instance first.
func BenchmarkColdStartFullNode(b *testing.B) {
	for _, evict := range []bool{false, true} {
		b.Run(fmt.Sprintf("evict=%v", evict), func(b *testing.B) {
			benchSizes(b, func(b *testing.B, fns, paused int) {
				p, c := fullNode(b, fns, paused, evict)
				ctx := context.Background()
				b.ResetTimer()
				for i := range b.N {
					// With room: a function never called, or one whose instance the last rounds
					// stopped. Full: the functions in turn, more than the node holds, so that
					// each one's instance was evicted by the time its turn comes again.
					name := fmt.Sprintf("f%04d", paused+i%(fns-paused))
					o := OutcomeFailed // stopped: the next call of it is cold again
					if evict {
						name, o = fmt.Sprintf("f%04d", (paused+i)%fns), OutcomeOK
					}
					l, err := p.Acquire(ctx, name)
					if err != nil {
						b.Fatal(err)
					}
					if l.Cold() != ColdNew {
						b.Fatalf("call %d of %s was not a cold start", i, name)
					}
					l.Release(o)
					b.StopTimer()
					p.wg.Wait()
					c.Add(time.Second) // the least recently used goes first
					b.StartTimer()
				}
			})
		})
	}
}
