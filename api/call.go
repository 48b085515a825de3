package api

import "time"

// CallStatus is where a call is in its life.
type CallStatus string

const (
	// CallQueued: an async call accepted and waiting to run (or to be retried).
	CallQueued CallStatus = "queued"
	// CallRunning: an async call taken by the runner.
	CallRunning CallStatus = "running"
	// CallSucceeded: the function answered with a status below 500.
	CallSucceeded CallStatus = "succeeded"
	// CallFailed: the function answered 5xx or its handler failed. Async calls are not retried
	// on it: the handler ran.
	CallFailed CallStatus = "failed"
	// CallTimedOut: the call ran past the function's timeout.
	CallTimedOut CallStatus = "timed_out"
	// CallError: the platform could not run the call (no instance, instance died, engine away).
	// An async call ends here only once its retries are spent.
	CallError CallStatus = "error"
	// CallCanceled: the caller went away before the answer.
	CallCanceled CallStatus = "canceled"
)

// Finished reports whether a call with this status has ended.
func (s CallStatus) Finished() bool {
	return s != CallQueued && s != CallRunning
}

// Call is the record of one call, sync or async.
type Call struct {
	ID       string     `json:"id"`
	Function string     `json:"function"`
	Version  int        `json:"version,omitempty"`
	Async    bool       `json:"async"`
	Status   CallStatus `json:"status"`
	// HTTPStatus is the status the caller got (sync) or the function answered (async).
	HTTPStatus int       `json:"http_status,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	StartedAt  time.Time `json:"started_at,omitzero"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
	// DurationMS is from the start (an instance leased) to the end of the answer.
	DurationMS float64 `json:"duration_ms,omitempty"`
	Instance   string  `json:"instance,omitempty"`
	// Cold is "new" or "resumed" when the call waited for its instance; empty when warm.
	Cold  string `json:"cold,omitempty"`
	Error string `json:"error,omitempty"`
	// Attempts counts runs of an async call.
	Attempts    int    `json:"attempts,omitempty"`
	CallbackURL string `json:"callback_url,omitempty"`
	// Trigger marks a call a trigger made: "cron/<name>", or "cron/<name> (catch-up of N)" for
	// the one call that stands for N times missed while the server was down.
	Trigger string `json:"trigger,omitempty"`
	// Alias is the alias the call came through (/invoke/NAME@ALIAS, or the function's default
	// alias); empty when it named no alias.
	Alias string `json:"alias,omitempty"`
	// Result is an async call's answer, once it has one.
	Result *CallResult `json:"result,omitempty"`
}

// CallResult is the answer an async call got from its function.
type CallResult struct {
	Status  int                 `json:"status"`
	Headers map[string][]string `json:"headers,omitempty"`
	Body    []byte              `json:"body"`
}

// CallAccepted is the body of the 202 answer to an async call.
type CallAccepted struct {
	ID     string     `json:"id"`
	Status CallStatus `json:"status"`
	URL    string     `json:"url"`
}

// CallList is the body of GET /v1/calls: newest first. Next, when set, is the cursor of the
// following page (pass it as ?before=).
type CallList struct {
	Items []Call `json:"items"`
	Next  string `json:"next,omitempty"`
}
