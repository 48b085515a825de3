package stats_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/stats"
	"github.com/hearthfn/hearth/scheduler/store"
	"github.com/hearthfn/hearth/scheduler/store/sqlstore"
)

func openStore(t testing.TB) *sqlstore.Store {
	t.Helper()
	st, err := sqlstore.Open(t.Context(), filepath.Join(t.TempDir(), "hearth.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// lastRun stores what an earlier server left: 30 sync calls of the last day (5 failed), 7
// older ones, an async call still queued and one that was running when it stopped.
func lastRun(t *testing.T, st store.CallStore) {
	t.Helper()
	var calls []api.Call
	for i := range 30 {
		c := call("hello", base.Add(-time.Duration(i+1)*40*time.Minute), 2)
		if i%6 == 0 {
			c = failed(c, api.CallFailed, 500)
		}
		calls = append(calls, c)
	}
	for i := range 7 {
		calls = append(calls, call("hello", base.Add(-stats.Window-time.Duration(i+1)*time.Minute), 2))
	}
	if err := st.RecordCalls(t.Context(), calls); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a-running", "b-queued"} {
		a := api.Call{ID: id, Function: "hello", Async: true, Status: api.CallQueued, CreatedAt: base.Add(-time.Hour)}
		if err := st.EnqueueAsync(t.Context(), a, store.AsyncRequest{Method: "POST", Path: "/"}, 10); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := st.ClaimAsync(t.Context(), base.Add(-time.Hour+time.Second), 1); err != nil || len(got) != 1 {
		t.Fatalf("claim: %v, %v", got, err)
	}
}

// thisRun writes, through the feed, 4 sync calls (1 failed) and the end of the async call that
// was running: the calls of the new server.
func thisRun(t *testing.T, fed store.CallStore) {
	t.Helper()
	var calls []api.Call
	for i := range 4 {
		c := call("hello", base.Add(time.Duration(i)*time.Second), 2)
		if i == 0 {
			c = failed(c, api.CallTimedOut, 504)
		}
		calls = append(calls, c)
	}
	if err := fed.RecordCalls(t.Context(), calls); err != nil {
		t.Fatal(err)
	}
	running := api.Call{ID: "a-running", Function: "hello", Async: true, Status: api.CallSucceeded, HTTPStatus: 200,
		CreatedAt: base.Add(-time.Hour), StartedAt: base.Add(time.Second), FinishedAt: base.Add(2 * time.Second), DurationMS: 3}
	if err := fed.FinishAsync(t.Context(), running); err != nil {
		t.Fatal(err)
	}
}

func TestBackfillAndFeedCountEachCallOnce(t *testing.T) {
	for _, order := range []string{"backfill first", "feed first"} {
		t.Run(order, func(t *testing.T) {
			st := openStore(t)
			lastRun(t, st)
			c, clk := newCollector(t, stats.Config{}, "hello")
			clk.Set(base.Add(5 * time.Second))
			fed := c.Feed(st)
			backfill := func() {
				n, err := c.Backfill(t.Context(), st, base)
				if err != nil || n != 30 {
					t.Errorf("Backfill: %d calls, %v; want the 30 of the last day that finished before the start", n, err)
				}
			}
			if order == "backfill first" {
				backfill()
				thisRun(t, fed)
			} else {
				thisRun(t, fed)
				backfill()
			}
			s := series(t, c, "hello", "24h", "1h")
			var calls, errs uint64
			for _, p := range s.Points {
				calls += p.Calls
				errs += p.Errors
			}
			if calls != 35 || errs != 6 {
				t.Errorf("%d calls, %d errors; want 35 (30 + 4 + the async one) and 6", calls, errs)
			}
			if f := overview(t, c, stats.Scope{Calls: true}).RecentFailures; len(f) != 6 || f[0].Status != api.CallTimedOut {
				t.Errorf("recent failures %v, want the 6, newest (this run's timeout) first", f)
			}
		})
	}
}

// failingStore refuses every write.
type failingStore struct{ store.CallStore }

var errRefused = errors.New("disk full")

func (failingStore) RecordCalls(context.Context, []api.Call) error { return errRefused }
func (failingStore) FinishAsync(context.Context, api.Call) error   { return errRefused }

func TestFeedCountsOnlyWhatTheStoreTook(t *testing.T) {
	c, _ := newCollector(t, stats.Config{}, "hello")
	fed := c.Feed(failingStore{openStore(t)})
	if err := fed.RecordCalls(t.Context(), []api.Call{call("hello", base, 1)}); !errors.Is(err, errRefused) {
		t.Fatalf("RecordCalls: %v, want the store's error", err)
	}
	if err := fed.FinishAsync(t.Context(), call("hello", base, 1)); !errors.Is(err, errRefused) {
		t.Fatalf("FinishAsync: %v, want the store's error", err)
	}
	if n := total(series(t, c, "hello", "1h", "1m")); n != 0 {
		t.Errorf("%d calls counted, want none: the store took none", n)
	}
}

func TestRunBackfills(t *testing.T) {
	st := openStore(t)
	var calls []api.Call
	for i := range 2500 {
		calls = append(calls, call(fmt.Sprintf("f%d", i%3), base.Add(-time.Duration(i)*time.Second-time.Minute), 1))
	}
	if err := st.RecordCalls(t.Context(), calls); err != nil {
		t.Fatal(err)
	}
	c, _ := newCollector(t, stats.Config{}, "f0", "f1", "f2")
	ctx, cancel := contextWithCancel(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Run(ctx, st)
	}()
	defer func() { cancel(); <-done }()
	waitFor(t, "the backfill", func() bool {
		var n uint64
		for _, fn := range []string{"f0", "f1", "f2"} {
			n += total(series(t, c, fn, "1h", "1m"))
		}
		return n == 2500
	})
}

func TestObserveAllocatesNothingOnceWarm(t *testing.T) {
	c, _ := newCollector(t, stats.Config{}, "hello")
	cl := call("hello", base.Add(-time.Second), 3)
	c.Observe(cl) // makes the rings and the slots
	if n := testing.AllocsPerRun(1000, func() { c.Observe(cl) }); n != 0 {
		t.Errorf("Observe allocates %g times a call", n)
	}
	batch := []api.Call{cl, cl, cl}
	if n := testing.AllocsPerRun(1000, func() { c.ObserveAll(batch) }); n != 0 {
		t.Errorf("ObserveAll allocates %g times a batch", n)
	}
}
