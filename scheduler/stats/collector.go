package stats

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/pool"
	"github.com/hearthfn/hearth/scheduler/store"
)

// Window is how far back the collector keeps figures.
const Window = 24 * time.Hour

// The rings of every function: a minute per slot for Window, ten seconds per slot for the last
// hour.
const (
	minuteWidth = 60
	minuteSlots = int64(Window / time.Minute)
	fineWidth   = 10
	fineSlots   = int64(time.Hour / (fineWidth * time.Second))
)

// maxFailures is how many failed calls each function keeps for the overview; maxErrorBytes
// bounds the error message each keeps (the call's record has it whole).
const (
	maxFailures   = 20
	maxErrorBytes = 1024
)

// PoolStats is the pool's snapshot of its instances (scheduler/pool.Pool).
type PoolStats interface {
	Stats() pool.Stats
}

// NodeLister lists the cluster's nodes as GET /v1/nodes reports them (scheduler/server's
// nodes API).
type NodeLister interface {
	List(ctx context.Context) ([]api.Node, error)
}

// CallSource streams stored calls (store.CallStore.CallsSince), for the backfill.
type CallSource interface {
	CallsSince(ctx context.Context, since time.Time, fn func(api.Call) error) error
}

// Config is what a Collector reads besides the calls. Zero fields take defaults.
type Config struct {
	// Pool gives the instance counts of the overview; nil counts none.
	Pool PoolStats
	// Nodes gives the overview's nodes; nil lists none.
	Nodes NodeLister
	// NodesMaxAge is how old the overview's node list may be before Run fetches it again
	// (default 2 s); the overview never waits for it but the first time.
	NodesMaxAge time.Duration
	// SweepEvery is how often Run frees the slots of periods past the window (default 10 min).
	SweepEvery time.Duration
	// Now is the clock; tests inject their own.
	Now func() time.Time
	Log *slog.Logger
}

// Collector keeps per-function rollups of finished calls in memory. It is safe for concurrent
// use.
type Collector struct {
	cfg Config
	// born is when the collector was made: calls that finished before it come from the
	// backfill, later ones from the feed.
	born time.Time

	fns sync.Map // function name → *function: every function with figures or metadata

	mu sync.Mutex
	// known are the registry's functions by name; sorted is them sorted by name, made by the
	// first overview after a change (nil until then), so that a deploy of a new function costs
	// a map insert, not a copy of the list. sorted is replaced, never changed in place, so a
	// reader may keep it after letting go of mu.
	known  map[string]*function // guarded by mu
	sorted []*function          // guarded by mu

	nodes   nodeCache
	refresh chan struct{} // asks Run to fetch the nodes again
}

// function is one function's figures. All fields but name are guarded by mu.
type function struct {
	name string

	mu sync.Mutex
	// meta is the registry's current version; known says it has one (SetFunction and no
	// RemoveFunction since).
	meta    meta
	known   bool
	minutes ring
	fine    ring
	// failures are the newest failed calls, oldest first by (CreatedAt, ID), at most
	// maxFailures.
	failures []api.Call
}

type meta struct {
	version int
	runtime string
	public  bool
}

// New returns a collector; Run must run for its node list to stay fresh and for the backfill.
func New(cfg Config) *Collector {
	if cfg.NodesMaxAge <= 0 {
		cfg.NodesMaxAge = 2 * time.Second
	}
	if cfg.SweepEvery <= 0 {
		cfg.SweepEvery = 10 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Collector{cfg: cfg, born: cfg.Now(), refresh: make(chan struct{}, 1), known: map[string]*function{}}
}

func (c *Collector) function(name string) *function {
	if f, ok := c.fns.Load(name); ok {
		return f.(*function)
	}
	f, _ := c.fns.LoadOrStore(name, &function{name: name, minutes: newRing(minuteWidth, minuteSlots),
		fine: newRing(fineWidth, fineSlots)})
	return f.(*function)
}

// SetFunction records a function's current version: the overview lists the functions set, and
// a function's series is answered once it is set. The registry's pool hook calls it on every
// Apply, which includes the server's start (registry.Restore).
func (c *Collector) SetFunction(fn api.Function) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := c.function(fn.Name)
	f.mu.Lock()
	f.meta = meta{version: fn.Version.Number, runtime: fn.Version.Spec.Runtime, public: fn.Version.Spec.Public}
	f.known = true
	f.mu.Unlock()
	if _, ok := c.known[fn.Name]; !ok {
		c.known[fn.Name] = f
		c.sorted = nil
	}
}

// RemoveFunction forgets a deleted function and its figures: a function deployed again under
// its name starts afresh.
func (c *Collector) RemoveFunction(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fns.Delete(name)
	if _, ok := c.known[name]; ok {
		delete(c.known, name)
		c.sorted = nil
	}
}

// sortedKnown returns the known functions sorted by name, sorting them once per change.
func (c *Collector) sortedKnown() []*function {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sorted == nil && len(c.known) > 0 {
		c.sorted = slices.SortedFunc(maps.Values(c.known), func(a, b *function) int { return strings.Compare(a.name, b.name) })
	}
	return c.sorted
}

// lookup returns the function name when it is known.
func (c *Collector) lookup(name string) (*function, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f, ok := c.known[name]
	return f, ok
}

// Observe counts one finished call. Unfinished calls and calls without a function are ignored,
// as are calls created outside the window. It takes the function's lock for a few additions
// and allocates only the first time a slot of the function's rings is used.
func (c *Collector) Observe(call api.Call) {
	c.observe(call, c.cfg.Now().Unix())
}

// ObserveAll counts finished calls, as Observe does.
func (c *Collector) ObserveAll(calls []api.Call) {
	now := c.cfg.Now().Unix()
	for i := range calls {
		c.observe(calls[i], now)
	}
}

func (c *Collector) observe(call api.Call, now int64) {
	if !call.Status.Finished() || call.Function == "" {
		return
	}
	f := c.function(call.Function)
	f.mu.Lock()
	f.add(&call, now)
	f.mu.Unlock()
}

// add counts call in both rings, and keeps it when it failed; the caller holds f.mu.
func (f *function) add(call *api.Call, now int64) {
	created := call.CreatedAt.Unix()
	failed := Failed(*call)
	bucket := -1
	if call.DurationMS > 0 {
		bucket = histIndex(call.DurationMS)
	}
	for _, r := range []*ring{&f.minutes, &f.fine} {
		s := r.at(floorDiv(created, r.width), floorDiv(now, r.width))
		if s == nil {
			continue
		}
		s.calls++
		if failed {
			s.errors++
		}
		switch call.Cold {
		case string(pool.ColdNew):
			s.coldNew++
		case string(pool.ColdResumed):
			s.coldResumed++
		}
		if bucket >= 0 {
			s.timed++
			s.hist[bucket]++
		}
	}
	if failed && created > now-int64(Window/time.Second) {
		f.keepFailure(call)
	}
}

// Failed reports whether a finished call counts as an error: its status is failed (the handler
// failed or answered 5xx), timed_out or error (the platform could not run it), or, a canceled
// call aside, its HTTP status is 500 or above. A canceled call (the caller went away) is not
// an error.
func Failed(c api.Call) bool {
	switch c.Status {
	case api.CallFailed, api.CallTimedOut, api.CallError:
		return true
	case api.CallCanceled:
		return false
	}
	return c.HTTPStatus >= 500
}

// keepFailure keeps call among f's newest failures, as a listing shows it: without its result,
// its error cut at maxErrorBytes.
func (f *function) keepFailure(call *api.Call) {
	if len(f.failures) == maxFailures && !newer(call, &f.failures[0]) {
		return
	}
	kept := *call
	kept.Result = nil
	if len(kept.Error) > maxErrorBytes {
		kept.Error = strings.ToValidUTF8(kept.Error[:maxErrorBytes], "") + "…"
	}
	if f.failures == nil {
		f.failures = make([]api.Call, 0, maxFailures)
	}
	i, _ := slices.BinarySearchFunc(f.failures, &kept, func(a api.Call, b *api.Call) int {
		if newer(&a, b) {
			return 1
		}
		if newer(b, &a) {
			return -1
		}
		return 0
	})
	if len(f.failures) == maxFailures {
		copy(f.failures[:i-1], f.failures[1:i])
		f.failures[i-1] = kept
		return
	}
	f.failures = slices.Insert(f.failures, i, kept)
}

// newer orders calls as listings do: by creation, then id.
func newer(a, b *api.Call) bool { return after(a.CreatedAt, a.ID, b.CreatedAt, b.ID) }

// after reports whether the call created at at with id id comes after the one created at bt
// with id bid.
func after(at time.Time, id string, bt time.Time, bid string) bool {
	if c := at.Compare(bt); c != 0 {
		return c > 0
	}
	return id > bid
}

// floorDiv is a/b rounded down (b > 0).
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// Feed returns st with the collector listening: every batch of sync call records the store
// takes (RecordCalls), and every async call it finishes (FinishAsync), is counted once the
// write has succeeded. The recorder and the async runner write through it, so the counting
// happens on their goroutines, off the invoke path, and the figures hold exactly what the
// store holds.
func (c *Collector) Feed(st store.CallStore) store.CallStore { return feed{CallStore: st, c: c} }

type feed struct {
	store.CallStore
	c *Collector
}

func (f feed) RecordCalls(ctx context.Context, calls []api.Call) error {
	err := f.CallStore.RecordCalls(ctx, calls)
	if err == nil {
		f.c.ObserveAll(calls)
	}
	return err
}

func (f feed) FinishAsync(ctx context.Context, call api.Call) error {
	err := f.CallStore.FinishAsync(ctx, call)
	if err == nil {
		f.c.Observe(call)
	}
	return err
}

// Backfill counts the stored calls of the window that finished before until (the calls that
// finish later are the feed's), oldest first, and returns how many it counted.
func (c *Collector) Backfill(ctx context.Context, src CallSource, until time.Time) (int, error) {
	n := 0
	err := src.CallsSince(ctx, c.cfg.Now().Add(-Window), func(call api.Call) error {
		if call.Status.Finished() && call.FinishedAt.Before(until) {
			c.Observe(call)
			n++
		}
		return nil
	})
	return n, err
}

// Run backfills from src (nil: none) the calls that finished before the collector was made,
// keeps the node list fresh and frees old slots, until ctx ends; it returns once the backfill
// has stopped too.
func (c *Collector) Run(ctx context.Context, src CallSource) {
	var wg sync.WaitGroup
	defer wg.Wait()
	if src != nil {
		wg.Go(func() {
			start := time.Now()
			n, err := c.Backfill(ctx, src, c.born)
			if err != nil && ctx.Err() == nil {
				c.cfg.Log.Error("could not read the last day's calls for the dashboard's figures; they start from now", "counted", n, "error", err)
				return
			}
			c.cfg.Log.Info("read the last day's calls for the dashboard's figures", "calls", n, "took", time.Since(start).Round(time.Millisecond))
		})
	}
	sweep := time.NewTicker(c.cfg.SweepEvery)
	defer sweep.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-sweep.C:
			c.Sweep()
		case <-c.refresh:
			c.fetchNodes(ctx)
		}
	}
}

// Sweep frees the slots of periods past the window and failures older than it, and forgets
// functions that are not known and have nothing left. It holds one function's lock at a time.
func (c *Collector) Sweep() {
	now := c.cfg.Now()
	oldest := now.Add(-Window)
	var empty []*function
	c.fns.Range(func(_, v any) bool {
		f := v.(*function)
		f.mu.Lock()
		defer f.mu.Unlock()
		left := f.minutes.sweep(floorDiv(now.Unix(), minuteWidth))
		left = f.fine.sweep(floorDiv(now.Unix(), fineWidth)) || left
		drop := 0
		for drop < len(f.failures) && f.failures[drop].CreatedAt.Before(oldest) {
			drop++
		}
		f.failures = f.failures[drop:]
		if len(f.failures) == 0 {
			f.failures = nil
		}
		if !f.known && !left && f.failures == nil {
			empty = append(empty, f)
		}
		return true
	})
	// SetFunction holds c.mu while it makes a function known, so one checked again under c.mu
	// cannot become known before it is deleted.
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range empty {
		f.mu.Lock()
		gone := !f.known && f.minutes.empty() && f.fine.empty() && f.failures == nil
		f.mu.Unlock()
		if gone {
			c.fns.CompareAndDelete(f.name, f)
		}
	}
}
