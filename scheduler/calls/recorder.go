package calls

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/store"
)

// RecorderConfig tunes the Recorder. Zero fields take defaults.
type RecorderConfig struct {
	// Buffer is how many records may wait to be written (default 4096); past it new records
	// are dropped and counted, rather than slowing calls down.
	Buffer int
	// Flush is the longest a record waits before it is written (default 200 ms).
	Flush time.Duration
	// Retention is how long finished calls are kept (default 7 days); PruneEvery how often old
	// ones are removed (default 1 h).
	Retention  time.Duration
	PruneEvery time.Duration
}

// batchSize is how many records make a batch worth writing before the flush interval is up.
const batchSize = 256

// maxSpare bounds the capacity of the slice of records kept for reuse between writes.
const maxSpare = 4 * batchSize

// recordTimeout bounds one write of records. It is well above the store's own wait for a lock
// held by another process (sqlstore's busy timeout, 5 s), so that such a wait ends in the
// store's ErrUnavailable rather than in this deadline, which would cut the write off midway.
const recordTimeout = 30 * time.Second

// Recorder takes call records from the router and writes them to the store in batches.
//
// Record only appends under a mutex: it does not wake the writer for every call (a goroutine
// wake-up per call, often of an idle thread, on the invoke path). The writer wakes at the flush
// interval, or as soon as a whole batch is waiting.
type Recorder struct {
	cfg   RecorderConfig
	store store.CallStore
	log   *slog.Logger

	mu      sync.Mutex
	pending []api.Call // guarded by mu; at most cfg.Buffer records
	// full has room for one signal: a batch is waiting, write it before the next tick.
	full chan struct{}
	// flushes carries readers' requests for a write now (Flush): each is closed once the
	// records recorded before it was sent are written.
	flushes chan chan struct{}
	dropped atomic.Int64
}

// NewRecorder returns a recorder; Run must run for records to reach the store.
func NewRecorder(st store.CallStore, cfg RecorderConfig, log *slog.Logger) *Recorder {
	if cfg.Buffer <= 0 {
		cfg.Buffer = 4096
	}
	if cfg.Flush <= 0 {
		cfg.Flush = 200 * time.Millisecond
	}
	if cfg.Retention <= 0 {
		cfg.Retention = 7 * 24 * time.Hour
	}
	if cfg.PruneEvery <= 0 {
		cfg.PruneEvery = time.Hour
	}
	return &Recorder{cfg: cfg, store: st, log: log, full: make(chan struct{}, 1), flushes: make(chan chan struct{})}
}

// Flush writes the records recorded so far now rather than at the next tick, and returns once
// they are in the store, or when ctx ends: whoever reads call records after it sees every call
// that returned before it. Reads pay for it, calls do not. While the store cannot be written,
// it returns without waiting for the retry.
func (r *Recorder) Flush(ctx context.Context) error {
	done := make(chan struct{})
	select {
	case r.flushes <- done:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Record implements router.Recorder. It never blocks on the store.
func (r *Recorder) Record(c api.Call) {
	r.mu.Lock()
	n := len(r.pending)
	if n < r.cfg.Buffer {
		r.pending = append(r.pending, c)
	}
	r.mu.Unlock()
	switch {
	case n >= r.cfg.Buffer:
		if r.dropped.Add(1)%1000 == 1 {
			r.log.Warn("call records are arriving faster than the store takes them; dropping some", "dropped", r.dropped.Load())
		}
	case n+1 == batchSize:
		select {
		case r.full <- struct{}{}:
		default:
		}
	}
}

// Dropped is how many records were dropped because the buffer was full.
func (r *Recorder) Dropped() int64 { return r.dropped.Load() }

// Run writes records until ctx ends, then writes what is left and returns.
func (r *Recorder) Run(ctx context.Context) error {
	flush := time.NewTicker(r.cfg.Flush)
	defer flush.Stop()
	prune := time.NewTicker(r.cfg.PruneEvery)
	defer prune.Stop()
	r.prune(ctx)
	// Two slices take turns: Record appends to one while the other is written.
	spare := make([]api.Call, 0, batchSize)
	// A write is not cut short by ctx: records taken from pending are written, kept for the
	// next write while the store cannot be written, or lost; the last ones are written after
	// ctx ends (the server stops HTTP first, so they are final).
	storeCtx := context.WithoutCancel(ctx)
	backoff := storeBackoff{min: r.cfg.Flush, max: maxStoreBackoff}
	write := func() {
		if !backoff.ready(time.Now()) && ctx.Err() == nil {
			return
		}
		r.mu.Lock()
		batch := r.pending
		if len(batch) == 0 {
			r.mu.Unlock()
			return
		}
		r.pending = spare[:0]
		r.mu.Unlock()
		wctx, cancel := context.WithTimeout(storeCtx, recordTimeout)
		err := r.store.RecordCalls(wctx, batch)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("no answer within %s (%v): %w", recordTimeout, err, store.ErrUnavailable)
		}
		pause := backoff.done(err, time.Now())
		if errors.Is(err, store.ErrUnavailable) && ctx.Err() == nil {
			// The store cannot be written now (locked, read-only, full, or stuck): keep the
			// records for the next write, within the buffer's bound, rather than lose them.
			r.log.Warn("the store cannot take call records now; keeping them for the next try", "count", len(batch),
				"next_try_in", pause, "error", err)
			spare = r.requeue(batch)
			return
		}
		if err != nil {
			r.log.Error("could not store call records", "count", len(batch), "error", err)
		}
		clear(batch) // drop the references to bodies and headers the records may hold
		spare = batch
		if cap(spare) > maxSpare {
			// A burst grew it towards Buffer: such a slice, kept as the spare, would stay the
			// size of the burst for good (a megabyte at 4096 records).
			spare = make([]api.Call, 0, batchSize)
		}
	}
	for {
		select {
		case <-r.full:
			write()
		case <-flush.C:
			write()
		case done := <-r.flushes:
			write()
			close(done)
		case <-prune.C:
			r.prune(ctx)
		case <-ctx.Done():
			write()
			return nil
		}
	}
}

// requeue puts batch, which could not be written, back in front of the records that came
// since, dropping (and counting) the newest past the buffer's bound, and returns the emptied
// slice those records were in, as the next spare.
func (r *Recorder) requeue(batch []api.Call) (spare []api.Call) {
	r.mu.Lock()
	arrived := r.pending
	merged := append(batch, arrived...)
	if over := len(merged) - r.cfg.Buffer; over > 0 {
		r.dropped.Add(int64(over))
		clear(merged[r.cfg.Buffer:])
		merged = merged[:r.cfg.Buffer]
	}
	r.pending = merged
	r.mu.Unlock()
	clear(arrived)
	return arrived[:0]
}

func (r *Recorder) prune(ctx context.Context) {
	n, err := r.store.PruneCalls(ctx, time.Now().Add(-r.cfg.Retention))
	if err != nil {
		r.log.Error("could not remove old call records", "error", err)
	} else if n > 0 {
		r.log.Info("removed old call records", "count", n, "retention", r.cfg.Retention)
	}
}
