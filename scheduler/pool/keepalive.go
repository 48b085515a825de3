package pool

import (
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/keepalive"
)

// This file is the keep-alive policy that learns (scheduler/keepalive): per function, the idle
// times between its calls feed a histogram, and from it come a pre-warm and a keep-alive window
// that replace the fixed idle_timeout/pause_timeout for a function that scales to zero. While
// nothing is learned (too few idle times, too many too long, too spread out) the fixed timeouts
// apply exactly as before; so do they for a function with min_instances, whose instances are
// kept anyway, and for a pool with Config.FixedKeepAlive.
//
// Bounds: the learned keep-alive never exceeds keepalive.Config.Range (an hour by default): the
// operator's ceiling on how long an idle function may hold memory. The functions' own
// idle_timeout still says how long a ready instance waits before it is paused.

// keepAlive is one function's learning. Guarded by Pool.mu.
type keepAlive struct {
	hist *keepalive.Histogram // nil until the first idle time
	// busy counts the function's calls in flight; idleSince is when the last one ended (zero
	// before the first call).
	busy      int
	idleSince time.Time
	// win and winErr are the windows learned from winSamples idle times: computed again only
	// when a new idle time came in, since a computation walks the whole histogram.
	win        keepalive.Windows
	winErr     error
	winSamples int
}

// callArrivedLocked counts a call that took an instance of f at now. A call that found the
// function idle ends an idle time. No allocation but the function's first histogram.
func (p *Pool) callArrivedLocked(f *function, now time.Time) {
	k := &f.ka
	if k.busy == 0 && !k.idleSince.IsZero() && !p.cfg.FixedKeepAlive {
		if k.hist == nil {
			k.hist = keepalive.New(p.cfg.KeepAlive)
		}
		k.hist.Observe(now.Sub(k.idleSince))
	}
	k.busy++
}

// callEndedLocked counts a call of f that ended at now.
func (p *Pool) callEndedLocked(f *function, now time.Time) {
	k := &f.ka
	if k.busy > 0 {
		k.busy--
	}
	if k.busy == 0 {
		k.idleSince = now
	}
}

// windowsLocked returns f's learned windows; ok is false when the fixed timeouts apply.
func (p *Pool) windowsLocked(f *function) (w keepalive.Windows, ok bool) {
	k := &f.ka
	if p.cfg.FixedKeepAlive || k.hist == nil {
		return keepalive.Windows{}, false
	}
	// Computed again once the samples grew by a sixty-fourth: a computation walks the whole
	// histogram, and one more idle time among many hardly moves a percentile.
	if n := k.hist.Samples(); n != k.winSamples && (k.winSamples == 0 || n-k.winSamples >= max(1, n/64)) {
		k.win, k.winErr = k.hist.Windows(p.cfg.KeepAlive)
		k.winSamples = n
	}
	return k.win, k.winErr == nil
}

// idlePlanLocked is upkeep's plan for f at now: the learned one when learnedLocked says so;
// planIdle's fixed timeouts otherwise.
func (p *Pool) idlePlanLocked(f *function, now time.Time) idlePlan {
	if w, ok := p.learnedLocked(f); ok {
		return planLearned(now, f.spec, w, f.ka.idleSince, f.views())
	}
	return planIdle(now, f.spec, true, f.views())
}

// learnedLocked returns the windows that govern f's idle instances, when they do: f scales to
// zero, has no call in flight or waiting, and has learned windows.
func (p *Pool) learnedLocked(f *function) (keepalive.Windows, bool) {
	if f.spec.MinInstances > 0 || f.ka.busy > 0 || f.waiting > 0 || f.ka.idleSince.IsZero() {
		return keepalive.Windows{}, false
	}
	return p.windowsLocked(f)
}

// planLearned decides what to do about an idle function (no call in flight since idleSince)
// with learned windows w, for its most recently used instance:
//   - before w.PreWarm: it stops (the next call is not expected yet);
//   - from w.PreWarm to w.KeepAlive (at least idle_timeout + pause_timeout): it is kept, started ahead when
//     there is none (pre-warmed), paused after idle_timeout as usual;
//   - from w.KeepAlive: it stops.
//
// Like planIdle it is pure: the pool carries the plan out.
func planLearned(now time.Time, s api.FunctionSpec, w keepalive.Windows, idleSince time.Time, ins []view) idlePlan {
	// The windows are about when the function's next call comes, not how many come at once: they
	// govern a function down to one instance; one with more, made for calls that came together,
	// follows the fixed timeouts as before.
	var first *view
	var rest []view
	for i, v := range ins {
		if !v.current || !(v.warm() || v.state == statePausing || v.state == statePaused) {
			continue
		}
		if first == nil || v.lastUsed.After(first.lastUsed) {
			if first != nil {
				rest = append(rest, *first)
			}
			first = &ins[i]
			continue
		}
		rest = append(rest, v)
	}
	if len(rest) > 0 {
		// Calls came together lately: the fixed timeouts keep what served them, as before.
		return planIdle(now, s, true, ins)
	}
	var plan idlePlan
	idle := now.Sub(idleSince)
	// The configured timeouts (idle_timeout + pause_timeout) are the least keep-alive: a
	// learned one shorter than them would save memory only after the rare long idle times past
	// the 99th percentile, and make each of those a cold start. Memory is saved instead by not
	// keeping an instance before the pre-warm window.
	keep := idle < max(w.KeepAlive, s.IdleTimeout.D()+s.PauseTimeout.D()) && idle >= w.PreWarm
	if first == nil {
		if keep {
			plan.start = 1 // pre-warm
		}
		return plan
	}
	v := *first
	switch {
	case !keep && v.state == stateReady && v.inFlight == 0, !keep && v.state == statePaused:
		plan.stop = append(plan.stop, v.id)
	case keep && v.state == stateReady && v.inFlight == 0 && now.Sub(v.lastUsed) >= s.IdleTimeout.D():
		plan.pause = append(plan.pause, v.id)
	}
	return plan
}

// nextCallInLocked estimates how long until f's next call at now, for eviction by value: zero
// while a call is in flight or waiting, else from its idle-time histogram (ExpectedNext).
func (p *Pool) nextCallInLocked(f *function, now time.Time) time.Duration {
	k := &f.ka
	if k.busy > 0 || f.waiting > 0 {
		return 0
	}
	idle := now.Sub(k.idleSince)
	if k.idleSince.IsZero() {
		idle = 0
	}
	if p.cfg.FixedKeepAlive {
		return idle
	}
	return k.hist.ExpectedNext(p.cfg.KeepAlive, idle)
}

// KeepAliveStatus is what the pool applies to a function's idle instances.
type KeepAliveStatus struct {
	// Learned is true when the windows below were learned from the function's calls; false when
	// its configured idle_timeout and pause_timeout apply.
	Learned bool
	// PreWarm and KeepAlive count from the end of the function's last call (learned only).
	PreWarm, KeepAlive time.Duration
	// Samples is how many idle times were observed.
	Samples int
	// Why says why nothing is learned, when it is not.
	Why string
}

// KeepAlive reports the keep-alive policy applied to a function; ok is false for an unknown one.
func (p *Pool) KeepAlive(name string) (st KeepAliveStatus, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := p.fns[name]
	if f == nil {
		return KeepAliveStatus{}, false
	}
	if f.ka.hist != nil {
		st.Samples = f.ka.hist.Samples()
	}
	w, learned := p.windowsLocked(f)
	switch {
	case learned && f.spec.MinInstances > 0:
		st.Why = "min_instances keeps instances anyway"
	case learned:
		st.Learned, st.PreWarm, st.KeepAlive = true, w.PreWarm, w.KeepAlive
	case p.cfg.FixedKeepAlive:
		st.Why = "fixed keep-alive (server setting)"
	case f.ka.winErr != nil:
		st.Why = f.ka.winErr.Error()
	default:
		st.Why = keepalive.ErrTooFewSamples.Error()
	}
	return st, true
}
