package calls

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/store"
)

// runRecorder runs a recorder that flushes only at stop or on a full batch, over a new store;
// stop ends Run and waits for it.
func runRecorder(t *testing.T) (r *Recorder, st store.CallStore, stop func()) {
	t.Helper()
	st = openStore(t, filepath.Join(t.TempDir(), "h.db"))
	r = NewRecorder(st, RecorderConfig{Flush: time.Hour}, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx) }()
	return r, st, func() { cancel(); <-done }
}

func TestRecorderWritesRecordsAndFlushesAtStop(t *testing.T) {
	r, st, stop := runRecorder(t)
	now := time.Now()
	for i := 0; i < 300; i++ { // more than one batch
		r.Record(api.Call{ID: fmt.Sprintf("c%03d", i), Function: "f", Status: api.CallSucceeded, HTTPStatus: 200,
			CreatedAt: now.Add(time.Duration(i) * time.Millisecond), FinishedAt: now})
	}
	stop() // the rest is written at stop, though the flush interval never came
	got, err := st.ListCalls(context.Background(), store.CallFilter{Function: "f", Limit: 1000})
	if err != nil || len(got) != 300 {
		t.Fatalf("store has %d records (%v), want 300", len(got), err)
	}
	if r.Dropped() != 0 {
		t.Fatalf("dropped %d records", r.Dropped())
	}
}

// Flush writes what was recorded at once: a reader right after it finds the record, though the
// flush interval (an hour here) is far off.
func TestRecorderFlushWritesAtOnce(t *testing.T) {
	r, st, stop := runRecorder(t)
	defer stop()
	now := time.Now()
	r.Record(api.Call{ID: "c1", Function: "f", Status: api.CallSucceeded, CreatedAt: now, FinishedAt: now})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if c, err := st.GetCall(ctx, "c1"); err != nil || c.ID != "c1" {
		t.Fatalf("right after Flush: %+v, %v", c, err)
	}
	// Without Run, Flush gives up with ctx rather than hanging.
	idle := NewRecorder(st, RecorderConfig{}, slog.New(slog.DiscardHandler))
	short, cancelShort := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancelShort()
	if err := idle.Flush(short); err == nil {
		t.Fatal("Flush of a recorder that does not run returned nil")
	}
}

// A whole batch is written at once, without waiting for the flush interval.
func TestRecorderWritesAFullBatchBeforeTheInterval(t *testing.T) {
	r, st, stop := runRecorder(t)
	defer stop()
	now := time.Now()
	for i := 0; i < batchSize; i++ {
		r.Record(api.Call{ID: fmt.Sprintf("c%03d", i), Function: "f", Status: api.CallSucceeded, CreatedAt: now, FinishedAt: now})
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := st.ListCalls(context.Background(), store.CallFilter{Function: "f", Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == batchSize {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("store has %d of %d records of a full batch after 10 s", len(got), batchSize)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRecorderDropsRatherThanBlocks(t *testing.T) {
	r := NewRecorder(nil, RecorderConfig{Buffer: 2}, slog.New(slog.DiscardHandler))
	for i := 0; i < 5; i++ {
		r.Record(api.Call{ID: fmt.Sprint(i)}) // nothing drains: Run is not running
	}
	if r.Dropped() != 3 {
		t.Fatalf("dropped %d, want 3", r.Dropped())
	}
}

func TestRecorderPrunesOldCalls(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "h.db"))
	old := time.Now().Add(-48 * time.Hour)
	if err := st.RecordCalls(context.Background(), []api.Call{
		{ID: "old", Function: "f", Status: api.CallSucceeded, CreatedAt: old, FinishedAt: old},
		{ID: "new", Function: "f", Status: api.CallSucceeded, CreatedAt: time.Now(), FinishedAt: time.Now()},
	}); err != nil {
		t.Fatal(err)
	}
	r := NewRecorder(st, RecorderConfig{Retention: 24 * time.Hour}, slog.New(slog.DiscardHandler))
	r.prune(context.Background()) // what Run does at start and every PruneEvery
	if _, err := st.GetCall(context.Background(), "old"); err == nil {
		t.Fatal("a call older than the retention was kept")
	}
	if _, err := st.GetCall(context.Background(), "new"); err != nil {
		t.Fatalf("a recent call was removed: %v", err)
	}
}

// After a burst, the records' slices shrink back: the recorder's memory is its steady state's,
// not its largest burst's.
func TestRecorderShrinksAfterABurst(t *testing.T) {
	r, _, stop := runRecorder(t)
	defer stop()
	now := time.Now()
	for i := range 3000 {
		r.Record(api.Call{ID: fmt.Sprintf("c%04d", i), Function: "f", Status: api.CallSucceeded, CreatedAt: now, FinishedAt: now})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for range 2 { // the burst's slice is written, then the spare takes its turn
		if err := r.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		r.Record(api.Call{ID: "after", Function: "f", Status: api.CallSucceeded, CreatedAt: now, FinishedAt: now})
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if c := cap(r.pending); c > maxSpare {
		t.Errorf("the pending records' slice holds room for %d after the burst, want at most %d", c, maxSpare)
	}
}
