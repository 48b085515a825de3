package pool

import (
	"container/heap"
	"math/rand/v2"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/keepalive"
)

// This file schedules upkeep (upkeepLocked: the idle policy, min_instances, the prepared
// instance). A node full of functions is mostly functions with nothing to do: a paused instance
// whose pause_timeout is an hour away, a prepared one kept for a minute. So Reap does not visit
// every function on every tick; each function is queued by when its upkeep is next due, and
// Reap pops only the due ones.
//
// When it is due comes from two places:
//   - upkeepLocked ends by computing it from the function's instances and the clock
//     (nextDueLocked): the first instant at which the idle plan (planIdle, or planLearned) would
//     act if nothing else happened, the prepared instance's expiry, a prepare's retry;
//   - anything else that changes what the plan would say (an instance started, ready, paused,
//     resumed, stopped or drained; a call ended) brings the function forward to the next tick
//     (wakeLocked), where upkeep computes the exact time again.
//
// As a safety net against a change that reaches neither (a node that becomes placeable, which
// a prepare waits for), every function is visited at least every dueSafetyNet; the instant is
// drawn within its last quarter, so that functions applied together do not all come due on the
// same tick.

// dueSafetyNet is the longest a function goes without an upkeep.
const dueSafetyNet = time.Minute

// dueHeap is the functions by due time, earliest first (container/heap).
type dueHeap []*function

func (h dueHeap) Len() int           { return len(h) }
func (h dueHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h dueHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].dueIdx, h[j].dueIdx = i, j
}
func (h *dueHeap) Push(x any) {
	f := x.(*function)
	f.dueIdx = len(*h)
	*h = append(*h, f)
}
func (h *dueHeap) Pop() any {
	old := *h
	f := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	f.dueIdx = -1
	return f
}

// popDueLocked takes the functions whose upkeep is due at now out of the queue. They are
// popped before any is visited: a visit may queue its function again at or before now (a start
// that must wait), and that is for the next tick.
func (p *Pool) popDueLocked(now time.Time) []*function {
	var due []*function
	for len(p.due) > 0 && !p.due[0].due.After(now) {
		if f := heap.Pop(&p.due).(*function); !f.removed {
			due = append(due, f)
		}
	}
	return due
}

// scheduleLocked queues f's upkeep at at.
func (p *Pool) scheduleLocked(f *function, at time.Time) {
	if f.removed {
		return
	}
	f.due = at
	if f.dueIdx < 0 {
		heap.Push(&p.due, f)
		return
	}
	heap.Fix(&p.due, f.dueIdx)
}

// wakeLocked brings f's upkeep forward to the next tick: something changed that its due time
// did not foresee. Once due, further wakes cost nothing until the visit, so a busy function
// costs one heap fix per tick, not one per call.
func (p *Pool) wakeLocked(f *function) {
	if f.dueIdx >= 0 && f.due.IsZero() {
		return
	}
	p.scheduleLocked(f, time.Time{})
}

// unqueueLocked takes a removed function out of the queue.
func (p *Pool) unqueueLocked(f *function) {
	if f.dueIdx >= 0 {
		heap.Remove(&p.due, f.dueIdx)
	}
}

// nextDueLocked is when f's upkeep is next due, after upkeepLocked ran at now: the earliest of
// what its idle plan, its prepared instance and the safety net ask for. A time at or before now
// means the next tick (the plan could not be carried out now: a node out of reach, a start
// that found no room).
func (p *Pool) nextDueLocked(f *function, now time.Time) time.Time {
	at := now.Add(dueSafetyNet - rand.N(dueSafetyNet/4))
	earlier := func(t time.Time) {
		if !t.IsZero() && t.Before(at) {
			at = t
		}
	}
	var d idleDue
	if w, ok := p.learnedLocked(f); ok {
		d = dueLearned(now, f.spec, w, f.ka.idleSince, f.views())
	} else {
		d = dueIdle(now, f.spec, f.views())
	}
	if d.start && !d.at.After(now) && f.backingOffLocked(now) {
		d.at = f.retryAt // a start is what is due, and none may be tried before then
	}
	earlier(d.at)
	earlier(p.preparedDueLocked(f, now))
	return at
}

// idleDue is when an idle plan next acts; start says that what it does then is start an
// instance (min_instances, a pre-warm), which a backoff may put off. A zero at is never (until
// something changes).
type idleDue struct {
	at    time.Time
	start bool
}

// dueIdle is the first instant from now at which planIdle(t, s, _, ins) does something, given
// that nothing else changes: at it the plan acts, a moment before it does not. It follows
// planIdle rule by rule:
//   - fewer warm instances than min_instances: now (a resume, or a start);
//   - more than min_instances: the least recently used idle ready one is paused (or stopped)
//     once it has been idle for idle_timeout;
//   - a paused one is stopped once it has been paused for pause_timeout.
func dueIdle(now time.Time, s api.FunctionSpec, ins []view) idleDue {
	warm, paused := 0, 0
	var oldestIdle, firstStop time.Time
	for _, v := range ins {
		switch {
		case v.warm():
			warm++
			if v.state == stateReady && v.inFlight == 0 && (oldestIdle.IsZero() || v.lastUsed.Before(oldestIdle)) {
				oldestIdle = v.lastUsed
			}
		case v.current && v.state == statePaused:
			paused++
			if t := v.pausedAt.Add(s.PauseTimeout.D()); firstStop.IsZero() || t.Before(firstStop) {
				firstStop = t
			}
		}
	}
	if warm < s.MinInstances {
		return idleDue{at: now, start: paused == 0}
	}
	var d idleDue
	if warm > s.MinInstances && !oldestIdle.IsZero() {
		d.at = oldestIdle.Add(s.IdleTimeout.D())
	}
	if !firstStop.IsZero() && (d.at.IsZero() || firstStop.Before(d.at)) {
		d.at = firstStop
	}
	return d.from(now)
}

// from makes a due time in the past now: what was due then and is still to do is due now.
func (d idleDue) from(now time.Time) idleDue {
	if !d.at.IsZero() && d.at.Before(now) {
		d.at = now
	}
	return d
}

// dueLearned is dueIdle for planLearned: the first instant from now at which
// planLearned(t, s, w, idleSince, ins) does something, nothing else changing. The learned
// windows keep the function's instance from idleSince+PreWarm to idleSince+KeepAlive (at least
// idle_timeout + pause_timeout): outside them it is stopped, inside it is started when there is
// none (pre-warm) and paused after idle_timeout.
func dueLearned(now time.Time, s api.FunctionSpec, w keepalive.Windows, idleSince time.Time, ins []view) idleDue {
	var first *view
	several := false
	for i, v := range ins {
		if !v.current || !(v.warm() || v.state == statePausing || v.state == statePaused) {
			continue
		}
		if first != nil {
			several = true
		}
		if first == nil || v.lastUsed.After(first.lastUsed) {
			first = &ins[i]
		}
	}
	if several {
		return dueIdle(now, s, ins) // planLearned follows the fixed timeouts then
	}
	from := idleSince.Add(w.PreWarm)
	until := idleSince.Add(max(w.KeepAlive, s.IdleTimeout.D()+s.PauseTimeout.D()))
	keep := !now.Before(from) && now.Before(until)
	if first == nil {
		switch {
		case keep:
			return idleDue{at: now, start: true}
		case now.Before(from) && from.Before(until):
			return idleDue{at: from, start: true}
		}
		return idleDue{}
	}
	switch v := *first; {
	case v.state == stateReady && v.inFlight == 0:
		if !keep {
			return idleDue{at: now}
		}
		return idleDue{at: minTime(v.lastUsed.Add(s.IdleTimeout.D()), until)}.from(now)
	case v.state == statePaused:
		if !keep {
			return idleDue{at: now}
		}
		return idleDue{at: until}
	}
	return idleDue{} // starting, pausing or resuming: its settling wakes the function
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
