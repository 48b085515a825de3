package calls

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/outbound"
	"github.com/hearthfn/hearth/scheduler/router"
	"github.com/hearthfn/hearth/scheduler/store"
)

// Invoker serves a call; the router's Invoke.
type Invoker interface {
	Invoke(w http.ResponseWriter, r *http.Request, function, path string)
}

// RunnerConfig tunes the Runner. Zero fields take defaults.
type RunnerConfig struct {
	// MaxQueued bounds the async calls queued or running (default 1000).
	MaxQueued int
	// Workers is how many async calls run at once (default 16); each still takes a slot of
	// its function's pool like any call.
	Workers int
	// Attempts is how many times a call is run before an infrastructure failure is final
	// (default 3).
	Attempts int
	// Backoff is the wait before the first retry (default 1 s); it doubles per attempt up to
	// MaxBackoff (default 1 min).
	Backoff, MaxBackoff time.Duration
	// Poll is how often the queue is looked at when nothing woke the runner (default 1 s): it
	// is what picks up retries as they come due.
	Poll time.Duration
	// MaxResultBytes bounds the stored answer of a call (default 10 MiB).
	MaxResultBytes int
	// Callback is the client callbacks are sent with. The default, a client of
	// scheduler/outbound's default policy with a 10 s timeout, refuses loopback, link-local and
	// private targets; the server passes one that also knows its own addresses.
	Callback *http.Client
	// CallbackPause is the pause after a callback's first failed try (default 1 s); it grows
	// by as much after each further try.
	CallbackPause time.Duration
}

// Runner runs async calls from the store's queue through the router.
type Runner struct {
	cfg    RunnerConfig
	store  store.CallStore
	invoke Invoker
	log    *slog.Logger
	wake   chan struct{}
	wg     sync.WaitGroup // running calls and callbacks
}

// NewRunner returns a runner; Run must run for calls to run.
func NewRunner(st store.CallStore, inv Invoker, cfg RunnerConfig, log *slog.Logger) *Runner {
	if cfg.MaxQueued <= 0 {
		cfg.MaxQueued = 1000
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 16
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = 3
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = time.Minute
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.MaxResultBytes <= 0 {
		cfg.MaxResultBytes = 10 << 20
	}
	if cfg.Callback == nil {
		cfg.Callback = outbound.New(outbound.Config{}).Client(10 * time.Second)
	}
	if cfg.CallbackPause <= 0 {
		cfg.CallbackPause = time.Second
	}
	return &Runner{cfg: cfg, store: st, invoke: inv, log: log, wake: make(chan struct{}, 1)}
}

// SetInvoker sets the invoker after construction: the router needs the runner (as its
// AsyncQueue) and the runner the router.
func (r *Runner) SetInvoker(inv Invoker) { r.invoke = inv }

// Enqueue implements router.AsyncQueue: it stores the call durably and wakes the runner.
func (r *Runner) Enqueue(ctx context.Context, c api.Call, req store.AsyncRequest) error {
	if err := r.store.EnqueueAsync(ctx, c, req, r.cfg.MaxQueued); err != nil {
		return err
	}
	select {
	case r.wake <- struct{}{}:
	default:
	}
	return nil
}

// Run queues again the calls an earlier process left running, then runs due calls until ctx
// ends. It then waits for the calls it started: they run on under their own deadlines, and a
// call the pool can no longer serve stays running in the store, to run again after a restart.
func (r *Runner) Run(ctx context.Context) error {
	if n, err := r.store.RequeueRunning(ctx); err != nil {
		return fmt.Errorf("requeue async calls cut off by an earlier stop: %w", err)
	} else if n > 0 {
		r.log.Info("requeued async calls cut off by an earlier stop", "count", n)
	}
	slots := make(chan struct{}, r.cfg.Workers)
	poll := time.NewTicker(r.cfg.Poll)
	defer poll.Stop()
	defer r.wg.Wait()
	claims := storeBackoff{min: r.cfg.Backoff, max: maxStoreBackoff}
	for {
		if free := cap(slots) - len(slots); free > 0 && claims.ready(time.Now()) {
			claimed, err := r.store.ClaimAsync(ctx, time.Now(), free)
			if pause := claims.done(err, time.Now()); err != nil && ctx.Err() == nil {
				r.log.Error("could not read the async queue", "error", err, "next_try_in", pause)
			}
			for _, ac := range claimed {
				slots <- struct{}{}
				r.wg.Add(1)
				go func() {
					defer r.wg.Done()
					defer func() { <-slots; r.poke() }()
					r.run(ctx, ac)
				}()
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-r.wake:
		case <-poll.C:
		}
	}
}

func (r *Runner) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// run runs one claimed call and settles it in the store.
func (r *Runner) run(ctx context.Context, ac store.AsyncCall) {
	rec := ac.Call
	req, err := request(ac)
	if err != nil {
		rec.Status, rec.Error, rec.FinishedAt = api.CallError, err.Error(), time.Now()
		r.settle(ctx, rec)
		return
	}
	w := newBufferWriter(r.cfg.MaxResultBytes)
	// The call runs on when the runner stops: Run waits for it, and the server stops the pool
	// only after that, so a call cut short by shutdown is the exception, not the rule.
	runCtx := router.RunAsync(context.WithoutCancel(ctx), &rec)
	r.invoke.Invoke(w, req.WithContext(runCtx), ac.Call.Function, ac.Request.Path)
	switch {
	case ctx.Err() != nil && retryable(rec):
		// Stopping: leave it running in the store; the next start queues it again without
		// spending an attempt on our shutdown.
		return
	case retryable(rec) && rec.Attempts < r.cfg.Attempts:
		due := time.Now().Add(r.backoff(rec.Attempts))
		if err := r.untilWritable(ctx, "retry", rec.ID, func(wctx context.Context) error {
			return r.store.RetryAsync(wctx, rec.ID, due, rec.Error)
		}); err != nil {
			r.log.Error("could not requeue an async call", "call_id", rec.ID, "error", err)
		}
		r.log.Info("async call will be retried", "call_id", rec.ID, "function", rec.Function, "attempt", rec.Attempts, "at", due, "error", rec.Error)
		return
	}
	rec.Result = &api.CallResult{Status: w.status, Headers: w.header, Body: w.buf.Bytes()}
	if w.truncated {
		rec.Error = fmt.Sprintf("the answer was longer than %d bytes and was cut there", r.cfg.MaxResultBytes)
	}
	r.settle(ctx, rec)
}

// retryable reports whether the call failed for the platform's reasons (and may succeed when
// run again) rather than the handler's.
func retryable(c api.Call) bool {
	return c.Status == api.CallError && (c.HTTPStatus == 0 || c.HTTPStatus == http.StatusBadGateway || c.HTTPStatus == http.StatusServiceUnavailable)
}

func (r *Runner) backoff(attempt int) time.Duration {
	d := r.cfg.Backoff
	for i := 1; i < attempt && d < r.cfg.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, r.cfg.MaxBackoff)
}

// settle stores the finished call and sends its callback; ctx is the runner's, which ends the
// callback's retries, and the store write's while the store cannot be written, when the server
// stops.
func (r *Runner) settle(ctx context.Context, rec api.Call) {
	if err := r.untilWritable(ctx, "finish", rec.ID, func(wctx context.Context) error {
		return r.store.FinishAsync(wctx, rec)
	}); err != nil {
		r.log.Error("could not record the end of an async call", "call_id", rec.ID, "error", err)
		return
	}
	if rec.CallbackURL != "" {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.callback(ctx, rec)
		}()
	}
}

// request rebuilds the caller's request from the stored one.
func request(ac store.AsyncCall) (*http.Request, error) {
	u := &url.URL{Path: "/invoke/" + ac.Call.Function, RawQuery: ac.Request.Query}
	req, err := http.NewRequest(ac.Request.Method, u.String(), bytes.NewReader(ac.Request.Body))
	if err != nil {
		return nil, fmt.Errorf("rebuild the stored request: %w", err)
	}
	req.Header = http.Header(ac.Request.Header).Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	req.ContentLength = int64(len(ac.Request.Body))
	req.RemoteAddr = "async"
	return req, nil
}
