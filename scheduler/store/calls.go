package store

import (
	"context"
	"errors"
	"time"

	"github.com/hearthfn/hearth/api"
)

// ErrQueueFull: EnqueueAsync found the async queue at its bound.
var ErrQueueFull = errors.New("async queue is full")

// AsyncRequest is what an async call replays against its function when it runs.
type AsyncRequest struct {
	Method string              `json:"method"`
	Path   string              `json:"path"`  // escaped, "/" when none
	Query  string              `json:"query"` // raw query, without "?"
	Header map[string][]string `json:"header,omitempty"`
	Body   []byte              `json:"body,omitempty"`
}

// AsyncCall is a queued async call with its request.
type AsyncCall struct {
	Call    api.Call
	Request AsyncRequest
	// Due is when the call may run next (later than now while a retry backs off).
	Due time.Time
}

// CallFilter selects calls for ListCalls. Zero fields select everything.
type CallFilter struct {
	Function string
	Status   api.CallStatus
	// Version, when above 0, keeps the calls one version of the function served.
	Version int
	// Before is a call id: only calls older than it by (created_at, id) are listed (paging,
	// newest first: pass the last id of the previous page).
	Before string
	// Limit caps the number of calls; 0 (or less) means 50, and more than 1000 means 1000.
	Limit int
}

// CallStore keeps call records and the durable async queue. Calls are listed newest first
// (created_at, then id). An async call is queued → running → finished; a process that dies
// while calls run leaves them running, and RequeueRunning at the next start queues them again:
// async calls run at least once, never zero times.
type CallStore interface {
	// RecordCalls stores finished sync calls (the recorder batches them off the hot path), all
	// or none. A call whose id is stored already is skipped, so writing a batch again is
	// harmless. A call without an id or CreatedAt, or whose status is not finished, is an error.
	RecordCalls(ctx context.Context, calls []api.Call) error

	// EnqueueAsync stores an accepted async call, status queued and due at c.CreatedAt, unless
	// maxQueued async calls are queued or running already (ErrQueueFull, wrapped). Of c it
	// keeps the id, function, version, alias, creation time, callback URL and trigger. An id
	// stored already is an error. It returns once the call is durable: it survives the process
	// being killed.
	EnqueueAsync(ctx context.Context, c api.Call, req AsyncRequest, maxQueued int) error

	// ClaimAsync marks up to limit queued calls due at or before now as running (attempts + 1,
	// started_at = now) and returns them as they now are, oldest due first (then by created_at,
	// then id). A limit below 1 claims nothing.
	ClaimAsync(ctx context.Context, now time.Time, limit int) ([]AsyncCall, error)

	// FinishAsync records how a running async call ended: c's status (finished), http status,
	// version (when non-zero), times, instance, cold, error and result (nil: none). A zero
	// c.StartedAt keeps the claim's.
	// ErrNotFound unless c.ID is an async call that is running (so a call already finished is
	// never overwritten).
	FinishAsync(ctx context.Context, c api.Call) error

	// RetryAsync puts a running async call back in the queue, due at due, keeping errMsg as its
	// latest error. ErrNotFound unless id is an async call that is running.
	RetryAsync(ctx context.Context, id string, due time.Time, errMsg string) error

	// RequeueRunning queues every running async call again and returns how many: at start,
	// any call still running was cut off by the end of an earlier process.
	RequeueRunning(ctx context.Context) (int, error)

	// GetCall returns one call (with its result, for async ones). ErrNotFound when unknown.
	GetCall(ctx context.Context, id string) (api.Call, error)

	// ListCalls returns calls matching f, newest first, without results. ErrNotFound when
	// f.Before names no stored call.
	ListCalls(ctx context.Context, f CallFilter) ([]api.Call, error)

	// CallsSince calls fn with every call created at or after since, in whatever state, oldest
	// first (created_at, then id), without results, until the calls run out or fn returns an
	// error, which CallsSince returns. It reads in pages, so that no read holds the store long
	// and fn may take its time: a call stored meanwhile may or may not be seen, and none is
	// seen twice. It is how the dashboard's figures are rebuilt at start (scheduler/stats).
	CallsSince(ctx context.Context, since time.Time, fn func(api.Call) error) error

	// PruneCalls removes finished calls that finished before before (strictly), never queued
	// or running ones, and returns how many.
	PruneCalls(ctx context.Context, before time.Time) (int, error)
}
