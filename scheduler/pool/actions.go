package pool

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/scheduler/placer"
)

// This file carries the policy's decisions out: each action changes the instance's state under
// the lock at once, then talks to the instance's node in the background and settles the outcome
// under the lock again, waking the function's waiters. Placement is in place.go.

// upkeepLocked applies planIdle to f at now: pause or stop idle instances, keep min_instances
// warm (without evicting others for it). Instances on a node the pool cannot reach now are left
// as they are: the node's return or loss settles them. It queues f's next upkeep for when it is
// due (due.go).
func (p *Pool) upkeepLocked(f *function, now time.Time) {
	p.carryOutIdlePlanLocked(f, now)
	p.scheduleLocked(f, p.nextDueLocked(f, now))
}

func (p *Pool) carryOutIdlePlanLocked(f *function, now time.Time) {
	// Whether an instance pauses or stops depends on its node; planIdle decides which go idle.
	p.tendPreparedLocked(f, now)
	plan := p.idlePlanLocked(f, now)
	for _, id := range plan.pause {
		in := f.instances[id]
		switch {
		case !in.nd.actionable():
		case in.nd.known && in.nd.canPause:
			p.pauseLocked(f, in)
		default:
			p.stopIdleLocked(f, in, now)
		}
	}
	for _, id := range plan.stop {
		if in := f.instances[id]; in.nd.actionable() {
			p.stopIdleLocked(f, in, now)
		}
	}
	for _, id := range plan.resume {
		if in := f.instances[id]; in.nd.actionable() {
			p.resumeLocked(f, in)
		}
	}
	for i := 0; i < plan.start && !f.backingOffLocked(now) && !p.awaitingNodesLocked(); i++ {
		d, nd, err := p.placeLocked(f)
		if err != nil || d.Evict {
			// Quiet while no node takes instances at all: it would say so at every tick.
			if p.anyPlaceableLocked() && f.spec.MinInstances > 0 { // else a pre-warm start: not worth a warning
				why := "only by evicting idle instances of other functions"
				if err != nil {
					why = err.Error()
				}
				p.log.Warn("no node has room: min_instances not met", "function", f.name, "min_instances", f.spec.MinInstances,
					"why", why)
			}
			return
		}
		p.startLocked(f, nd, d.Reason)
	}
}

func (p *Pool) stopIdleLocked(f *function, in *inst, now time.Time) {
	p.log.Info("stopping idle instance", "function", f.name, "instance", in.id, "node", in.nd.id, "state", in.state,
		"idle", now.Sub(in.lastUsed).Round(time.Second))
	p.stopLocked(f, in)
}

func (p *Pool) anyPlaceableLocked() bool {
	for _, nd := range p.nodes {
		if nd.placeable() {
			return true
		}
	}
	return false
}

// startLocked starts an instance of f on nd, where the placer put it for reason. Its room is
// reserved at once; when it was made by eviction, the start waits for those stops (after) to
// return first: the victims' memory is freed then.
func (p *Pool) startLocked(f *function, nd *node, reason string, after ...*release) {
	// The instance prepared on nd, if there is one for this version: its start only starts it.
	id := p.takePreparedLocked(f, nd)
	if id == "" {
		id = newInstanceID(f.name, f.version)
	}
	in := &inst{id: id, version: f.version, state: stateStarting,
		res: f.resources(), startedAt: p.cfg.Now(), nd: nd, placement: reason}
	p.addInstanceLocked(f, in)
	p.known[in.id] = struct{}{}
	nd.reserve(in.res)
	// The node pulls the image for this start: the next placement may count on it.
	nd.started[f.image], nd.images[f.image] = true, true
	spec := p.instanceSpecLocked(f, in.id)
	h, gen := nd.handle, nd.handleGen
	p.background(func() { p.start(f, in, h, gen, spec, after) })
}

func (p *Pool) start(f *function, in *inst, h Node, handleGen uint64, spec instance.Spec, after []*release) {
	ctx, cancel := context.WithTimeout(p.ctx, p.cfg.StartTimeout)
	defer cancel()
	begin := time.Now()
	if !p.awaitReleases(ctx, f, in, after) {
		return
	}
	spec, err := p.withSecrets(ctx, f.name, spec)
	var started instance.Instance
	if err == nil {
		started, err = h.StartInstance(ctx, spec)
	}
	if err == nil && p.cfg.OnStarted != nil {
		p.cfg.OnStarted(f.name, in.id)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	defer f.broadcast()
	if in.gone {
		// Its node was lost meanwhile and the instance with it; what the start made there is an
		// orphan when the node is back. OnStopped was called at the loss, before OnStarted.
		if err == nil && p.cfg.OnStopped != nil {
			p.background(func() { p.cfg.OnStopped(in.id) })
		}
		return
	}
	nd := in.nd
	p.wakeLocked(f)
	if err != nil {
		p.dropInstanceLocked(f, in)
		delete(p.known, in.id) // a container its start left behind is an orphan now
		p.unreserveLocked(nd, in.res)
		if errors.Is(err, driver.ErrUnavailable) {
			// The node's fault, not the function's: no backoff, and waiting calls start on
			// another node, or fail fast when none is left, until the health check finds the
			// engine back.
			p.log.Error("instance failed to start: the node's engine cannot be reached", "function", f.name,
				"instance", in.id, "node", nd.id, "error", err)
			if nd.handleGen == handleGen && nd.state != placer.StateDisconnected { // else the session went, not the engine
				p.nodeUnreachableLocked(nd, err)
			}
			return
		}
		f.failures++
		f.lastErr = err
		f.startFailedLocked(p.cfg.Now())
		p.log.Error("instance failed to start", "function", f.name, "instance", in.id, "node", nd.id, "error", err)
		return
	}
	p.log.Info("instance ready", "function", f.name, "instance", in.id, "version", in.version, "node", nd.id,
		"endpoint", started.Endpoint, "took", time.Since(begin).Round(time.Millisecond))
	f.startSucceededLocked()
	in.endpoint = started.Endpoint
	in.startedAt = p.cfg.Now()
	in.lastUsed = in.startedAt
	if in.state == stateDraining || (p.closed && !p.keep) {
		p.stopLocked(f, in)
		return
	}
	p.becomeReadyLocked(in, ColdNew)
	p.costMarkLocked(f, in, costWarm, in.startedAt)
	p.prepareLocked(f, nd, in.startedAt) // the next start here only starts (prepare.go)
}

// awaitReleases waits until the stops a start evicted for (after) have returned, and reports
// whether the start should go on: false when ctx ended meanwhile (Shutdown), or the instance
// was taken out of service (Remove, a new version, a drain, its node lost), which it has then
// left. What it leaves may be a prepared container it took: stopLocked removes that.
func (p *Pool) awaitReleases(ctx context.Context, f *function, in *inst, after []*release) bool {
	if len(after) == 0 {
		return true
	}
	var err error
	for _, r := range after {
		select {
		case <-r.done:
		case <-ctx.Done():
			err = ctx.Err()
		}
		if err != nil {
			break
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err == nil && !in.gone && in.state == stateStarting && !p.closed {
		return true
	}
	p.stopLocked(f, in)
	f.broadcast()
	return false
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
	h := in.nd.handle
	p.background(func() {
		ctx, cancel := context.WithTimeout(p.ctx, p.cfg.PauseTimeout)
		defer cancel()
		err := h.PauseInstance(ctx, in.id)
		paused := false
		defer func() { // after the unlock below
			if paused && p.cfg.OnPaused != nil {
				p.cfg.OnPaused(in.id)
			}
		}()
		p.mu.Lock()
		defer p.mu.Unlock()
		defer f.broadcast()
		if in.state != statePausing {
			return // drained, stopped or lost meanwhile
		}
		if err != nil {
			if errors.Is(err, driver.ErrNotSupported) {
				in.nd.canPause = false
			}
			p.log.Warn("could not pause idle instance; stopping it", "function", f.name, "instance", in.id,
				"node", in.nd.id, "error", err)
			p.stopLocked(f, in)
			return
		}
		in.state, paused = statePaused, true
		in.pausedAt = p.cfg.Now()
		p.wakeLocked(f) // its pause_timeout counts from now
		p.costMarkLocked(f, in, costPaused, in.pausedAt)
		p.log.Info("paused idle instance", "function", f.name, "instance", in.id, "node", in.nd.id)
		if f.waiting > 0 {
			p.scaleLocked(f)
		}
	})
}

// resumeLocked thaws a paused instance for waiting calls or min_instances. One that fails to
// resume is replaced.
func (p *Pool) resumeLocked(f *function, in *inst) {
	in.state = stateResuming
	p.wakeLocked(f) // one warm more: an idle one may be beyond min_instances now
	h := in.nd.handle
	p.background(func() {
		ctx, cancel := context.WithTimeout(p.ctx, p.cfg.PauseTimeout)
		defer cancel()
		err := h.ResumeInstance(ctx, in.id)
		resumed := false
		defer func() { // after the unlock below
			if resumed && p.cfg.OnResumed != nil {
				p.cfg.OnResumed(in.id)
			}
		}()
		p.mu.Lock()
		defer p.mu.Unlock()
		defer f.broadcast()
		if in.state != stateResuming {
			return
		}
		if err != nil {
			f.failures++
			f.lastErr = err
			p.log.Warn("could not resume paused instance; replacing it", "function", f.name, "instance", in.id,
				"node", in.nd.id, "error", err)
			p.stopLocked(f, in)
			return
		}
		in.pausedAt, resumed = time.Time{}, true
		in.lastUsed = p.cfg.Now()
		p.wakeLocked(f)
		p.becomeReadyLocked(in, ColdResumed)
		p.costMarkLocked(f, in, costWarm, in.lastUsed)
	})
}

// release ends a lease. Its instance may have left the pool meanwhile (its node lost, or a
// stop): then only the bookkeeping of the lease itself is done.
func (p *Pool) release(f *function, in *inst, o Outcome) {
	p.mu.Lock()
	defer p.mu.Unlock()
	in.inFlight--
	in.lastUsed = p.cfg.Now()
	costReleaseLocked(in, in.lastUsed)
	p.callEndedLocked(f, in.lastUsed)
	if in.inFlight == 0 {
		p.wakeLocked(f) // idle from now
	}
	switch {
	case o != OutcomeOK:
		p.log.Warn("replacing instance", "function", f.name, "instance", in.id, "node", in.nd.id, "outcome", o.String())
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
	p.wakeLocked(f)
	if !wasStarting && in.inFlight == 0 {
		p.stopLocked(f, in)
	}
}

// stopLocked removes an instance from the pool and stops it in the background. Its reservation
// is released once the node has removed it, less what a start claimed of it meanwhile
// (makeRoomLocked). It returns the stop, or nil for an instance no longer in the pool, which is
// left alone.
func (p *Pool) stopLocked(f *function, in *inst) *release {
	if f.instances[in.id] != in {
		return nil
	}
	p.dropInstanceLocked(f, in)
	in.state = stateDraining
	p.costMarkLocked(f, in, costNone, p.cfg.Now())
	nd := in.nd
	rel := &release{left: in.res, done: make(chan struct{})}
	b := nd.book()
	b.releases = append(b.releases, rel)
	h, lostGen := nd.handle, nd.lostGen
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		// Stops outlive a cancelled pool context: Shutdown relies on them to leave nothing behind.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(p.ctx), p.cfg.StopTimeout)
		defer cancel()
		if p.cfg.OnStopped != nil {
			p.cfg.OnStopped(in.id)
		}
		begin := time.Now()
		err := h.StopInstance(ctx, in.id)
		if err != nil {
			p.log.Error("instance failed to stop", "function", f.name, "instance", in.id, "node", nd.id, "error", err)
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		p.log.Debug("instance stopped", "function", f.name, "instance", in.id, "node", nd.id,
			"took", time.Since(begin).Round(time.Millisecond))
		// Known no more: if the stop failed (the engine away), the health check finds the
		// container an orphan once the engine answers again, and removes it.
		delete(p.known, in.id)
		if nd.lostGen == lostGen { // else NodeLost dropped the node's reservations already
			b := nd.book()
			b.releases = slices.DeleteFunc(b.releases, func(r *release) bool { return r == rel })
			p.unreserveLocked(nd, rel.left)
		}
		close(rel.done) // the starts that claimed its room go on
	}()
	return rel
}

// unreserveLocked gives r back on nd and wakes every function with waiting calls: room on the
// node may be what they wait for.
func (p *Pool) unreserveLocked(nd *node, r instance.Resources) {
	nd.reserved = minus(nd.reserved, r)
	for g := range p.waiters {
		g.broadcast()
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
