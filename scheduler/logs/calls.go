package logs

import (
	"strings"
	"time"
)

// maxCallHistory bounds how many calls an instance remembers for tagging. Calls in flight are
// always remembered; of those that ended, the oldest are forgotten first. Lines reach the
// collector milliseconds after they are written, so only the last few calls ever matter.
const maxCallHistory = 128

// interval is one call on one instance: [start, end], end zero while the call runs.
type interval struct {
	id         string
	start, end time.Time
}

func (iv interval) contains(t time.Time) bool {
	return !t.Before(iv.start) && (iv.end.IsZero() || !t.After(iv.end))
}

// callHistory is what one instance ran recently. It decides which call a line belongs to from
// the line's time alone: the runtimes do not mark their output, so a line printed by a handler
// is recognised by being written while its call ran. It is not safe for concurrent use.
type callHistory struct {
	calls []interval // in order of start
	// late is how long after a call ended a line is still taken as the call's, when no call ran
	// at the line's time (see tag).
	late time.Duration
}

func (h *callHistory) started(id string, at time.Time) {
	h.calls = append(h.calls, interval{id: id, start: at})
	if len(h.calls) <= maxCallHistory {
		return
	}
	for i, c := range h.calls {
		if !c.end.IsZero() {
			h.calls = append(h.calls[:i], h.calls[i+1:]...)
			return
		}
	}
}

func (h *callHistory) ended(id string, at time.Time) {
	for i := len(h.calls) - 1; i >= 0; i-- {
		if h.calls[i].id == id && h.calls[i].end.IsZero() {
			h.calls[i].end = at
			return
		}
	}
}

// tag returns the id of the call that a line written at t with text belongs to, or "" when that
// is not clear.
//
// A line that names a call this instance ran (call_id=ID, as every shim writes its own lines and
// ctx.logger's) is that call's. Otherwise time decides: a line belongs to a call when t falls
// within exactly one call's [start, end] (a call still running has no end yet). When it falls
// within none, it is taken as the output of the call that ended last before t, at most h.late
// before, unless another call ran alongside that one: the engine stamps a line when it reads it,
// a little after it was written, and a shim logs a call once its answer is out. Calls
// overlapping at t, on an instance with concurrency above 1, leave the line untagged.
func (h *callHistory) tag(t time.Time, text string) string {
	if id := namedCall(text); id != "" && h.knows(id) {
		return id
	}
	id, n := "", 0
	for _, c := range h.calls {
		if c.contains(t) {
			id, n = c.id, n+1
		}
	}
	if n == 1 {
		return id
	}
	if n > 1 {
		return ""
	}
	last := -1
	for i, c := range h.calls {
		if !c.end.IsZero() && t.After(c.end) && t.Sub(c.end) <= h.late && (last < 0 || c.end.After(h.calls[last].end)) {
			last = i
		}
	}
	if last < 0 {
		return ""
	}
	for i, c := range h.calls {
		if i != last && c.overlaps(h.calls[last]) {
			return ""
		}
	}
	return h.calls[last].id
}

// overlaps reports whether iv and o ran at the same time at some point.
func (iv interval) overlaps(o interval) bool {
	return !iv.start.After(o.end) && (iv.end.IsZero() || !iv.end.Before(o.start))
}

// knows reports whether the instance ran the call id recently.
func (h *callHistory) knows(id string) bool {
	for _, c := range h.calls {
		if c.id == id {
			return true
		}
	}
	return false
}

// namedCall is the call id a logfmt line names (call_id=ID or call_id="ID"), or "".
func namedCall(text string) string {
	const key = "call_id="
	i := strings.Index(text, key)
	if i < 0 || i > 0 && text[i-1] != ' ' {
		return ""
	}
	v := text[i+len(key):]
	if end := strings.IndexAny(v, " \t"); end >= 0 {
		v = v[:end]
	}
	return strings.Trim(v, `"`)
}
