package pool

import (
	"context"
	"errors"
	"time"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/runtimes/contract"
)

// This file keeps one instance of each function in use prepared ahead on a node (created, not
// started: agent.Preparer), so that the function's next start there only starts it. Most of a
// Docker cold start is the engine's create and start; a prepared instance has both its
// container and its network sandbox made (agent/driver/docker/prepare.go).
//
// The rules:
//   - at most one prepared instance per function, on the node of its newest instance, and at
//     most Config.PreparedPerNode (32) per node: each costs the engine a container and a running
//     sandbox, and a node with hundreds of functions would otherwise hold hundreds. When a node
//     has its fill, a new one replaces that of the function called least recently there;
//   - prepared instances are the first thing a start that must evict removes: with its victims,
//     those on the node of functions called no more recently than the newest victim are
//     discarded (makeRoomLocked). They are kept out of the reservations (they hold no memory to
//     speak of) and so never make room by themselves; but a function colder than the instances
//     evicted for want of room is not worth a container kept ready for it;
//   - one is prepared after each successful start, and by upkeep (Apply of a new version, the
//     function's upkeep when due: due.go) whenever the function has instances and none is
//     prepared; never for a function that takes its secrets as files (their values are written
//     at start);
//   - it is used by a start of the same version on the same node session; any other start
//     leaves it be. A start of it that fails is an ordinary failed start;
//   - it is discarded (stopped through StopInstance) on a new version, Remove, a drain or loss
//     of its node, Shutdown (with keep too: an upgrade leaves instances, not prepared ones), and once the function has had no call for
//     idle_timeout + pause_timeout + max(pause_timeout, prepareKeepMin): the time its last
//     instance takes to stop, and as long again as that instance was kept paused;
//   - its id is known to the pool (p.known) from the moment it is asked for, so the health
//     check does not take it for an orphan; one a killed server left is listed as starting by
//     the next, is not adopted, and is removed as an orphan.

// prepareKeepMin is the least time a prepared instance is kept after its function's last
// instance stopped: it costs a created container, no memory to speak of.
const prepareKeepMin = time.Minute

// prepareRetry is how long the pool waits before it prepares again for a function whose last
// prepare failed.
const prepareRetry = time.Minute

// prepared is a function's instance made ahead on a node. Guarded by Pool.mu.
type prepared struct {
	id        string
	version   int
	nd        *node
	handleGen uint64
	// ready is set once the node has made it; a start uses only a ready one.
	ready bool
	// lastCall is the newest time the function was seen in use (an instance's last use).
	lastCall time.Time
}

// prepareState is the pool's part of prepared instances: per function (function.prep) and
// per node session, whether the node cannot prepare.
type prepareState struct {
	// unable holds the node sessions (node, handleGen) whose agent cannot prepare.
	unable map[*node]uint64
	// retryAt is, per function, when a failed prepare may be tried again.
	retryAt map[*function]time.Time
}

// preparer is the optional part of a node's agent (agent.Preparer).
type preparer interface {
	PrepareInstance(ctx context.Context, spec instance.Spec) error
}

// instanceSpecLocked is what f's instance id is started (or prepared) with.
func (p *Pool) instanceSpecLocked(f *function, id string) instance.Spec {
	return instance.Spec{
		ID:        id,
		Function:  f.name,
		Version:   f.version,
		Image:     f.image,
		Env:       f.spec.Env,
		Port:      contract.DefaultPort,
		Resources: f.resources(),
		Security:  securityOf(f.spec),
		SecretsAs: f.spec.SecretsAs,
	}
}

// takePreparedLocked returns the id of f's instance prepared on nd, for a start there, and
// forgets it (it is the starting instance's now); "" when there is none ready for this version
// and node session.
func (p *Pool) takePreparedLocked(f *function, nd *node) string {
	pr := f.prep
	if pr == nil || !pr.ready || pr.nd != nd || pr.version != f.version || pr.handleGen != nd.handleGen {
		return ""
	}
	p.forgetPreparedLocked(f)
	return pr.id
}

// forgetPreparedLocked drops f's prepared instance from the pool's books (not from its node).
func (p *Pool) forgetPreparedLocked(f *function) {
	if pr := f.prep; pr != nil {
		if b := pr.nd.book(); b.prepared[f] == pr {
			delete(b.prepared, f)
		}
		f.prep = nil
	}
}

// lastCallLocked is when f was last seen in use, for the prepared cap: now while a call is in
// flight or waiting, else the end of its last call or its prepared instance's last use,
// whichever is newer.
func (f *function) lastCallLocked(now time.Time) time.Time {
	if f.ka.busy > 0 || f.waiting > 0 {
		return now
	}
	t := f.ka.idleSince
	if f.prep != nil && f.prep.lastCall.After(t) {
		t = f.prep.lastCall
	}
	return t
}

// preparedDueLocked is when f's prepared instance next needs upkeep (due.go): its expiry once
// f has had no call for long enough, or a failed prepare's retry; zero for none.
func (p *Pool) preparedDueLocked(f *function, now time.Time) time.Time {
	if pr := f.prep; pr != nil {
		for _, in := range f.instances {
			if in.inFlight > 0 {
				return time.Time{} // the call's end wakes the function
			}
		}
		// tendPreparedLocked discards it once strictly past the keep.
		return pr.lastCall.Add(preparedKeep(f) + time.Nanosecond)
	}
	if retry := p.prep.retryAt[f]; retry.After(now) && f.liveCount() > 0 {
		return retry
	}
	return time.Time{}
}

// preparedKeep is how long f's prepared instance is kept after its last call.
func preparedKeep(f *function) time.Duration {
	return f.spec.IdleTimeout.D() + f.spec.PauseTimeout.D() + max(f.spec.PauseTimeout.D(), prepareKeepMin)
}

// discardPreparedBeforeLocked discards the instances prepared on nd for functions other than f
// last called no later than t: what a start that evicts instances used up to t removes first.
func (p *Pool) discardPreparedBeforeLocked(nd *node, f *function, t time.Time) {
	now := p.cfg.Now()
	for g := range nd.book().prepared {
		if g != f && !g.lastCallLocked(now).After(t) {
			p.log.Debug("discarding an instance prepared ahead: its node is full", "function", g.name, "node", nd.id)
			p.discardPreparedLocked(g)
		}
	}
}

// tendPreparedLocked discards f's prepared instance when it is no longer wanted, and prepares one
// when f is in use and has none. Called by upkeep.
func (p *Pool) tendPreparedLocked(f *function, now time.Time) {
	if pr := f.prep; pr != nil {
		for _, in := range f.instances {
			if in.inFlight > 0 {
				pr.lastCall = now
			} else if in.lastUsed.After(pr.lastCall) {
				pr.lastCall = in.lastUsed
			}
		}
		keep := preparedKeep(f)
		switch {
		case f.removed || pr.version != f.version:
		case pr.handleGen != pr.nd.handleGen || !pr.nd.placeable():
		case now.Sub(pr.lastCall) > keep:
		default:
			return
		}
		p.discardPreparedLocked(f)
	}
	var newest *inst
	for _, in := range f.instances {
		if in.state != stateDraining && in.version == f.version && (newest == nil || in.startedAt.After(newest.startedAt)) {
			newest = in
		}
	}
	if newest != nil {
		p.prepareLocked(f, newest.nd, now)
	}
}

// prepareLocked asks nd to prepare f's next instance, unless f has one, nd cannot, or a recent
// prepare failed. On a node with its fill of prepared instances, the one of the function called
// least recently is discarded for it.
func (p *Pool) prepareLocked(f *function, nd *node, now time.Time) {
	if f.prep != nil || f.removed || p.closed || !nd.placeable() || p.cfg.PreparedPerNode < 0 {
		return
	}
	h, ok := nd.handle.(preparer)
	if !ok {
		return
	}
	if gen, ok := p.prep.unable[nd]; ok && gen == nd.handleGen {
		return
	}
	if now.Before(p.prep.retryAt[f]) {
		return
	}
	b := nd.book()
	if len(b.prepared) >= p.cfg.PreparedPerNode {
		// Only for a function called more recently than the least recent one prepared there:
		// else every upkeep of a function left out would displace another, which would displace
		// it in turn.
		var oldest *function
		var at time.Time
		for g := range b.prepared {
			if t := g.lastCallLocked(now); oldest == nil || t.Before(at) {
				oldest, at = g, t
			}
		}
		if !f.lastCallLocked(now).After(at) {
			return
		}
		p.discardPreparedLocked(oldest)
	}
	pr := &prepared{id: newInstanceID(f.name, f.version), version: f.version, nd: nd, handleGen: nd.handleGen, lastCall: now}
	f.prep = pr
	b.prepared[f] = pr
	p.known[pr.id] = struct{}{}
	spec := p.instanceSpecLocked(f, pr.id)
	p.background(func() {
		ctx, cancel := context.WithTimeout(p.ctx, p.cfg.StartTimeout)
		defer cancel()
		spec, err := p.withSecrets(ctx, f.name, spec)
		if err == nil && len(spec.Secrets) > 0 && spec.SecretsAs != instance.SecretsEnv {
			err = errSecretsAtStart
		}
		if err == nil {
			err = h.PrepareInstance(ctx, spec)
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		if err != nil {
			switch {
			case errors.Is(err, driver.ErrNotSupported):
				if p.prep.unable == nil {
					p.prep.unable = map[*node]uint64{}
				}
				p.prep.unable[nd] = pr.handleGen
			default:
				if p.prep.retryAt == nil {
					p.prep.retryAt = map[*function]time.Time{}
				}
				p.prep.retryAt[f] = p.cfg.Now().Add(prepareRetry)
				if !errors.Is(err, errSecretsAtStart) {
					p.log.Warn("could not prepare an instance ahead; starts there create it as usual", "function", f.name,
						"instance", pr.id, "node", nd.id, "error", err)
				}
			}
			if f.prep == pr {
				p.forgetPreparedLocked(f)
			}
			if errors.Is(err, driver.ErrNotSupported) || errors.Is(err, errSecretsAtStart) {
				delete(p.known, pr.id) // nothing was made
				return
			}
			// Whatever the failed prepare left (it may have run out of time) is removed.
			p.stopPreparedLocked(f, pr)
			return
		}
		if f.prep != pr {
			// Discarded while it was being made: the discard's stop may have run before the
			// container existed, so stop it again.
			p.stopPreparedLocked(f, pr)
			return
		}
		pr.ready = true
		p.log.Debug("instance prepared ahead", "function", f.name, "instance", pr.id, "node", nd.id)
	})
}

// errSecretsAtStart: a function whose secrets are files is not prepared.
var errSecretsAtStart = errors.New("secrets as files are written at start")

// discardPreparedLocked removes f's prepared instance, if any.
func (p *Pool) discardPreparedLocked(f *function) {
	if f.removed {
		delete(p.prep.retryAt, f)
	}
	pr := f.prep
	if pr == nil {
		return
	}
	p.forgetPreparedLocked(f)
	if pr.ready {
		p.stopPreparedLocked(f, pr)
	}
	// One not ready yet is stopped when its prepare returns (prepareLocked).
}

// stopPreparedLocked stops a prepared instance's container in the background and forgets its id
// once that is done. On a node the pool cannot reach now, it is only forgotten: the health check
// removes it as an orphan when the node is back.
func (p *Pool) stopPreparedLocked(f *function, pr *prepared) {
	nd := pr.nd
	if !nd.actionable() || nd.handleGen != pr.handleGen {
		delete(p.known, pr.id)
		return
	}
	h := nd.handle
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(p.ctx), p.cfg.StopTimeout)
		defer cancel()
		if err := h.StopInstance(ctx, pr.id); err != nil {
			p.log.Warn("could not remove a prepared instance", "function", f.name, "instance", pr.id, "node", nd.id, "error", err)
		}
		p.mu.Lock()
		delete(p.known, pr.id)
		p.mu.Unlock()
	}()
}
