package pool

import (
	"context"
	"errors"
	"maps"
	"sync"
	"time"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/scheduler/placer"
)

// This file holds the health check: the pool's view of each node's instances against the node's.

// listTimeout bounds one node's listing (and one Info): a node that does not answer in time
// says nothing this round, and holds up no other.
const listTimeout = 10 * time.Second

// CheckHealth checks every node the pool can talk to (CheckNode), concurrently, and returns
// when all are done, watched nodes too (Run's tick lists only the others). A disconnected or
// down node is not asked.
func (p *Pool) CheckHealth(ctx context.Context) {
	p.mu.Lock()
	var ids []string
	for id, nd := range p.nodes {
		if nd.handle != nil && (nd.state == placer.StateReady || nd.state == placer.StateDraining) {
			ids = append(ids, id)
		}
	}
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Go(func() { p.CheckNode(ctx, id) })
	}
	wg.Wait()
}

// CheckNode asks one node what runs there and mends what differs from the pool's view:
//   - the first listing that works since the pool was made adopts the instances the node still
//     runs for the functions' current versions (adopt.go);
//   - an idle instance whose container is gone (killed, out of memory) is replaced; one that
//     dies during a call is replaced by that call's failed outcome instead;
//   - a ready or busy instance whose container is paused though the pool did not pause it
//     (`docker pause` behind hearth's back) is resumed: its calls would otherwise hang until
//     their timeout. Resuming rather than replacing keeps the calls in flight on it, and the
//     pool's state agrees with the engine's again without a cold start;
//   - a container of this node that the pool does not know (a stop, or the cleanup of a failed
//     start, that could not reach the engine; one left from before the node was lost) is
//     removed;
//   - while the listing fails with driver.ErrUnavailable (or since a start there did) the
//     node's engine is unreachable: no instance starts there, its instances take no call, and
//     calls that no other node can serve fail at once with that error (Acquire). Two listings
//     in a row that succeed end it (upListingsNeeded), and mend what the engine lost meanwhile
//     as above (an engine that stopped takes its containers down with it: they are listed
//     exited and replaced, or removed as unknown when their stop could not reach the engine).
//
// A node whose agent reports its instances' changes (agent.Watcher) is listed upon each Resync
// of its event stream, and its events are applied one instance at a time (watch.go); Run lists
// on its health tick only the nodes that are not watched that way, or whose engine is
// unreachable. It does nothing for a node that is disconnected, down or unknown.
func (p *Pool) CheckNode(ctx context.Context, id string) {
	p.mu.Lock()
	nd := p.nodes[id]
	if nd == nil || nd.handle == nil || p.closed || !(nd.state == placer.StateReady || nd.state == placer.StateDraining) {
		p.mu.Unlock()
		return
	}
	h, handleGen, lostGen := nd.handle, nd.handleGen, nd.lostGen
	gen := p.readyGen
	knownBefore := maps.Clone(p.known)
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, listTimeout)
	defer cancel()
	listed, err := h.Instances(ctx)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.nodes[id] != nd || nd.handleGen != handleGen || nd.lostGen != lostGen ||
		!(nd.state == placer.StateReady || nd.state == placer.StateDraining) {
		return // the node changed meanwhile: this listing is about what it was
	}
	if !nd.listed {
		nd.listed = true
		defer p.broadcastAllLocked() // calls that waited for the node's first listing
	}
	if err != nil {
		nd.lastErr = err
		if errors.Is(err, driver.ErrUnavailable) {
			p.nodeUnreachableLocked(nd, err)
		}
		return // any other failure (a slow engine, a plugin that exited) says nothing of instances
	}
	if nd.unreachable != nil {
		// An engine that went away must answer twice in a row, a health interval apart,
		// before instances start on it again: a Docker daemon that is shutting down still
		// answers listings for a second or so, and a container started in that window can be
		// left half made by the engine's own exit (its root file system busy for good).
		if nd.upListings++; nd.upListings < upListingsNeeded {
			return
		}
	}
	if nd.unreachable != nil && nd.watched {
		// The stream's Resync came while the engine was away and was not listed for (watch.go);
		// this listing may have begun before it. One more, now the engine answers, is a sound
		// baseline for the events.
		p.listSoonLocked(nd)
	}
	p.nodeReachableLocked(nd)
	var notAdopted map[string]string
	if nd.adopt {
		nd.adopt = false
		notAdopted = p.adoptLocked(nd, listed, knownBefore)
		defer p.nodeBackLocked(nd.id) // after this listing has settled the node's instances
	}
	states := make(map[string]instance.State, len(listed))
	for _, st := range listed {
		states[st.Instance.ID] = st.State
	}
	for _, f := range p.fns {
		for _, in := range f.instances {
			// Judge only this node's instances that were up before the listing was taken: one
			// that started or resumed since may be listed as it was before.
			if in.nd != nd || in.readyGen > gen {
				continue
			}
			st, found := states[in.id]
			switch {
			case in.state == stateReady && st == instance.StatePaused:
				p.log.Warn("instance was paused behind the pool's back; resuming it", "function", f.name,
					"instance", in.id, "node", nd.id, "in_flight", in.inFlight)
				p.resumeLocked(f, in)
			case in.inFlight == 0 && (in.state == stateReady || in.state == statePaused) &&
				(!found || (st != instance.StateRunning && st != instance.StatePaused)):
				p.log.Warn("instance is gone; replacing it", "function", f.name, "instance", in.id, "node", nd.id,
					"state", in.state, "engine_state", st)
				p.stopLocked(f, in)
			}
		}
		p.upkeepLocked(f, p.cfg.Now())
		f.broadcast()
	}
	p.removeOrphansLocked(nd, listed, knownBefore, notAdopted)
}

// nodeUnreachableLocked marks nd's engine unreachable with err and wakes every waiting call, so
// that one no other node can serve fails now rather than at its deadline.
func (p *Pool) nodeUnreachableLocked(nd *node, err error) {
	if nd.unreachable == nil {
		p.log.Error("the container engine of a node cannot be reached: no instance starts there until it is back",
			"node", nd.id, "error", err)
	}
	nd.unreachable, nd.upListings = err, 0
	p.broadcastAllLocked()
}

func (p *Pool) nodeReachableLocked(nd *node) {
	if nd.unreachable != nil {
		p.log.Info("the container engine of a node answers again; replacing the instances it lost", "node", nd.id)
		// Starts that failed because the engine was away say nothing of the functions.
		for _, f := range p.fns {
			f.startSucceededLocked()
		}
		p.broadcastAllLocked()
	}
	nd.unreachable, nd.upListings, nd.lastErr = nil, 0, nil
}

// upListingsNeeded is how many successful listings in a row end a node's unreachable time.
const upListingsNeeded = 2

// removeOrphansLocked stops every container listed on nd whose id the pool did not know either
// before the listing (knownBefore) or now: one known before may have been stopped while the
// listing was taken, one known now may have started meanwhile. why says, for containers the
// adoption passed over, why.
func (p *Pool) removeOrphansLocked(nd *node, listed []instance.Status, knownBefore map[string]struct{}, why map[string]string) {
	h := nd.handle
	for _, st := range listed {
		id := st.Instance.ID
		if _, ok := knownBefore[id]; ok {
			continue
		}
		if _, ok := p.known[id]; ok {
			continue
		}
		reason := why[id]
		if reason == "" {
			reason = "the pool does not know it"
		}
		p.log.Warn("removing a container of this node", "node", nd.id, "instance", id, "function", st.Function,
			"engine_state", st.State, "why", reason)
		p.known[id] = struct{}{} // while its stop runs, so that the next check leaves it be
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			ctx, cancel := context.WithTimeout(context.WithoutCancel(p.ctx), p.cfg.StopTimeout)
			defer cancel()
			if err := h.StopInstance(ctx, id); err != nil {
				p.log.Error("could not remove an orphaned container", "node", nd.id, "instance", id, "error", err)
			}
			p.mu.Lock()
			defer p.mu.Unlock()
			delete(p.known, id)
		}()
	}
}
