package api

import (
	"strings"
	"time"
)

// LogLine is one entry a function's instance wrote to its stdout or stderr: a line, or the
// lines of one multi-line message (a stack trace) joined (docs/user/logs.md). GET
// /v1/functions/{name}/logs answers with one JSON object per entry (application/x-ndjson).
type LogLine struct {
	// Time is when the container engine received the (first) line.
	Time time.Time `json:"time"`
	// Instance is the id of the instance that wrote it.
	Instance string `json:"instance"`
	// Stream is "stdout" or "stderr".
	Stream string `json:"stream"`
	// CallID is the call the instance was serving when it wrote the line; empty when that is not
	// known (a line from the instance's start, or one written while it served several calls).
	CallID string `json:"call_id"`
	// Line is the text, without its last line break; a multi-line entry's lines are joined
	// with "\n".
	Line string `json:"line"`
}

// DefaultLogTail is how many of the last lines GET /v1/functions/{name}/logs sends when the
// request says nothing (no tail parameter).
const DefaultLogTail = 100

// LogQuery selects a function's log lines: the query parameters of GET
// /v1/functions/{name}/logs.
type LogQuery struct {
	// Follow keeps the answer open and sends new lines as they come (follow=true).
	Follow bool
	// CallID keeps only the lines of one call (call=ID): its id, or the end of it such as the
	// eight characters `hearth logs` shows. The end, not the start: ids begin with the time
	// they were made, so calls of the same minute share their first characters.
	CallID string
	// Tail is how many of the last selected lines are sent first (tail=N): 0 none (with Follow:
	// only new lines), a negative number all that are kept (tail=all).
	Tail int
	// Since keeps only lines written at or after it (since=RFC3339 time); zero for no limit.
	Since time.Time
}

// Match reports whether q's call and time filters keep l.
func (q LogQuery) Match(l LogLine) bool {
	return strings.HasSuffix(l.CallID, q.CallID) && !l.Time.Before(q.Since)
}
