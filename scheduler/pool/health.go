package pool

import (
	"context"
	"errors"
	"maps"
	"time"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
)

// This file holds the health check: the pool's view of its instances against the node's.

// CheckHealth asks the node what runs and mends what differs from the pool's view:
//   - an idle instance whose container is gone (killed, out of memory) is replaced; one that
//     dies during a call is replaced by that call's failed outcome instead;
//   - a ready or busy instance whose container is paused though the pool did not pause it
//     (`docker pause` behind hearth's back) is resumed: its calls would otherwise hang until
//     their timeout. Resuming rather than replacing keeps the calls in flight on it, and the
//     pool's state agrees with the engine's again without a cold start;
//   - a container of this node that the pool does not know (a stop, or the cleanup of a failed
//     start, that could not reach the engine) is removed;
//   - while the listing fails with driver.ErrUnavailable (or since a start did) the node is
//     down: calls fail at once with that error (Acquire) and min_instances starts no instance.
//     Two listings in a row that succeed end it (upListingsNeeded), and mend what the engine lost meanwhile as
//     above (an engine that stopped takes its containers down with it: they are listed exited
//     and replaced, or removed as unknown when their stop could not reach the engine).
func (p *Pool) CheckHealth(ctx context.Context) {
	p.mu.Lock()
	gen := p.readyGen
	knownBefore := maps.Clone(p.known)
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	listed, err := p.node.Instances(ctx)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	if err != nil {
		if errors.Is(err, driver.ErrUnavailable) {
			p.nodeUnreachableLocked(err)
		}
		return // any other failure (a slow engine, a plugin that exited) says nothing of instances
	}
	if p.nodeDown != nil {
		// An engine that went away must answer twice in a row, a health interval apart,
		// before instances start on it again: a Docker daemon that is shutting down still
		// answers listings for a second or so, and a container started in that window can be
		// left half made by the engine's own exit (its root file system busy for good).
		if p.upListings++; p.upListings < upListingsNeeded {
			return
		}
	}
	p.nodeReachableLocked()
	states := make(map[string]instance.State, len(listed))
	for _, st := range listed {
		states[st.Instance.ID] = st.State
	}
	for _, f := range p.fns {
		for _, in := range f.instances {
			// Judge only instances that were up before the listing was taken: one that started
			// or resumed since may be listed as it was before.
			if in.readyGen > gen {
				continue
			}
			st, found := states[in.id]
			switch {
			case in.state == stateReady && st == instance.StatePaused:
				p.log.Warn("instance was paused behind the pool's back; resuming it", "function", f.name,
					"instance", in.id, "in_flight", in.inFlight)
				p.resumeLocked(f, in)
			case in.inFlight == 0 && (in.state == stateReady || in.state == statePaused) &&
				(!found || (st != instance.StateRunning && st != instance.StatePaused)):
				p.log.Warn("instance is gone; replacing it", "function", f.name, "instance", in.id, "state", in.state,
					"engine_state", st)
				p.stopLocked(f, in)
			}
		}
		p.upkeepLocked(f, p.cfg.Now())
		f.broadcast()
	}
	p.removeOrphansLocked(listed, knownBefore)
}

// nodeUnreachableLocked marks the node down with err and wakes every waiting call, so that
// it fails now rather than at its deadline.
func (p *Pool) nodeUnreachableLocked(err error) {
	if p.nodeDown == nil {
		p.log.Error("the container engine cannot be reached: calls answer 503 until it is back", "error", err)
	}
	p.nodeDown, p.upListings = err, 0
	for _, f := range p.fns {
		f.broadcast()
	}
}

func (p *Pool) nodeReachableLocked() {
	if p.nodeDown != nil {
		p.log.Info("the container engine answers again; replacing the instances it lost")
		// Starts that failed because the engine was away say nothing of the functions.
		for _, f := range p.fns {
			f.startSucceededLocked()
		}
	}
	p.nodeDown, p.upListings = nil, 0
}

// upListingsNeeded is how many successful listings in a row end a node's down time.
const upListingsNeeded = 2

// removeOrphansLocked stops every listed container whose id the pool did not know either
// before the listing (knownBefore) or now: one known before may have been stopped while the
// listing was taken, one known now may have started meanwhile.
func (p *Pool) removeOrphansLocked(listed []instance.Status, knownBefore map[string]struct{}) {
	for _, st := range listed {
		id := st.Instance.ID
		if _, ok := knownBefore[id]; ok {
			continue
		}
		if _, ok := p.known[id]; ok {
			continue
		}
		p.log.Warn("removing a container of this node that the pool does not know", "instance", id,
			"function", st.Function, "engine_state", st.State)
		p.known[id] = struct{}{} // while its stop runs, so that the next check leaves it be
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			ctx, cancel := context.WithTimeout(context.WithoutCancel(p.ctx), p.cfg.StopTimeout)
			defer cancel()
			if err := p.node.StopInstance(ctx, id); err != nil {
				p.log.Error("could not remove an orphaned container", "instance", id, "error", err)
			}
			p.mu.Lock()
			defer p.mu.Unlock()
			delete(p.known, id)
		}()
	}
}
