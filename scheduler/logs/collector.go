package logs

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/api"
)

// Defaults of Config.
const (
	DefaultMaxBytes   = 1 << 20
	DefaultMaxLines   = 10_000
	DefaultLateGrace  = 100 * time.Millisecond
	DefaultStopGrace  = 30 * time.Second
	DefaultRetryDelay = time.Second
	DefaultJoinWindow = 50 * time.Millisecond
)

// Source streams an instance's output: agent.Agent (and driver.Driver) satisfy it. The
// collector asks for one stream at a time, following, with timestamps.
type Source interface {
	Logs(ctx context.Context, id string, opts driver.LogOptions) (io.ReadCloser, error)
}

// CallTracker is told which call runs on which instance, and when, so that the lines an
// instance writes meanwhile are tagged with the call. The router calls it: CallStarted before
// it sends the request to the instance, CallEnded once the answer is through (or the call was
// cut off). at is the router's clock (time.Now()). Both are cheap and never block on I/O;
// unknown instances are ignored.
type CallTracker interface {
	CallStarted(instanceID, callID string, at time.Time)
	CallEnded(instanceID, callID string, at time.Time)
}

var _ CallTracker = (*Collector)(nil)

// Config configures a Collector. Zero fields take the defaults above.
type Config struct {
	// MaxBytes bounds what is kept per function: the lines' text plus a little per line. A
	// negative value turns collection off (the API then has no lines to show).
	MaxBytes int
	// MaxLines bounds how many entries (lines, or multi-line messages kept as one) are kept per
	// function.
	MaxLines int
	// LateGrace is how long after a call ended a line may still be tagged with it (see
	// callHistory.tag).
	LateGrace time.Duration
	// StopGrace is how long an instance's output is still read after the pool stopped it, so
	// that what it prints while shutting down is kept; the stream normally ends sooner, when
	// the instance is gone.
	StopGrace time.Duration
	// RetryDelay is the pause before a broken stream is opened again.
	RetryDelay time.Duration
	// JoinWindow is how soon after a line the next one must be written to continue it as one
	// entry (a stack trace's frames, see joins), and so how long a line is held back, waiting
	// for what may continue it, before followers see it. Negative: every line is an entry.
	JoinWindow time.Duration
	// Now stamps lines that come without a timestamp.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.MaxBytes == 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	if c.MaxLines <= 0 {
		c.MaxLines = DefaultMaxLines
	}
	if c.LateGrace <= 0 {
		c.LateGrace = DefaultLateGrace
	}
	if c.StopGrace <= 0 {
		c.StopGrace = DefaultStopGrace
	}
	if c.RetryDelay <= 0 {
		c.RetryDelay = DefaultRetryDelay
	}
	if c.JoinWindow == 0 {
		c.JoinWindow = DefaultJoinWindow
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Collector reads the output of every instance the pool starts and keeps each function's
// recent lines in memory, tagged with calls. It is safe for concurrent use.
type Collector struct {
	src Source
	cfg Config
	log *slog.Logger

	ctx    context.Context // parent of every follow; cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.RWMutex
	rings     map[string]*ring     // by function
	instances map[string]*followed // by instance id
	seq       uint64               // number of the last line added, over all functions
	// created is closed and replaced when a function's ring is created, waking those who wait
	// for a function that had no lines.
	created chan struct{}
	closed  bool
}

// followed is what the collector knows of one instance it follows.
type followed struct {
	function string

	callsMu sync.Mutex
	calls   callHistory

	// The rest is guarded by Collector.mu.
	cancel  context.CancelFunc
	readers int         // follows still running (one per stream)
	stopped bool        // the pool stopped it
	dropped bool        // its function was deleted: its lines are not kept
	timer   *time.Timer // ends the follows StopGrace after the stop
	// paused: the pool paused it, and its streams are closed until gate is closed (pause.go);
	// reading cancels each stream's current read.
	paused  bool
	gate    chan struct{}
	reading map[driver.Stream]context.CancelFunc
}

// New returns a Collector that reads instances' output from src.
func New(src Source, cfg Config, log *slog.Logger) *Collector {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Collector{
		src: src, cfg: cfg.withDefaults(), log: log, ctx: ctx, cancel: cancel,
		rings: map[string]*ring{}, instances: map[string]*followed{}, created: make(chan struct{}),
	}
}

// Started begins reading a ready instance's stdout and stderr, from its start, in the
// background. The pool calls it (pool.Config.OnStarted).
func (c *Collector) Started(function, instanceID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.cfg.MaxBytes < 0 || c.instances[instanceID] != nil {
		return
	}
	ctx, cancel := context.WithCancel(c.ctx)
	in := &followed{function: function, cancel: cancel, readers: 2, calls: callHistory{late: c.cfg.LateGrace}}
	c.instances[instanceID] = in
	c.wg.Add(2)
	go c.follow(ctx, in, instanceID, driver.StreamStdout)
	go c.follow(ctx, in, instanceID, driver.StreamStderr)
}

// Stopped says the pool took the instance out of service (pool.Config.OnStopped). Its output
// is read until it ends, or for StopGrace at most.
func (c *Collector) Stopped(instanceID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	in := c.instances[instanceID]
	if in == nil || in.stopped {
		return
	}
	in.stopped = true
	// A paused instance is thawed to be stopped: what it still writes, and what it wrote
	// before its pause and was not read, is read until its output ends.
	in.unpauseLocked()
	if in.readers == 0 {
		in.cancel()
		delete(c.instances, instanceID)
		return
	}
	in.timer = time.AfterFunc(c.cfg.StopGrace, in.cancel)
}

// readerDone is called as each follow of in ends.
func (c *Collector) readerDone(instanceID string, in *followed) {
	c.mu.Lock()
	defer c.mu.Unlock()
	in.readers--
	if in.readers > 0 || !in.stopped {
		return // an instance that died is kept until the pool stops it: calls may still end
	}
	if in.timer != nil {
		in.timer.Stop()
	}
	in.cancel()
	if c.instances[instanceID] == in {
		delete(c.instances, instanceID)
	}
}

// Forget drops a deleted function's lines, and whatever its instances still write.
func (c *Collector) Forget(function string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r := c.rings[function]; r != nil {
		close(r.changed)
		delete(c.rings, function)
	}
	for _, in := range c.instances {
		if in.function == function {
			in.dropped = true
		}
	}
}

// CallStarted implements CallTracker.
func (c *Collector) CallStarted(instanceID, callID string, at time.Time) {
	if in := c.instance(instanceID); in != nil {
		in.callsMu.Lock()
		in.calls.started(callID, at)
		in.callsMu.Unlock()
	}
}

// CallEnded implements CallTracker.
func (c *Collector) CallEnded(instanceID, callID string, at time.Time) {
	if in := c.instance(instanceID); in != nil {
		in.callsMu.Lock()
		in.calls.ended(callID, at)
		in.callsMu.Unlock()
	}
}

func (c *Collector) instance(id string) *followed {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.instances[id]
}

// add keeps an entry (a line, or the lines of one message joined by a joiner) that an
// instance began to write at t.
func (c *Collector) add(in *followed, instanceID string, stream driver.Stream, t time.Time, text string) {
	in.callsMu.Lock()
	callID := in.calls.tag(t, text)
	in.callsMu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || in.dropped {
		return
	}
	r := c.rings[in.function]
	if r == nil {
		r = newRing(c.cfg.MaxBytes, c.cfg.MaxLines)
		c.rings[in.function] = r
		close(c.created)
		c.created = make(chan struct{})
	}
	c.seq++
	r.add(c.seq, api.LogLine{Time: t, Instance: instanceID, Stream: string(stream), CallID: callID, Line: text})
}

// Lines returns the last q.Tail kept lines of function that q matches (all of them when
// q.Tail < 0), oldest first, and a cursor for After. Lines and After ignore q.Follow.
func (c *Collector) Lines(function string, q api.LogQuery) ([]api.LogLine, uint64) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if r := c.rings[function]; r != nil {
		return r.tail(q, q.Tail), c.seq
	}
	return nil, c.seq
}

// After returns function's lines that q matches and that were added since cursor was
// returned, the cursor to pass next, and a channel closed when more lines may have come. The
// channel is nil once the collector is closed: no more lines will come.
func (c *Collector) After(function string, q api.LogQuery, cursor uint64) ([]api.LogLine, uint64, <-chan struct{}) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return nil, cursor, nil
	}
	if r := c.rings[function]; r != nil {
		return r.after(q, cursor), c.seq, r.changed
	}
	return nil, c.seq, c.created
}

// Close stops reading every instance's output and ends every wait in After. Kept lines can
// still be read with Lines. It is safe to call more than once.
func (c *Collector) Close() {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		for _, r := range c.rings {
			close(r.changed)
			r.changed = make(chan struct{})
		}
		close(c.created)
		for _, in := range c.instances {
			if in.timer != nil {
				in.timer.Stop()
			}
		}
	}
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
}
