package logs

import "time"

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

// tag returns the id of the call that a line written at t belongs to, or "" when that is not
// clear. A line belongs to a call when t falls within exactly one call's [start, end] (a call
// still running has no end yet). When it falls within none, it is taken as the output of a
// call that ended at most h.late before t, if exactly one did: the engine stamps a line when
// it reads it, which can be a little after the router saw the answer of the call that wrote
// it. Calls overlapping at t, on an instance with concurrency above 1, leave the line untagged.
func (h *callHistory) tag(t time.Time) string {
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
	for _, c := range h.calls {
		if !c.end.IsZero() && t.After(c.end) && t.Sub(c.end) <= h.late {
			id, n = c.id, n+1
		}
	}
	if n == 1 {
		return id
	}
	return ""
}
