package calls

import (
	"context"
	"log/slog"
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

// Recorder takes call records from the router and writes them to the store in batches.
type Recorder struct {
	cfg     RecorderConfig
	store   store.CallStore
	log     *slog.Logger
	ch      chan api.Call
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
	return &Recorder{cfg: cfg, store: st, log: log, ch: make(chan api.Call, cfg.Buffer)}
}

// Record implements router.Recorder. It never blocks.
func (r *Recorder) Record(c api.Call) {
	select {
	case r.ch <- c:
	default:
		if r.dropped.Add(1)%1000 == 1 {
			r.log.Warn("call records are arriving faster than the store takes them; dropping some", "dropped", r.dropped.Load())
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
	batch := make([]api.Call, 0, 256)
	write := func(ctx context.Context) {
		if len(batch) == 0 {
			return
		}
		if err := r.store.RecordCalls(ctx, batch); err != nil {
			r.log.Error("could not store call records", "count", len(batch), "error", err)
		}
		batch = batch[:0]
	}
	for {
		select {
		case c := <-r.ch:
			batch = append(batch, c)
			if len(batch) == cap(batch) {
				write(ctx)
			}
		case <-flush.C:
			write(ctx)
		case <-prune.C:
			r.prune(ctx)
		case <-ctx.Done():
			// The last records outlive ctx: the server stops HTTP first, so these are final.
			wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			for {
				select {
				case c := <-r.ch:
					batch = append(batch, c)
					continue
				default:
				}
				break
			}
			write(wctx)
			return nil
		}
	}
}

func (r *Recorder) prune(ctx context.Context) {
	n, err := r.store.PruneCalls(ctx, time.Now().Add(-r.cfg.Retention))
	if err != nil {
		r.log.Error("could not remove old call records", "error", err)
	} else if n > 0 {
		r.log.Info("removed old call records", "count", n, "retention", r.cfg.Retention)
	}
}
