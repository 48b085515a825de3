package pool

import (
	"context"
	"errors"
	"time"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/runtimes/contract"
)

// This file carries the policy's decisions out: each action changes the instance's state under
// the lock at once, then talks to the node in the background and settles the outcome under the
// lock again, waking the function's waiters.

// scaleLocked serves f's waiting calls: it resumes and starts what planDemand asks for, making
// room on the node by evicting idle instances of other functions when it is full.
func (p *Pool) scaleLocked(f *function) {
	resume, start := planDemand(f.spec, f.waiting, f.views())
	for _, id := range resume {
		p.resumeLocked(f, f.instances[id])
	}
	if f.backingOffLocked(p.cfg.Now()) {
		return
	}
	for i := 0; i < start; i++ {
		if !p.makeRoomLocked(f) {
			return
		}
		p.startLocked(f)
	}
}

// upkeepLocked applies planIdle to f at now: pause or stop idle instances, keep min_instances
// warm (without evicting others for it).
func (p *Pool) upkeepLocked(f *function, now time.Time) {
	plan := planIdle(now, f.spec, p.nodeKnown && p.canPause, f.views())
	for _, id := range plan.pause {
		p.pauseLocked(f, f.instances[id])
	}
	for _, id := range plan.stop {
		in := f.instances[id]
		p.log.Info("stopping idle instance", "function", f.name, "instance", id, "state", in.state,
			"idle", now.Sub(in.lastUsed).Round(time.Second))
		p.stopLocked(f, in)
	}
	for _, id := range plan.resume {
		p.resumeLocked(f, f.instances[id])
	}
	// No start for min_instances while the engine is away: it would fail at every tick.
	for i := 0; i < plan.start && p.nodeDown == nil && !f.backingOffLocked(now); i++ {
		if !fits(shortfall(p.capacity, p.reserved, f.resources())) {
			p.log.Warn("node is full: min_instances not met", "function", f.name, "min_instances", f.spec.MinInstances)
			return
		}
		p.startLocked(f)
	}
}

// makeRoomLocked reports whether one more instance of f fits on the node now. When it does not,
// it stops idle instances of other functions (paused first) to free the shortfall, unless stops
// under way already free enough; the start then happens when a waiter retries after those stops
// complete.
func (p *Pool) makeRoomLocked(f *function) bool {
	need := f.resources()
	if fits(shortfall(p.capacity, p.reserved, need)) {
		return true
	}
	settled := instance.Resources{MemoryMB: p.reserved.MemoryMB - p.releasing.MemoryMB, CPUMilli: p.reserved.CPUMilli - p.releasing.CPUMilli}
	short := shortfall(p.capacity, settled, need)
	if fits(short) {
		return false // stops under way will make room
	}
	victims := planEvict(short, p.evictionCandidatesLocked(f))
	for _, c := range victims {
		g := p.fns[c.function]
		p.log.Info("evicting idle instance to make room", "function", c.function, "instance", c.id,
			"paused", c.paused, "for", f.name)
		p.stopLocked(g, g.instances[c.id])
	}
	return false
}

// evictionCandidatesLocked lists idle instances of functions other than f: every paused one,
// and ready ones beyond their function's min_instances.
func (p *Pool) evictionCandidatesLocked(f *function) []candidate {
	var cands []candidate
	for _, g := range p.fns {
		if g == f {
			continue
		}
		var ready []candidate
		warm := 0
		for _, in := range g.instances {
			v := view{state: in.state, current: in.version == g.version}
			if v.warm() {
				warm++
			}
			if in.inFlight > 0 {
				continue
			}
			c := candidate{function: g.name, id: in.id, lastUsed: in.lastUsed, res: in.res}
			switch in.state {
			case statePaused:
				c.paused = true
				cands = append(cands, c)
			case stateReady:
				ready = append(ready, c)
			}
		}
		if spare := warm - g.spec.MinInstances; spare > 0 {
			// Keep the most recently used ready ones for min_instances.
			sortByLastUsed(ready)
			if spare < len(ready) {
				ready = ready[:spare]
			}
			cands = append(cands, ready...)
		}
	}
	return cands
}

func (p *Pool) startLocked(f *function) {
	in := &inst{id: newInstanceID(f.name, f.version), version: f.version, state: stateStarting,
		res: f.resources(), startedAt: p.cfg.Now()}
	f.instances[in.id] = in
	p.known[in.id] = struct{}{}
	p.reserveLocked(in.res)
	spec := instance.Spec{
		ID:        in.id,
		Function:  f.name,
		Version:   f.version,
		Image:     f.image,
		Env:       f.spec.Env,
		Port:      contract.DefaultPort,
		Resources: in.res,
		Security:  securityOf(f.spec),
	}
	p.background(func() { p.start(f, in, spec) })
}

func (p *Pool) start(f *function, in *inst, spec instance.Spec) {
	ctx, cancel := context.WithTimeout(p.ctx, p.cfg.StartTimeout)
	defer cancel()
	begin := time.Now()
	started, err := p.node.StartInstance(ctx, spec)
	if err == nil && p.cfg.OnStarted != nil {
		p.cfg.OnStarted(f.name, in.id)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	defer f.broadcast()
	if err != nil {
		delete(f.instances, in.id)
		delete(p.known, in.id) // a container its start left behind is an orphan now
		p.unreserveLocked(in.res, false)
		f.failures++
		f.lastErr = err
		f.startFailedLocked(p.cfg.Now())
		p.log.Error("instance failed to start", "function", f.name, "instance", in.id, "error", err)
		if errors.Is(err, driver.ErrUnavailable) {
			// Calls fail fast from now on instead of each trying a start of its own, until
			// the health check finds the engine back.
			p.nodeUnreachableLocked(err)
		}
		return
	}
	p.log.Info("instance ready", "function", f.name, "instance", in.id, "version", in.version,
		"endpoint", started.Endpoint, "took", time.Since(begin).Round(time.Millisecond))
	f.startSucceededLocked()
	in.endpoint = started.Endpoint
	in.startedAt = p.cfg.Now()
	in.lastUsed = in.startedAt
	if in.state == stateDraining || p.closed {
		p.stopLocked(f, in)
		return
	}
	p.becomeReadyLocked(in, ColdNew)
}

func (p *Pool) becomeReadyLocked(in *inst, how ColdKind) {
	in.state = stateReady
	in.fresh = how
	p.readyGen++
	in.readyGen = p.readyGen
}

// pauseLocked freezes an idle ready instance. A call that arrives meanwhile waits and resumes it
// once the pause is through.
func (p *Pool) pauseLocked(f *function, in *inst) {
	in.state = statePausing
	p.background(func() {
		ctx, cancel := context.WithTimeout(p.ctx, p.cfg.PauseTimeout)
		defer cancel()
		err := p.node.PauseInstance(ctx, in.id)
		p.mu.Lock()
		defer p.mu.Unlock()
		defer f.broadcast()
		if in.state != statePausing {
			return // drained or stopped meanwhile
		}
		if err != nil {
			if errors.Is(err, driver.ErrNotSupported) {
				p.canPause = false
			}
			p.log.Warn("could not pause idle instance; stopping it", "function", f.name, "instance", in.id, "error", err)
			p.stopLocked(f, in)
			return
		}
		in.state = statePaused
		in.pausedAt = p.cfg.Now()
		p.log.Info("paused idle instance", "function", f.name, "instance", in.id)
		if f.waiting > 0 {
			p.scaleLocked(f)
		}
	})
}

// resumeLocked thaws a paused instance for waiting calls or min_instances. One that fails to
// resume is replaced.
func (p *Pool) resumeLocked(f *function, in *inst) {
	in.state = stateResuming
	p.background(func() {
		ctx, cancel := context.WithTimeout(p.ctx, p.cfg.PauseTimeout)
		defer cancel()
		err := p.node.ResumeInstance(ctx, in.id)
		p.mu.Lock()
		defer p.mu.Unlock()
		defer f.broadcast()
		if in.state != stateResuming {
			return
		}
		if err != nil {
			f.failures++
			f.lastErr = err
			p.log.Warn("could not resume paused instance; replacing it", "function", f.name, "instance", in.id, "error", err)
			p.stopLocked(f, in)
			return
		}
		in.pausedAt = time.Time{}
		in.lastUsed = p.cfg.Now()
		p.becomeReadyLocked(in, ColdResumed)
	})
}

func (p *Pool) release(f *function, in *inst, o Outcome) {
	p.mu.Lock()
	defer p.mu.Unlock()
	in.inFlight--
	in.lastUsed = p.cfg.Now()
	switch {
	case o != OutcomeOK:
		p.log.Warn("replacing instance", "function", f.name, "instance", in.id, "outcome", o.String())
		p.stopLocked(f, in)
	case in.state == stateDraining && in.inFlight == 0:
		p.stopLocked(f, in)
	}
	f.broadcast()
}

// drainLocked takes an instance out of service: at once when idle, after its last call
// otherwise. A starting instance is stopped when its start completes.
func (p *Pool) drainLocked(f *function, in *inst) {
	wasStarting := in.state == stateStarting
	in.state = stateDraining
	if !wasStarting && in.inFlight == 0 {
		p.stopLocked(f, in)
	}
}

// stopLocked removes an instance from the pool and stops it in the background. Its reservation
// is released once the node has removed it.
func (p *Pool) stopLocked(f *function, in *inst) {
	if _, ok := f.instances[in.id]; !ok {
		return
	}
	delete(f.instances, in.id)
	in.state = stateDraining
	p.releasing.MemoryMB += in.res.MemoryMB
	p.releasing.CPUMilli += in.res.CPUMilli
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		// Stops outlive a cancelled pool context: Shutdown relies on them to leave nothing behind.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(p.ctx), p.cfg.StopTimeout)
		defer cancel()
		if p.cfg.OnStopped != nil {
			p.cfg.OnStopped(in.id)
		}
		if err := p.node.StopInstance(ctx, in.id); err != nil {
			p.log.Error("instance failed to stop", "function", f.name, "instance", in.id, "error", err)
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		// Known no more: if the stop failed (the engine away), the health check finds the
		// container an orphan once the engine answers again, and removes it.
		delete(p.known, in.id)
		p.unreserveLocked(in.res, true)
	}()
}

func (p *Pool) reserveLocked(r instance.Resources) {
	p.reserved.MemoryMB += r.MemoryMB
	p.reserved.CPUMilli += r.CPUMilli
}

// unreserveLocked gives r back and wakes every function with waiting calls: room on the node
// may be what they wait for.
func (p *Pool) unreserveLocked(r instance.Resources, wasReleasing bool) {
	p.reserved.MemoryMB -= r.MemoryMB
	p.reserved.CPUMilli -= r.CPUMilli
	if wasReleasing {
		p.releasing.MemoryMB -= r.MemoryMB
		p.releasing.CPUMilli -= r.CPUMilli
	}
	for _, g := range p.fns {
		if g.waiting > 0 {
			g.broadcast()
		}
	}
}

// background runs fn on a goroutine that Shutdown waits for.
func (p *Pool) background(fn func()) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		fn()
	}()
}
