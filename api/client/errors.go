package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/hearthfn/hearth/api"
)

// Sentinel errors. A *Error matches the sentinel of its error code, and failing that the
// sentinel of its HTTP status, so callers write errors.Is(err, client.ErrNotFound) whatever the
// exact shape of the answer.
var (
	// ErrInvalid means the request was rejected as invalid (400, code "invalid"); the
	// *Error's Detail.Field names the offending input when the server knows it.
	ErrInvalid = errors.New("invalid request")
	// ErrNotFound means the function (or other resource) does not exist (404).
	ErrNotFound = errors.New("not found")
	// ErrConflict means the request conflicts with the current state (409).
	ErrConflict = errors.New("conflict")
	// ErrTooLarge means the request body is over the server's limit (413).
	ErrTooLarge = errors.New("request too large")
	// ErrUnavailable means the server cannot do the work right now, typically because Docker
	// is unreachable (503).
	ErrUnavailable = errors.New("service unavailable")
	// ErrQueueFull means the function's queue of waiting calls (or the async queue) is full
	// (503 with Retry-After, code "queue_full"): retry later, or raise the function's queue or
	// max_instances. It also matches ErrUnavailable.
	ErrQueueFull = errors.New("queue full")
	// ErrNoCapacity means the function needs more memory or CPU than the node can give one
	// instance (503, code "no_capacity"): retrying will not help, lower its memory or cpu. It
	// also matches ErrUnavailable.
	ErrNoCapacity = errors.New("no capacity")
	// ErrTimeout means a call ran past its function's timeout (504).
	ErrTimeout = errors.New("timed out")
	// ErrBuildFailed means a deploy's image build failed; the *Error's message carries the
	// build output.
	ErrBuildFailed = errors.New("build failed")
	// ErrHandler means the function's handler failed (code "handler_error").
	ErrHandler = errors.New("handler error")
	// ErrInstanceFailed means the instance serving a call died or could not start (502).
	ErrInstanceFailed = errors.New("instance failed")
	// ErrUnauthorized means the request carried no token, or one the server does not accept
	// (unknown, revoked, expired) (401).
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden means the token's role or function scope does not allow the request, or the
	// server refused a cross-site request (403).
	ErrForbidden = errors.New("forbidden")
	// ErrServer means any other 5xx answer.
	ErrServer = errors.New("server error")
	// ErrUnreachable means no HTTP answer came back at all: the connection was refused, the
	// host is unknown, or dialling timed out.
	ErrUnreachable = errors.New("server unreachable")
	// ErrProtocol means the server answered with something this client cannot read (a
	// malformed body, a deploy stream that ended without a result).
	ErrProtocol = errors.New("unexpected answer from server")
)

// codeSentinels maps api error codes to the sentinels they match; it is consulted before the
// status, so that an error reported inside a deploy stream (after a 200) still matches.
var codeSentinels = map[string][]error{
	api.CodeInvalid:        {ErrInvalid},
	api.CodeNotFound:       {ErrNotFound},
	api.CodeConflict:       {ErrConflict},
	api.CodeTooLarge:       {ErrTooLarge},
	api.CodeUnavailable:    {ErrUnavailable},
	api.CodeQueueFull:      {ErrQueueFull, ErrUnavailable},
	api.CodeNoCapacity:     {ErrNoCapacity, ErrUnavailable},
	api.CodeBuildFailed:    {ErrBuildFailed},
	api.CodeTimeout:        {ErrTimeout},
	api.CodeHandlerError:   {ErrHandler},
	api.CodeInstanceFailed: {ErrInstanceFailed},
	api.CodeInternal:       {ErrServer},
	api.CodeUnauthorized:   {ErrUnauthorized},
	api.CodeForbidden:      {ErrForbidden},
}

// statusSentinels maps HTTP statuses to sentinels for answers without a known code (a proxy's
// HTML error page, an older server).
var statusSentinels = map[int]error{
	http.StatusBadRequest:            ErrInvalid,
	http.StatusNotFound:              ErrNotFound,
	http.StatusConflict:              ErrConflict,
	http.StatusRequestEntityTooLarge: ErrTooLarge,
	http.StatusServiceUnavailable:    ErrUnavailable,
	http.StatusGatewayTimeout:        ErrTimeout,
	http.StatusBadGateway:            ErrInstanceFailed,
	http.StatusUnauthorized:          ErrUnauthorized,
	http.StatusForbidden:             ErrForbidden,
}

// Error is an error answer from the server: a non-2xx status with its api.ErrorBody, or an
// "error" event in a deploy stream.
type Error struct {
	// Status is the HTTP status, or 0 when the error arrived as an event inside a deploy
	// stream whose status was already 200.
	Status int
	// Detail is the server's error detail. When the body was not an api.ErrorBody, Code is
	// empty and Message holds the start of the body or the status text.
	Detail api.ErrorDetail
}

// Error returns the server's message, prefixed by the offending field when there is one. The
// status is left out: the message is written for people and already says what went wrong.
func (e *Error) Error() string {
	msg := e.Detail.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	if msg == "" {
		msg = fmt.Sprintf("server answered status %d", e.Status)
	}
	if e.Detail.Field != "" && !strings.Contains(msg, e.Detail.Field) {
		msg = e.Detail.Field + ": " + msg
	}
	return msg
}

// Is reports whether target is a sentinel for e's code or, failing that, for its status.
func (e *Error) Is(target error) bool {
	if ss, ok := codeSentinels[e.Detail.Code]; ok {
		return slices.Contains(ss, target)
	}
	if s, ok := statusSentinels[e.Status]; ok {
		return s == target
	}
	return e.Status >= 500 && target == ErrServer
}

// maxErrorBody bounds how much of an error answer is read: enough for any ErrorBody, and for
// the start of a proxy's HTML page, which is all a person needs to see.
const maxErrorBody = 64 << 10

// DecodeError turns an error answer (status and body) into a *Error. It reads the body as an
// api.ErrorBody when it is one; otherwise it keeps the body's first line as the message, so
// that an answer from a proxy in front of hearth still says something useful. The second
// result reports whether the body was an api.ErrorBody, which lets the invoke path tell the
// platform's errors from a function's own non-2xx answers.
func DecodeError(status int, body []byte) (*Error, bool) {
	var eb api.ErrorBody
	if err := json.Unmarshal(body, &eb); err == nil && (eb.Error.Code != "" || eb.Error.Message != "") {
		return &Error{Status: status, Detail: eb.Error}, true
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(body)), "\n")
	if len(line) > 200 {
		line = line[:200] + "..."
	}
	msg := http.StatusText(status)
	if line != "" {
		msg = fmt.Sprintf("%s (%d %s)", strings.TrimSpace(line), status, http.StatusText(status))
	}
	return &Error{Status: status, Detail: api.ErrorDetail{Message: msg}}, false
}

// UnreachableError is returned when the server did not answer at all. It matches
// ErrUnreachable and unwraps to the network error.
type UnreachableError struct {
	// URL is the server's base URL.
	URL string
	// Err is the underlying network error.
	Err error
}

// Error says which server was tried and how to point the client elsewhere.
func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach the hearth server at %s: is it running? (set HEARTH_API)", e.URL)
}

// Unwrap returns the network error.
func (e *UnreachableError) Unwrap() error { return e.Err }

// Is matches ErrUnreachable.
func (e *UnreachableError) Is(target error) bool { return target == ErrUnreachable }
