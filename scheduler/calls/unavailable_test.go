package calls

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/store"
)

// unwritableStore wraps a store: while unwritable is set, the writes that settle calls fail
// with store.ErrUnavailable, and each failure is reported on failed.
type unwritableStore struct {
	store.CallStore
	unwritable atomic.Bool
	failed     chan string
}

func newUnwritableStore(t *testing.T) *unwritableStore {
	s := &unwritableStore{CallStore: openStore(t, filepath.Join(t.TempDir(), "h.db")), failed: make(chan string, 100)}
	s.unwritable.Store(true)
	return s
}

func (s *unwritableStore) fail(op string) error {
	if !s.unwritable.Load() {
		return nil
	}
	select {
	case s.failed <- op:
	default:
	}
	return fmt.Errorf("%s: database is locked: %w", op, store.ErrUnavailable)
}

func (s *unwritableStore) RecordCalls(ctx context.Context, calls []api.Call) error {
	if err := s.fail("record"); err != nil {
		return err
	}
	return s.CallStore.RecordCalls(ctx, calls)
}

func (s *unwritableStore) FinishAsync(ctx context.Context, c api.Call) error {
	if err := s.fail("finish"); err != nil {
		return err
	}
	return s.CallStore.FinishAsync(ctx, c)
}

func (s *unwritableStore) RetryAsync(ctx context.Context, id string, due time.Time, msg string) error {
	if err := s.fail("retry"); err != nil {
		return err
	}
	return s.CallStore.RetryAsync(ctx, id, due, msg)
}

// waitFailure waits until the store has refused op once.
func (s *unwritableStore) waitFailure(t *testing.T, op string) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case got := <-s.failed:
			if got == op {
				return
			}
		case <-timeout:
			t.Fatalf("the store was never asked to %s", op)
		}
	}
}

// TestRunnerSettlesOnceTheStoreIsWritable: a call that ran while the store could not be
// written is recorded as it ended once the store can be written again, without running again;
// so is a retry decided meanwhile.
func TestRunnerSettlesOnceTheStoreIsWritable(t *testing.T) {
	for _, tt := range []struct {
		name   string
		script []api.Call
		op     string
		runs   int
	}{
		{"finish", []api.Call{ok}, "finish", 1},
		{"retry", []api.Call{unavailable, ok}, "retry", 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := newUnwritableStore(t)
			inv := &scriptedInvoker{script: tt.script}
			r := startRunner(t, st, inv, RunnerConfig{Attempts: 3})
			enqueue(t, r, "c1", "")
			st.waitFailure(t, tt.op)
			st.unwritable.Store(false)
			c := waitFinished(t, st, "c1")
			if c.Status != api.CallSucceeded || inv.count() != tt.runs || c.Attempts != tt.runs {
				t.Fatalf("call = %+v after %d runs, want succeeded after %d", c, inv.count(), tt.runs)
			}
		})
	}
}

// TestRecorderKeepsRecordsWhileTheStoreIsUnwritable: records that could not be written are
// written by a later flush, none lost.
func TestRecorderKeepsRecordsWhileTheStoreIsUnwritable(t *testing.T) {
	st := newUnwritableStore(t)
	r := NewRecorder(st, RecorderConfig{Flush: 10 * time.Millisecond}, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx) }()
	defer func() { cancel(); <-done }()

	now := time.Now()
	record := func(from, to int) {
		for i := from; i < to; i++ {
			r.Record(api.Call{ID: fmt.Sprintf("c%03d", i), Function: "f", Status: api.CallSucceeded, CreatedAt: now, FinishedAt: now})
		}
	}
	record(0, 10)
	st.waitFailure(t, "record")
	record(10, 20) // arrive while the first ones wait
	st.waitFailure(t, "record")
	st.unwritable.Store(false)
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := st.ListCalls(context.Background(), store.CallFilter{Function: "f", Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the store has %d of 20 records 10 s after it became writable", len(got))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if r.Dropped() != 0 {
		t.Fatalf("dropped %d records", r.Dropped())
	}
}

func TestStoreBackoff(t *testing.T) {
	b := storeBackoff{min: time.Second, max: 4 * time.Second}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	unavailable := fmt.Errorf("locked: %w", store.ErrUnavailable)
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second} {
		if !b.ready(now) {
			t.Fatalf("try %d: not ready when the wait before it is over", i)
		}
		if got := b.done(unavailable, now); got != want {
			t.Fatalf("try %d: wait %s, want %s", i, got, want)
		}
		if b.ready(now.Add(want - time.Nanosecond)) {
			t.Fatalf("try %d: ready before its wait of %s is over", i, want)
		}
		now = now.Add(want)
	}
	if got := b.done(fmt.Errorf("some other failure"), now); got != 0 || !b.ready(now) {
		t.Fatalf("after another error: wait %s, ready %v; want none", got, b.ready(now))
	}
	if got := b.done(unavailable, now); got != time.Second {
		t.Fatalf("the first wait of a new outage = %s, want min again", got)
	}
}
