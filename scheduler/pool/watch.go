package pool

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/hearthfn/hearth/agent"
	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/scheduler/placer"
)

// This file follows the nodes whose agents report their instances' changes as the engine makes
// them (agent.Watcher: Docker's event stream, Nomad's blocking queries, a remote agent's
// events). Such a node is listed once each time its stream (re)starts, on the Resync, and
// each event after that is applied to the one instance it names: nothing lists it on a timer,
// which with hundreds of instances on a node cost the engine more than all the calls did. A
// node whose agent cannot watch, or whose stream is broken, is listed on the health tick
// (upkeep.go) as before.

// watchers counts the goroutines that follow the nodes' events. They end with the pool's
// context, which Shutdown cancels only after its background work is through (Shutdown(true)
// lets starts finish first): so they are not counted in Pool.wg, and Run waits for them after
// Shutdown.
type watchers struct{ wg sync.WaitGroup }

// watchLocked starts following nd's instance events through its handle, when the handle can
// report them, and stops following whatever it followed before. It reports whether it
// started: if so, the watch's Resync lists the node, and no other first listing is needed.
func (p *Pool) watchLocked(nd *node) bool {
	p.unwatchLocked(nd)
	w, ok := nd.handle.(agent.Watcher)
	if !ok || p.closed {
		return false
	}
	ctx, cancel := context.WithCancel(p.ctx)
	nd.unwatch = cancel
	gen := nd.handleGen
	p.watchers.wg.Go(func() { p.watch(ctx, nd, gen, w) })
	return true
}

// unwatchLocked stops following nd's events: its handle changed, it was lost, removed or
// disconnected (its session, and so its events, are gone).
func (p *Pool) unwatchLocked(nd *node) {
	if nd.unwatch != nil {
		nd.unwatch()
		nd.unwatch = nil
	}
	nd.watched = false
}

// watch follows the events of nd's handle gen until ctx ends or the handle is no longer the
// node's. When the stream breaks it says why:
//   - driver.ErrNotSupported: the agent cannot watch after all (an older driver plugin); the
//     health tick lists the node from now on;
//   - driver.ErrUnavailable: the engine cannot be reached, which is what a failed listing
//     would have said: the node is unreachable, the tick lists it until two listings work
//     (health.go), and the stream is opened again a health interval later;
//   - anything else: the stream is opened again a health interval later, and the tick lists
//     the node meanwhile.
//
// A stream that ends before the node's first listing lists it, so that starts there need not
// wait for the tick.
func (p *Pool) watch(ctx context.Context, nd *node, gen uint64, w agent.Watcher) {
	failing := false
	for {
		err := w.WatchInstances(ctx, func(ev instance.Event) { p.onEvent(nd, gen, ev) })
		p.mu.Lock()
		if ctx.Err() != nil || !p.followsLocked(nd, gen) {
			p.mu.Unlock()
			return
		}
		if nd.watched { // the stream was open: a new failure is news
			failing = false
		}
		nd.watched = false
		unlisted := !nd.listed
		stop := false
		switch {
		case errors.Is(err, driver.ErrNotSupported):
			p.log.Info("the node's agent cannot report instance changes: the health check lists the node every interval",
				"node", nd.id, "interval", p.cfg.HealthInterval)
			stop = true
		case errors.Is(err, driver.ErrUnavailable):
			p.nodeUnreachableLocked(nd, err)
		case !failing:
			p.log.Warn("the node's instance events stopped; listing the node every health interval until they are back",
				"node", nd.id, "error", err)
		default:
			p.log.Debug("the node's instance events are still not back", "node", nd.id, "error", err)
		}
		failing = !stop
		p.mu.Unlock()
		if unlisted {
			p.CheckNode(ctx, nd.id)
		}
		if stop {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(p.cfg.HealthInterval):
		}
	}
}

// followsLocked reports whether events of nd's handle gen still say something of the node.
func (p *Pool) followsLocked(nd *node, gen uint64) bool {
	return !p.closed && p.nodes[nd.id] == nd && nd.handleGen == gen &&
		(nd.state == placer.StateReady || nd.state == placer.StateDraining)
}

// onEvent applies one event of nd's handle gen. It runs on the watch's goroutine and only takes
// the lock: a Resync's listing runs on a goroutine of its own.
func (p *Pool) onEvent(nd *node, gen uint64, ev instance.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.followsLocked(nd, gen) {
		return
	}
	if ev.Resync {
		nd.watched = true
		// While the engine is unreachable the tick lists the node, and the listing that ends it
		// asks for one more (health.go): two listings in a row must work, a health interval
		// apart, before instances start there again.
		if nd.unreachable == nil {
			p.listSoonLocked(nd)
		}
		return
	}
	p.applyEventLocked(nd, ev)
}

// listSoonLocked lists nd (CheckNode) on a goroutine of its own. Requests that come while a
// listing runs make one more listing after it, not one each: each Resync needs a listing taken
// after it, however many came.
func (p *Pool) listSoonLocked(nd *node) {
	nd.listDue = true
	if nd.listing || p.closed {
		return
	}
	nd.listing = true
	p.background(func() {
		p.mu.Lock()
		for nd.listDue && !p.closed {
			nd.listDue = false
			p.mu.Unlock()
			p.CheckNode(p.ctx, nd.id)
			p.mu.Lock()
		}
		nd.listing = false
		p.mu.Unlock()
	})
}

// applyEventLocked applies an event to the one instance it names, as CheckNode would have
// upon a listing that showed the change:
//   - an idle instance (ready without calls, or paused) that exited or is gone is replaced; one
//     with calls in flight is replaced by their failed outcome instead;
//   - a ready (or busy) instance paused behind the pool's back is resumed, so that its calls do
//     not hang until their timeout.
//
// Events about instances the pool is starting, pausing, resuming or stopping itself change
// nothing: their action settles them. Nor do events about instances it does not know: the next
// listing (a Resync) finds the orphans. Neither do events while the engine is unreachable: the
// listings that end that time mend what changed.
func (p *Pool) applyEventLocked(nd *node, ev instance.Event) {
	if nd.unreachable != nil {
		return
	}
	f := p.fns[ev.Function]
	if f == nil {
		return
	}
	in := f.instances[ev.InstanceID]
	if in == nil || in.nd != nd {
		return
	}
	switch {
	case (ev.Gone || ev.State == instance.StateExited) && in.inFlight == 0 &&
		(in.state == stateReady || in.state == statePaused):
		p.log.Warn("instance is gone; replacing it", "function", f.name, "instance", in.id, "node", nd.id,
			"state", in.state, "engine_state", ev.State, "gone", ev.Gone, "reason", ev.Reason, "exit_code", ev.ExitCode,
			"oom_killed", ev.OOMKilled)
		p.stopLocked(f, in)
	case !ev.Gone && ev.State == instance.StatePaused && in.state == stateReady:
		p.log.Warn("instance was paused behind the pool's back; resuming it", "function", f.name,
			"instance", in.id, "node", nd.id, "in_flight", in.inFlight)
		p.resumeLocked(f, in)
	default:
		return
	}
	p.upkeepLocked(f, p.cfg.Now())
	f.broadcast()
}
