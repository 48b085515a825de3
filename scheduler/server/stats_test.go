package server

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/pool"
	"github.com/hearthfn/hearth/scheduler/stats"
	"github.com/hearthfn/hearth/scheduler/store"
	"github.com/hearthfn/hearth/scheduler/store/sqlstore"
)

type noNodes struct{}

func (noNodes) List(context.Context) ([]api.Node, error) { return nil, nil }

// TestStatsWiring: the collector backfills from the store, counts what is written through the
// feed, learns functions from the registry's pool hook and forgets deleted ones.
func TestStatsWiring(t *testing.T) {
	ctx := t.Context()
	st, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "hearth.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	old := api.Call{ID: "old", Function: "hello", Status: api.CallSucceeded, CreatedAt: now.Add(-time.Hour), FinishedAt: now.Add(-time.Hour), DurationMS: 1}
	if err := st.RecordCalls(ctx, []api.Call{old}); err != nil {
		t.Fatal(err)
	}

	p := pool.New(pool.Config{}, nil)
	defer p.Shutdown(false)
	sc, stop := newStats(ctx, st, p, noNodes{}, nil)
	defer stop()
	hook := statsHook{Pool: p, stats: sc}
	hook.Apply(api.Function{Name: "hello", Version: api.Version{Number: 1, Spec: api.FunctionSpec{Runtime: "go"}}})
	if _, ok := p.Status("hello"); !ok {
		t.Fatal("the hook did not pass Apply on to the pool")
	}
	end := time.Now() // a call of this run ends after the collector was made
	later := api.Call{ID: "new", Function: "hello", Status: api.CallFailed, CreatedAt: end, FinishedAt: end, DurationMS: 1}
	if err := sc.Feed(st).RecordCalls(ctx, []api.Call{later}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		s, err := sc.Series("hello", "2h", "1h")
		if err != nil {
			t.Fatal(err)
		}
		var calls, errs uint64
		for _, pt := range s.Points {
			calls, errs = calls+pt.Calls, errs+pt.Errors
		}
		if calls == 2 && errs == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d calls, %d errors; want the stored one and the new failed one", calls, errs)
		}
		time.Sleep(time.Millisecond)
	}
	o, err := sc.Overview(ctx, stats.Scope{Nodes: true, Calls: true})
	if err != nil || len(o.Functions) != 1 || o.Functions[0].Name != "hello" || len(o.RecentFailures) != 1 || o.Nodes == nil {
		t.Fatalf("overview %+v, %v", o, err)
	}

	hook.Remove("hello")
	if _, ok := p.Status("hello"); ok {
		t.Error("the hook did not pass Remove on to the pool")
	}
	if _, err := sc.Series("hello", "", ""); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a deleted function's series: %v, want ErrNotFound", err)
	}
}
