package pool

import (
	"sort"
	"time"

	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/api"
)

// This file is the pool's policy: pure functions from a function's settings, its instances'
// states and the clock to what should happen next. They take no lock and do nothing; the pool
// carries their answers out through the node. Keeping them pure is what lets their table tests
// run on a fake clock.

// view is what the policy knows of one instance.
type view struct {
	id       string
	state    state
	current  bool // runs the function's current version
	inFlight int
	lastUsed time.Time
	pausedAt time.Time
}

// warm reports whether the instance takes, or is about to take, calls without a resume.
func (v view) warm() bool {
	return v.current && (v.state == stateStarting || v.state == stateReady || v.state == stateResuming)
}

// live reports whether the instance counts against max_instances.
func (v view) live() bool { return v.current && v.state != stateDraining }

// idlePlan is what to do about one function on an upkeep tick.
type idlePlan struct {
	pause  []string // ready instances idle past idle_timeout, on a driver that can pause
	stop   []string // idle past idle_timeout (cannot pause) or paused past pause_timeout
	resume []string // paused instances brought back to keep min_instances warm
	start  int      // new instances to keep min_instances warm
}

// planIdle decides which idle instances to pause or stop at now, and what to resume or start so
// that min_instances stay warm. The most recently used instances are the ones kept warm.
func planIdle(now time.Time, s api.FunctionSpec, canPause bool, ins []view) idlePlan {
	var plan idlePlan
	warm := 0
	var idle, paused []view
	for _, v := range ins {
		switch {
		case v.warm():
			warm++
			if v.state == stateReady && v.inFlight == 0 && now.Sub(v.lastUsed) >= s.IdleTimeout.D() {
				idle = append(idle, v)
			}
		case v.current && v.state == statePaused:
			paused = append(paused, v)
		}
	}
	sort.Slice(idle, func(i, j int) bool { return idle[i].lastUsed.Before(idle[j].lastUsed) })
	for _, v := range idle {
		if warm <= s.MinInstances {
			break
		}
		warm--
		if canPause {
			plan.pause = append(plan.pause, v.id)
		} else {
			plan.stop = append(plan.stop, v.id)
		}
	}
	// Paused instances come back, newest first, before anything new is started for min.
	sort.Slice(paused, func(i, j int) bool { return paused[i].lastUsed.After(paused[j].lastUsed) })
	for _, v := range paused {
		if warm < s.MinInstances {
			warm++
			plan.resume = append(plan.resume, v.id)
			continue
		}
		if now.Sub(v.pausedAt) >= s.PauseTimeout.D() {
			plan.stop = append(plan.stop, v.id)
		}
	}
	if warm < s.MinInstances {
		plan.start = s.MinInstances - warm
	}
	return plan
}

// planDemand decides how to serve waiting calls when no ready instance has a free slot: resume
// paused instances first (most recently used first: the likeliest to be warm in caches), then
// start new ones while under max_instances. It counts instances already starting or resuming as
// supply, one slot per `concurrency` waiting calls, so no call ever causes two starts.
func planDemand(s api.FunctionSpec, waiting int, ins []view) (resume []string, start int) {
	supply, live := 0, 0
	var paused []view
	for _, v := range ins {
		if !v.live() {
			continue
		}
		live++
		switch v.state {
		case stateStarting, stateResuming:
			supply += s.Concurrency
		case statePaused:
			paused = append(paused, v)
		}
	}
	sort.Slice(paused, func(i, j int) bool { return paused[i].lastUsed.After(paused[j].lastUsed) })
	for _, v := range paused {
		if supply >= waiting {
			break
		}
		resume = append(resume, v.id)
		supply += s.Concurrency
	}
	for supply < waiting && live < s.MaxInstances {
		start++
		live++
		supply += s.Concurrency
	}
	return resume, start
}

// candidate is an idle instance of another function that may be stopped to make room.
type candidate struct {
	function string
	id       string
	node     string
	paused   bool
	lastUsed time.Time
	res      instance.Resources
	// nextIn is when its function's next call is expected (keepalive.go: nextCallInLocked).
	nextIn time.Duration
}

// waste is what keeping c costs until it is next wanted: memory times the wait, in MB-seconds.
func (c candidate) waste() float64 { return float64(c.res.MemoryMB) * c.nextIn.Seconds() }

// planEvict picks instances to stop so that short (the memory and CPU missing for a start) is
// freed, by value: the instance whose memory would wait longest for its function's next call
// (waste) goes first; among equals paused instances, then idle ready ones, least recently used
// first, then the order of cands.
// It returns nil when all the candidates together would not free enough: evicting then would
// cost warm instances and still not let the start happen.
//
// A node full of idle instances has hundreds of candidates and a start needs one or two of
// them: each is found by a scan, rather than all of them sorted.
func planEvict(short instance.Resources, cands []candidate) []candidate {
	var all instance.Resources
	for _, c := range cands {
		all.MemoryMB += c.res.MemoryMB
		all.CPUMilli += c.res.CPUMilli
	}
	if all.MemoryMB < short.MemoryMB || all.CPUMilli < short.CPUMilli {
		return nil
	}
	taken := make([]bool, len(cands))
	var picked []candidate
	for short.MemoryMB > 0 || short.CPUMilli > 0 {
		best := -1
		for i := range cands {
			if !taken[i] && (best < 0 || evictsBefore(cands[i], cands[best])) {
				best = i
			}
		}
		if best < 0 {
			return nil
		}
		taken[best] = true
		c := cands[best]
		picked = append(picked, c)
		short.MemoryMB -= c.res.MemoryMB
		short.CPUMilli -= c.res.CPUMilli
	}
	return picked
}

// evictsBefore reports whether a goes before b in planEvict's order.
func evictsBefore(a, b candidate) bool {
	if wa, wb := a.waste(), b.waste(); wa != wb {
		return wa > wb
	}
	if a.paused != b.paused {
		return a.paused
	}
	return a.lastUsed.Before(b.lastUsed)
}

// shortfall is how much of each resource is missing for need to fit in capacity with reserved
// taken; a zero capacity field is unlimited.
func shortfall(capacity, reserved, need instance.Resources) instance.Resources {
	var s instance.Resources
	if capacity.MemoryMB > 0 {
		s.MemoryMB = reserved.MemoryMB + need.MemoryMB - capacity.MemoryMB
	}
	if capacity.CPUMilli > 0 {
		s.CPUMilli = reserved.CPUMilli + need.CPUMilli - capacity.CPUMilli
	}
	return s
}

// fits reports whether nothing is short.
func fits(short instance.Resources) bool { return short.MemoryMB <= 0 && short.CPUMilli <= 0 }
