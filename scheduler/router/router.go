package router

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/hearthfn/hearth/agent"
	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/runtimes/contract"
	"github.com/hearthfn/hearth/scheduler/pool"
)

// Pool is the slice of the pool the router uses.
type Pool interface {
	Acquire(ctx context.Context, function string) (*pool.Lease, error)
	Timeout(function string) (time.Duration, bool)
}

// Config tunes the router.
type Config struct {
	// MaxBodyBytes is the largest request body a call may send (413 above it).
	MaxBodyBytes int64
	// AcquireTimeout bounds how long a call may wait for an instance (a cold start included)
	// before it fails with 503. The function's own timeout starts once an instance is leased.
	AcquireTimeout time.Duration
	// Observer, when set, hears how every call ended (metrics); nil for none.
	Observer CallObserver
	// Recorder, when set, gets the record of every sync call.
	Recorder Recorder
	// Async, when set, takes calls sent with Hearth-Async: true; without it they get 503.
	Async AsyncQueue
	// Calls, when set, hears which call runs on which instance and when, so that the lines an
	// instance prints can be tagged with their call (scheduler/logs).
	Calls CallTracker
	// Callbacks, when set, vets an async call's callback URL before the call is accepted; nil
	// checks only that it is an http(s) URL.
	Callbacks CallbackChecker
}

// CallbackChecker decides whether a callback URL may be used (scheduler/outbound's Guard).
type CallbackChecker interface {
	// CheckURL returns nil when rawURL may be called back now, else why not: an error wrapping
	// outbound.ErrForbiddenAddress for an address callbacks may not reach, or another error
	// (a name that does not resolve). ctx bounds a name lookup.
	CheckURL(ctx context.Context, rawURL string) error
}

// CallTracker hears when a call starts and ends on an instance. It is on the hot path: cheap,
// no I/O.
type CallTracker interface {
	CallStarted(instanceID, callID string, at time.Time)
	CallEnded(instanceID, callID string, at time.Time)
}

// CallObserver hears the end of every call that reached Invoke, once per call, after its answer
// was written. It is on the hot path: it must be cheap and must not block.
type CallObserver interface {
	// CallDone reports a call to function that ended with outcome (one of the Outcome
	// constants) took after it arrived. For OutcomeNotFound, function is "": names of functions
	// that do not exist come from callers and would make any label set unbounded.
	CallDone(function, outcome string, took time.Duration)
}

// How a call ended at the platform level, as CallObserver hears it.
const (
	OutcomeOK             = "ok"              // an instance answered, with any status
	OutcomeHandlerError   = "handler_error"   // the shim reported a crash (contract.HeaderFailed)
	OutcomeTimeout        = "timeout"         // cut off at the function's timeout (504)
	OutcomeInstanceFailed = "instance_failed" // the instance died or could not start (502)
	OutcomeQueueFull      = "queue_full"      // the function's queue was full (503)
	OutcomeUnavailable    = "unavailable"     // any other 503: engine down, no capacity, no instance in time, shutting down
	OutcomeNotFound       = "not_found"       // no such function (404)
	OutcomeTooLarge       = "too_large"       // the request body was over the limit (413)
	OutcomeCanceled       = "canceled"        // the caller went away first
)

// DefaultConfig returns the defaults: 10 MiB bodies, 60 s to get an instance.
func DefaultConfig() Config {
	return Config{MaxBodyBytes: 10 << 20, AcquireTimeout: 60 * time.Second}
}

// Router proxies calls to function instances.
type Router struct {
	pool  Pool
	cfg   Config
	log   *slog.Logger
	proxy *httputil.ReverseProxy

	// transports holds one HTTP transport per instance, so that keep-alive connections never
	// outlive their instance: container IPs are reused, and a stale connection to a reused
	// address would fail a call. Forget drops an instance's transport when it stops.
	mu         sync.Mutex
	transports map[string]*http.Transport // guarded by mu

	// aliases resolve NAME@ALIAS and NAME@N (alias.go); randN picks among an alias's versions.
	aliases Aliases
	randN   func(n int) int
}

// New returns a router over p.
func New(p Pool, cfg Config, log *slog.Logger) *Router {
	def := DefaultConfig()
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = def.MaxBodyBytes
	}
	if cfg.AcquireTimeout <= 0 {
		cfg.AcquireTimeout = def.AcquireTimeout
	}
	rt := &Router{pool: p, cfg: cfg, log: log, transports: map[string]*http.Transport{}, randN: defaultRandN}
	rt.proxy = &httputil.ReverseProxy{
		Rewrite:        rt.rewrite,
		Transport:      roundTripFunc(rt.roundTrip),
		ModifyResponse: rt.modifyResponse,
		ErrorHandler:   rt.proxyError,
		// No flush interval: an answer of unknown length (a function streaming, or Server-Sent
		// Events) is flushed after every write all the same (ReverseProxy does that for them), and
		// an answer of known length goes out with its header in one write. Flushing every write
		// of those too cost a timer goroutine and an extra write per call, a tenth of the
		// server's CPU at concurrency 16 (docs/performance.md).
		FlushInterval: 0,
		BufferPool:    newBufferPool(),
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	return rt
}

// call is the per-call state carried in the request's context through the reverse proxy.
type call struct {
	id string
	// function is the function's name, without "@..."; entry is the pool entry serving the
	// call ("NAME" or "NAME@3", alias.go) and alias the alias the call came through.
	function string
	entry    string
	alias    string
	path     string
	lease    *pool.Lease
	leasedAt time.Time
	deadline time.Time
	outcome  pool.Outcome
	// result is the call's Outcome constant for the observer.
	result string
	// errMsg is the message of a shim's error answer (a handler crash), for the call's record.
	errMsg string
	// free gives the instance's slot back and ends the call's interval on it (scheduler/logs),
	// once: at the end of the instance's answer (releaseAtEOF) or when Invoke returns, whichever
	// comes first; the first outcome counts. Only the handler's goroutine calls it.
	free  func(pool.Outcome)
	freed bool
}

type callKey struct{}

// Invoke serves one call to function, with path the part of the URL after the function's name
// ("/" when there is none), escaped as the caller sent it. function may name an alias or a
// version after "@" (NAME@live, NAME@3; alias.go). A request with Hearth-Async: true is
// queued instead (see accept); the async runner replays it here later, with RunAsync's context.
func (rt *Router) Invoke(w http.ResponseWriter, r *http.Request, function, path string) {
	run := asyncRunOf(r.Context())
	if run == nil && isAsync(r) {
		rt.accept(w, r, function, path)
		return
	}
	function, selector := api.SplitTarget(function)
	if run != nil && selector == "" {
		// An async call goes where it was sent: through its alias, or to its pinned version.
		switch {
		case run.Alias != "":
			selector = run.Alias
		case run.Version > 0:
			selector = strconv.Itoa(run.Version)
		}
	}
	rw := &recordingWriter{ResponseWriter: w}
	c := &call{function: function, entry: function, path: path, result: OutcomeOK}
	if run != nil {
		c.id = run.ID
	} else {
		c.id = newCallID()
	}
	start := time.Now()
	defer func() { rt.finish(c, rw, start, run) }()
	rw.Header().Set(contract.HeaderCallID, c.id)

	if r.ContentLength > rt.cfg.MaxBodyBytes {
		writeError(rw, http.StatusRequestEntityTooLarge, api.CodeTooLarge, tooLarge(rt.cfg.MaxBodyBytes))
		if _, ok := rt.pool.Timeout(function); !ok {
			c.function = "" // a name that does not exist is no label; see CallObserver
		}
		c.result = OutcomeTooLarge
		return
	}
	r.Body = http.MaxBytesReader(rw, r.Body, rt.cfg.MaxBodyBytes)
	if _, ok := rt.pool.Timeout(function); !ok {
		writeError(rw, http.StatusNotFound, api.CodeNotFound, fmt.Sprintf("function %q not found: deploy it first (hearth deploy)", function))
		c.result = OutcomeNotFound
		return
	}
	t, err := rt.resolve(r.Context(), function, selector)
	if err != nil {
		c.result = rt.targetError(rw, function, err)
		return
	}
	c.entry, c.alias = t.entry, t.alias
	timeout, ok := rt.pool.Timeout(c.entry)
	if !ok {
		writeError(rw, http.StatusNotFound, api.CodeNotFound, fmt.Sprintf("function %q not found: deploy it first (hearth deploy)", function))
		c.result = OutcomeNotFound
		return
	}

	acquireCtx, cancel := context.WithTimeout(r.Context(), rt.cfg.AcquireTimeout)
	lease, err := rt.pool.Acquire(acquireCtx, c.entry)
	cancel()
	if err != nil {
		c.result = rt.acquireError(rw, r, function, err)
		return
	}

	c.lease, c.leasedAt = lease, time.Now()
	if rt.cfg.Calls != nil {
		rt.cfg.Calls.CallStarted(lease.InstanceID(), c.id, c.leasedAt)
	}
	c.free = func(o pool.Outcome) {
		if c.freed {
			return
		}
		c.freed = true
		lease.Release(o)
		if rt.cfg.Calls != nil {
			rt.cfg.Calls.CallEnded(lease.InstanceID(), c.id, time.Now())
		}
	}
	c.deadline = c.leasedAt.Add(timeout)
	ctx, cancelCall := context.WithDeadline(context.WithValue(r.Context(), callKey{}, c), c.deadline)
	defer cancelCall()
	// Release in a defer: ReverseProxy aborts the handler with a panic (http.ErrAbortHandler)
	// when the body copy fails mid-stream, and the slot must come back even then. An answer cut
	// off that way went wrong on the caller's side or the instance's.
	answered := false
	defer func() {
		switch {
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			c.outcome, c.result = pool.OutcomeTimedOut, OutcomeTimeout
		case !answered && c.result == OutcomeOK && r.Context().Err() != nil:
			c.result = OutcomeCanceled
		case !answered && c.result == OutcomeOK:
			// The caller is still there, so the instance broke the answer off: replace it.
			c.outcome, c.result = pool.OutcomeFailed, OutcomeInstanceFailed
		}
		c.free(c.outcome)
	}()
	if r.ContentLength != 0 {
		// Keep the caller's body flowing to the instance after its answer has begun. By default
		// Go's HTTP/1 server drains and closes a request body when the answer's header goes out:
		// an instance that streams both ways would never get the rest, and the transport's last
		// read of the body (the check for bytes past Content-Length) can come after that close,
		// which tears down the connection to the instance and cuts a whole answer off
		// (golang/go#40747). The async runner's writer has no full duplex and needs none.
		_ = http.NewResponseController(rw).EnableFullDuplex()
	}
	rt.proxy.ServeHTTP(rw, r.WithContext(ctx))
	answered = true
}

func (rt *Router) rewrite(pr *httputil.ProxyRequest) {
	c := pr.In.Context().Value(callKey{}).(*call)
	pr.Out.URL.Scheme = "http"
	pr.Out.URL.Host = c.lease.Endpoint()
	// c.path is escaped: keep it as RawPath so that "a%2Fb" stays one segment, and give Path
	// its decoded form; url.URL uses RawPath when it is a valid encoding of Path.
	if p, err := url.PathUnescape(c.path); err == nil {
		pr.Out.URL.Path, pr.Out.URL.RawPath = p, c.path
	} else {
		pr.Out.URL.Path, pr.Out.URL.RawPath = c.path, ""
	}
	pr.Out.Host = c.lease.Endpoint()
	pr.SetXForwarded()
	pr.Out.Header.Set(contract.HeaderCallID, c.id)
	pr.Out.Header.Set(contract.HeaderDeadline, c.deadline.UTC().Format(time.RFC3339Nano))
	pr.Out.Header.Del(contract.HeaderFailed)
}

func (rt *Router) roundTrip(req *http.Request) (*http.Response, error) {
	c := req.Context().Value(callKey{}).(*call)
	return rt.transport(c.lease.InstanceID()).RoundTrip(req)
}

func (rt *Router) transport(instanceID string) *http.Transport {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	t := rt.transports[instanceID]
	if t == nil {
		t = &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 1024,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		}
		rt.transports[instanceID] = t
	}
	return t
}

// Forget closes the connections to a stopped instance. The pool calls it (through the server's
// wiring) whenever an instance leaves service.
func (rt *Router) Forget(instanceID string) {
	rt.mu.Lock()
	t := rt.transports[instanceID]
	delete(rt.transports, instanceID)
	rt.mu.Unlock()
	if t != nil {
		t.CloseIdleConnections()
	}
}

func (rt *Router) modifyResponse(resp *http.Response) error {
	// Invoke set the call id on the answer already; a shim that echoes it must not double it.
	resp.Header.Del(contract.HeaderCallID)
	c := resp.Request.Context().Value(callKey{}).(*call)
	start := api.StartWarm
	if cold := c.lease.Cold(); cold != pool.Warm {
		start = string(cold)
	}
	resp.Header.Set(api.HeaderStart, start)
	if resp.Header.Get(contract.HeaderFailed) != "" {
		c.outcome, c.result = pool.OutcomeFailed, OutcomeHandlerError
		resp.Header.Del(contract.HeaderFailed)
		c.errMsg = peekErrorMessage(resp)
	}
	resp.Body = &releaseAtEOF{ReadCloser: resp.Body, c: c}
	return nil
}

// releaseAtEOF frees the call's slot as soon as the instance's answer has been read to its end,
// before its last bytes are written to the caller. Freed after that write instead, a caller
// that sends its next call as soon as it has the answer could find the instance still busy and
// make the pool start another one. The first outcome counts: a call that ends badly after this
// (the caller gone, the deadline passed while writing) was no fault of the instance. The
// reverse proxy reads on the handler's goroutine, so free needs no lock.
type releaseAtEOF struct {
	io.ReadCloser
	c *call
}

func (b *releaseAtEOF) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.c.free(b.c.outcome)
	}
	return n, err
}

// maxErrorPeek bounds how much of a shim's error answer is read for its message.
const maxErrorPeek = 16 << 10

// peekErrorMessage returns the message of a shim's error answer (contract.ErrorBody) and leaves
// resp's body whole for the caller. Only crashed calls take this path, never a normal answer.
func peekErrorMessage(resp *http.Response) string {
	peek, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorPeek))
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(peek), resp.Body), resp.Body}
	var body contract.ErrorBody
	if err == nil && json.Unmarshal(peek, &body) == nil && body.Error.Message != "" {
		return body.Error.Message
	}
	return fmt.Sprintf("the handler failed (HTTP %d) without a readable error message", resp.StatusCode)
}

// proxyError answers a call whose proxying failed before a response came back.
func (rt *Router) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	c := r.Context().Value(callKey{}).(*call)
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		c.result = OutcomeTooLarge
		writeError(w, http.StatusRequestEntityTooLarge, api.CodeTooLarge, tooLarge(tooBig.Limit))
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(r.Context().Err(), context.DeadlineExceeded):
		c.outcome, c.result = pool.OutcomeTimedOut, OutcomeTimeout
		timeout, _ := rt.pool.Timeout(c.entry)
		writeError(w, http.StatusGatewayTimeout, api.CodeTimeout,
			fmt.Sprintf("function %s did not answer within its timeout of %s; the call was cut off and the instance replaced", c.function, timeout))
	case errors.Is(err, context.Canceled):
		// The caller went away; nobody reads an answer.
		c.result = OutcomeCanceled
	default:
		c.outcome, c.result = pool.OutcomeFailed, OutcomeInstanceFailed
		rt.log.Warn("instance failed during a call", "function", c.function, "instance", c.lease.InstanceID(), "call_id", c.id, "error", err)
		writeError(w, http.StatusBadGateway, api.CodeInstanceFailed,
			fmt.Sprintf("instance of %s failed during the call (%v); it is being replaced", c.function, err))
	}
}

// acquireError answers a call that got no instance and returns the call's outcome.
func (rt *Router) acquireError(w http.ResponseWriter, r *http.Request, function string, err error) string {
	switch {
	case errors.Is(err, pool.ErrUnknownFunction):
		writeError(w, http.StatusNotFound, api.CodeNotFound, fmt.Sprintf("function %q not found: deploy it first (hearth deploy)", function))
		return OutcomeNotFound
	case errors.Is(err, pool.ErrNoCapacity), errors.Is(err, driver.ErrNoCapacity):
		// No Retry-After: waiting does not help. The pool's error, or the engine's (a cluster
		// that cannot place the instance), names the figures. Before the backoff: a start the
		// engine cannot place is no less so for being retried.
		msg := err.Error()
		if err == pool.ErrNoCapacity {
			msg = fmt.Sprintf("function %s reserves more memory or CPU than this node can give one instance: lower memory (func.yaml)", function)
		}
		writeError(w, http.StatusServiceUnavailable, api.CodeNoCapacity, msg)
		return OutcomeUnavailable
	case errors.Is(err, pool.ErrStartBackoff):
		// Checked first: the error also wraps the last start's, which may be any of below.
		var be *pool.BackoffError
		retry := time.Second
		if errors.As(err, &be) && be.RetryIn > retry {
			retry = be.RetryIn
		}
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(retry.Seconds()))))
		writeError(w, http.StatusServiceUnavailable, api.CodeUnavailable, err.Error())
		return OutcomeUnavailable
	case errors.Is(err, pool.ErrQueueFull):
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, api.CodeQueueFull,
			fmt.Sprintf("every instance of %s is busy and its queue of waiting calls is full: retry later, or raise queue or max_instances (func.yaml)", function))
		return OutcomeQueueFull
	case errors.Is(err, driver.ErrUnavailable):
		// The pool notices an engine that is back within its health interval.
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, api.CodeUnavailable, err.Error())
		return OutcomeUnavailable
	case errors.Is(err, context.DeadlineExceeded) && r.Context().Err() == nil:
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, api.CodeUnavailable,
			fmt.Sprintf("no instance of %s became available within %s", function, rt.cfg.AcquireTimeout))
		return OutcomeUnavailable
	case errors.Is(err, pool.ErrClosed):
		writeError(w, http.StatusServiceUnavailable, api.CodeUnavailable, "the server is shutting down")
		return OutcomeUnavailable
	case r.Context().Err() != nil:
		// The caller went away while waiting.
		return OutcomeCanceled
	case errors.Is(err, agent.ErrNotReady):
		writeError(w, http.StatusBadGateway, api.CodeInstanceFailed, err.Error())
		return OutcomeInstanceFailed
	case errors.Is(err, driver.ErrImageNotFound):
		// The node has lost the image (pruned, or a node that never built it) and pulls from
		// no public registry: the driver's error says to deploy again. No Retry-After:
		// waiting does not bring the image back.
		writeError(w, http.StatusServiceUnavailable, api.CodeUnavailable,
			fmt.Sprintf("function %s cannot start on this node: %v", function, err))
		return OutcomeUnavailable
	default:
		rt.log.Error("could not get an instance", "function", function, "error", err)
		writeError(w, http.StatusBadGateway, api.CodeInstanceFailed, fmt.Sprintf("could not start an instance of %s: %v", function, err))
		return OutcomeInstanceFailed
	}
}

// writeError answers with the platform's error body; the call's record keeps the message.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	if rw, ok := w.(*recordingWriter); ok {
		rw.errMsg = msg
	}
	contract.WriteError(w, status, code, msg)
}

func tooLarge(limit int64) string {
	return fmt.Sprintf("request body is larger than the limit of %d bytes (%s)", limit, humanBytes(limit))
}

func humanBytes(n int64) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d KiB", n>>10)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// newCallID returns a 128-bit id in hex that sorts by time, like a ULID: the Unix time in
// milliseconds (48 bits) then 80 random bits. Every call is stored under its id, and ids that
// grow with time are appended to the store's index instead of landing at random places in it:
// recording a call costs less than half as much in SQLite (see BenchmarkRecordCalls).
func newCallID() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(time.Now().UnixMilli())<<16) // 48 bits, then b[6:] is random
	_, _ = rand.Read(b[6:])
	return hex.EncodeToString(b[:])
}
