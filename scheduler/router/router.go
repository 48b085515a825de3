package router

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
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
}

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
	rt := &Router{pool: p, cfg: cfg, log: log, transports: map[string]*http.Transport{}}
	rt.proxy = &httputil.ReverseProxy{
		Rewrite:        rt.rewrite,
		Transport:      roundTripFunc(rt.roundTrip),
		ModifyResponse: rt.modifyResponse,
		ErrorHandler:   rt.proxyError,
		// Flush every write: a function may stream its answer.
		FlushInterval: -1,
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	return rt
}

// call is the per-call state carried in the request's context through the reverse proxy.
type call struct {
	id       string
	function string
	path     string
	lease    *pool.Lease
	deadline time.Time
	outcome  pool.Outcome
}

type callKey struct{}

// Invoke serves one call to function, with path the part of the URL after the function's name
// ("/" when there is none), escaped as the caller sent it.
func (rt *Router) Invoke(w http.ResponseWriter, r *http.Request, function, path string) {
	if r.ContentLength > rt.cfg.MaxBodyBytes {
		writeError(w, http.StatusRequestEntityTooLarge, api.CodeTooLarge, tooLarge(rt.cfg.MaxBodyBytes))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, rt.cfg.MaxBodyBytes)
	timeout, ok := rt.pool.Timeout(function)
	if !ok {
		writeError(w, http.StatusNotFound, api.CodeNotFound, fmt.Sprintf("function %q not found: deploy it first (hearth deploy)", function))
		return
	}

	acquireCtx, cancel := context.WithTimeout(r.Context(), rt.cfg.AcquireTimeout)
	lease, err := rt.pool.Acquire(acquireCtx, function)
	cancel()
	if err != nil {
		rt.acquireError(w, r, function, err)
		return
	}

	c := &call{id: newCallID(), function: function, path: path, lease: lease, deadline: time.Now().Add(timeout)}
	ctx, cancelCall := context.WithDeadline(context.WithValue(r.Context(), callKey{}, c), c.deadline)
	defer cancelCall()
	// Release in a defer: ReverseProxy aborts the handler with a panic (http.ErrAbortHandler)
	// when the body copy fails mid-stream, and the slot must come back even then.
	defer func() {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			c.outcome = pool.OutcomeTimedOut
		}
		lease.Release(c.outcome)
	}()
	w.Header().Set(contract.HeaderCallID, c.id)
	rt.proxy.ServeHTTP(w, r.WithContext(ctx))
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
	if resp.Header.Get(contract.HeaderFailed) != "" {
		c := resp.Request.Context().Value(callKey{}).(*call)
		c.outcome = pool.OutcomeFailed
		resp.Header.Del(contract.HeaderFailed)
	}
	return nil
}

// proxyError answers a call whose proxying failed before a response came back.
func (rt *Router) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	c := r.Context().Value(callKey{}).(*call)
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, api.CodeTooLarge, tooLarge(tooBig.Limit))
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(r.Context().Err(), context.DeadlineExceeded):
		c.outcome = pool.OutcomeTimedOut
		timeout, _ := rt.pool.Timeout(c.function)
		writeError(w, http.StatusGatewayTimeout, api.CodeTimeout,
			fmt.Sprintf("function %s did not answer within its timeout of %s; the call was cut off and the instance replaced", c.function, timeout))
	case errors.Is(err, context.Canceled):
		// The caller went away; nobody reads an answer.
	default:
		c.outcome = pool.OutcomeFailed
		rt.log.Warn("instance failed during a call", "function", c.function, "instance", c.lease.InstanceID(), "call_id", c.id, "error", err)
		writeError(w, http.StatusBadGateway, api.CodeInstanceFailed,
			fmt.Sprintf("instance of %s failed during the call (%v); it is being replaced", c.function, err))
	}
}

// acquireError answers a call that got no instance.
func (rt *Router) acquireError(w http.ResponseWriter, r *http.Request, function string, err error) {
	switch {
	case errors.Is(err, pool.ErrUnknownFunction):
		writeError(w, http.StatusNotFound, api.CodeNotFound, fmt.Sprintf("function %q not found: deploy it first (hearth deploy)", function))
	case errors.Is(err, driver.ErrUnavailable):
		writeError(w, http.StatusServiceUnavailable, api.CodeUnavailable, err.Error())
	case errors.Is(err, context.DeadlineExceeded) && r.Context().Err() == nil:
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, api.CodeUnavailable,
			fmt.Sprintf("no instance of %s became available within %s", function, rt.cfg.AcquireTimeout))
	case errors.Is(err, pool.ErrClosed):
		writeError(w, http.StatusServiceUnavailable, api.CodeUnavailable, "the server is shutting down")
	case r.Context().Err() != nil:
		// The caller went away while waiting.
	case errors.Is(err, agent.ErrNotReady):
		writeError(w, http.StatusBadGateway, api.CodeInstanceFailed, err.Error())
	default:
		rt.log.Error("could not get an instance", "function", function, "error", err)
		writeError(w, http.StatusBadGateway, api.CodeInstanceFailed, fmt.Sprintf("could not start an instance of %s: %v", function, err))
	}
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
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

// newCallID returns a random 128-bit id in hex.
func newCallID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
