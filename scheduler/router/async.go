package router

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/runtimes/contract"
	"github.com/hearthfn/hearth/scheduler/outbound"
	"github.com/hearthfn/hearth/scheduler/store"
)

// AsyncQueue takes async calls: it stores them durably and runs them later (scheduler/calls).
// Enqueue returns store.ErrQueueFull (wrapped) when the queue is at its bound.
type AsyncQueue interface {
	Enqueue(ctx context.Context, c api.Call, req store.AsyncRequest) error
}

type asyncRunKey struct{}

// RunAsync returns a context under which Invoke runs the async call rec: with rec's id, and
// writing the call's record into rec instead of handing it to the Recorder.
func RunAsync(ctx context.Context, rec *api.Call) context.Context {
	return context.WithValue(ctx, asyncRunKey{}, rec)
}

// isAsync reports whether the caller asked for an async call.
func isAsync(r *http.Request) bool {
	v := r.Header.Get(api.HeaderAsync)
	return strings.EqualFold(v, "true") || v == "1"
}

// AsyncRecord returns the record an async run's Invoke fills in (see RunAsync), or nil for a
// sync call. Invokers other than the router (test fakes) fill it the same way.
func AsyncRecord(ctx context.Context) *api.Call { return asyncRunOf(ctx) }

func asyncRunOf(ctx context.Context) *api.Call {
	rec, _ := ctx.Value(asyncRunKey{}).(*api.Call)
	return rec
}

// accept queues an async call: it checks what can be checked now (the function, the body's
// size, the callback), stores the request durably and answers 202 with the call's id.
func (rt *Router) accept(w http.ResponseWriter, r *http.Request, target, path string) {
	start := time.Now()
	function, selector := api.SplitTarget(target)
	fail := func(status int, code, outcome, msg string) {
		writeError(w, status, code, msg)
		if rt.cfg.Observer != nil {
			rt.cfg.Observer.CallDone(function, outcome, time.Since(start))
		}
	}
	if rt.cfg.Async == nil {
		fail(http.StatusServiceUnavailable, api.CodeUnavailable, OutcomeUnavailable, "this server does not take async calls")
		return
	}
	if _, ok := rt.pool.Timeout(function); !ok {
		msg := fmt.Sprintf("function %q not found: deploy it first (hearth deploy)", function)
		function = "" // a name that does not exist is no label; see CallObserver
		fail(http.StatusNotFound, api.CodeNotFound, OutcomeNotFound, msg)
		return
	}
	// The alias or version is checked now, and the call records it: it runs through the same
	// alias (weights as they are then), or on the same version, when its turn comes.
	t, err := rt.resolve(r.Context(), function, selector)
	if err != nil {
		outcome := rt.targetError(w, function, err)
		if rt.cfg.Observer != nil {
			if outcome == OutcomeNotFound {
				function = ""
			}
			rt.cfg.Observer.CallDone(function, outcome, time.Since(start))
		}
		return
	}
	callback := r.Header.Get(api.HeaderCallbackURL)
	if callback != "" {
		if u, err := url.Parse(callback); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			fail(http.StatusBadRequest, api.CodeInvalid, OutcomeUnavailable,
				fmt.Sprintf("%s %q is not an http(s) URL", api.HeaderCallbackURL, callback))
			return
		}
		if rt.cfg.Callbacks != nil {
			if err := rt.cfg.Callbacks.CheckURL(r.Context(), callback); err != nil {
				fail(http.StatusBadRequest, api.CodeInvalid, OutcomeUnavailable, callbackRefused(callback, err))
				return
			}
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, rt.cfg.MaxBodyBytes))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		fail(http.StatusRequestEntityTooLarge, api.CodeTooLarge, OutcomeTooLarge, tooLarge(tooBig.Limit))
		return
	case err != nil:
		return // the caller went away mid-body
	}
	header := r.Header.Clone()
	for _, h := range []string{api.HeaderAsync, api.HeaderCallbackURL, "Connection", "Keep-Alive", "Te", "Trailer", "Transfer-Encoding", "Upgrade"} {
		header.Del(h)
	}
	c := api.Call{ID: newCallID(), Function: function, Async: true, Status: api.CallQueued, CreatedAt: start, CallbackURL: callback,
		Alias: t.alias, Version: t.pinned}
	req := store.AsyncRequest{Method: r.Method, Path: path, Query: r.URL.RawQuery, Header: header, Body: body}
	if err := rt.cfg.Async.Enqueue(r.Context(), c, req); err != nil {
		if errors.Is(err, store.ErrQueueFull) {
			w.Header().Set("Retry-After", "5")
			fail(http.StatusServiceUnavailable, api.CodeQueueFull, OutcomeQueueFull, "the async queue is full: retry later")
			return
		}
		rt.log.Error("could not queue an async call", "function", function, "error", err)
		if errors.Is(err, store.ErrUnavailable) {
			// Nothing was stored, and the store may take the same call in a moment.
			w.Header().Set("Retry-After", "5")
		}
		fail(http.StatusServiceUnavailable, api.CodeUnavailable, OutcomeUnavailable, "could not queue the call: "+err.Error())
		return
	}
	w.Header().Set(contract.HeaderCallID, c.ID)
	w.Header().Set("Location", "/v1/calls/"+c.ID)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_ = json.NewEncoder(w).Encode(api.CallAccepted{ID: c.ID, Status: c.Status, URL: "/v1/calls/" + c.ID})
}

// callbackRefused is the message of a 400 for a callback URL the checker refused: the
// checker's reason, and what the caller or the operator can do about it.
func callbackRefused(callback string, err error) string {
	msg := fmt.Sprintf("%s %s: %v", api.HeaderCallbackURL, callback, err)
	switch {
	case errors.Is(err, outbound.ErrForbiddenAddress):
		msg += "; callbacks to loopback, link-local, multicast, private and this server's own addresses are refused unless the server runs with --callback-allow-private"
	case errors.Is(err, outbound.ErrUnresolvable):
		msg += "; a callback's host must resolve when the async call is made"
	}
	return msg
}
