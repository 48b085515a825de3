package pool

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/placer"
)

// This file places new instances: it describes the nodes to the placer (scheduler/placer, pure)
// and, when no node will take one, tells a waiting call whether waiting can help.

// constraintsOf is the node labels an instance of a function with spec s needs (func.yaml
// constraints).
func constraintsOf(s api.FunctionSpec) map[string]string { return s.Constraints }

// labelsMatch reports whether labels carry every constraint with its value.
func labelsMatch(labels, constraints map[string]string) bool {
	for k, want := range constraints {
		if got, ok := labels[k]; !ok || got != want {
			return false
		}
	}
	return true
}

// nodeBook is the pool's index of one node (the node's idx field): its instances, its stops under
// way and its prepared instances, so that placement, eviction and the prepared cap look at one
// node's share rather than at every function's. NodeLost takes every instance of a node out of
// the pool at once; an index made before the node's last loss (lostGen) is stale, and the first
// use after it (book) starts afresh.
type nodeBook struct {
	gen uint64
	// insts holds each instance in its function's instances on this node, from its start (or
	// adoption: addInstanceLocked) until it leaves them (stopLocked, a failed start).
	insts map[*inst]*function
	// releases are the stops under way here (stopLocked), until each has returned.
	releases []*release
	// prepared holds the functions with an instance prepared here (prepare.go).
	prepared map[*function]*prepared
}

// release is a stop under way: what its instance still reserves on the node that no start has
// claimed (left), and done, closed once the stop has returned. A start that evicts claims its
// room (makeRoomLocked) and waits for done before it starts.
type release struct {
	left instance.Resources
	done chan struct{}
}

// book returns nd's index, emptied if it is from before the node's last loss.
func (nd *node) book() *nodeBook {
	if b := &nd.idx; b.insts == nil || b.gen != nd.lostGen {
		*b = nodeBook{gen: nd.lostGen, insts: map[*inst]*function{}, prepared: map[*function]*prepared{}}
	}
	return &nd.idx
}

// addInstanceLocked puts in among f's instances, and in its node's index.
func (p *Pool) addInstanceLocked(f *function, in *inst) {
	f.instances[in.id] = in
	in.nd.book().insts[in] = f
	p.wakeLocked(f)
}

// dropInstanceLocked takes in out of f's instances and its node's index.
func (p *Pool) dropInstanceLocked(f *function, in *inst) {
	delete(f.instances, in.id)
	delete(in.nd.book().insts, in)
	p.wakeLocked(f)
}

func (p *Pool) demandOf(f *function) placer.Demand {
	return placer.Demand{Function: f.name, Image: f.image, Resources: f.resources(), Constraints: constraintsOf(f.spec)}
}

// placeLocked asks the placer where a new instance of f goes, among the nodes that take new
// instances now. The error wraps placer.ErrNoNode when none will.
//
// It costs the nodes and f's own instances, not every instance: the nodes are described first
// without what eviction could free (a node with room now always beats one that needs eviction,
// and Evictable weighs in nothing else), and only when none has room are the idle instances of
// each node looked at (that node's alone, through its index).
func (p *Pool) placeLocked(f *function) (placer.Decision, *node, error) {
	nodes := p.placerNodesLocked(f, false)
	d, err := placer.Place(nodes, p.demandOf(f))
	if err != nil && len(nodes) > 0 {
		d, err = placer.Place(p.placerNodesLocked(f, true), p.demandOf(f))
	}
	if err != nil {
		return d, nil, err
	}
	return d, p.nodes[d.Node], nil
}

// placerNodesLocked describes the placeable nodes to the placer for a new instance of f; with
// evictable, each with what evicting idle instances of other functions there would free.
func (p *Pool) placerNodesLocked(f *function, evictable bool) []placer.Node {
	own := make(map[*node]int, 2)
	for _, in := range f.instances {
		if in.version == f.version && in.state != stateDraining {
			own[in.nd]++
		}
	}
	out := make([]placer.Node, 0, len(p.nodes))
	for _, nd := range p.nodes {
		if !nd.placeable() {
			continue
		}
		b := nd.book()
		pn := placer.Node{ID: nd.id, State: placer.StateReady, Allocatable: nd.capacity, Reserved: nd.reserved,
			Pause: nd.known && nd.canPause, Labels: nd.labels, Images: nd.images, FunctionInstances: own[nd],
			Instances: len(b.insts)}
		if evictable {
			for _, r := range b.releases {
				pn.Evictable = plus(pn.Evictable, r.left)
			}
			p.eachEvictableLocked(f, nd, func(_ *function, in *inst) { pn.Evictable = plus(pn.Evictable, in.res) })
		}
		out = append(out, pn)
	}
	return out
}

// scaleLocked serves f's waiting calls: it resumes and starts what planDemand asks for, on the
// nodes the placer picks. A start on a full node evicts idle instances of other functions there
// (makeRoomLocked) and waits for those stops alone.
func (p *Pool) scaleLocked(f *function) {
	resume, start := planDemand(f.spec, f.waiting, f.demandViews())
	for _, id := range resume {
		p.resumeLocked(f, f.instances[id])
	}
	if f.backingOffLocked(p.cfg.Now()) || p.awaitingNodesLocked() {
		return
	}
	for i := 0; i < start; i++ {
		d, nd, err := p.placeLocked(f)
		if err != nil {
			return // no node has room: the call waits for some, or fails (unservableLocked)
		}
		var after []*release
		if d.Evict {
			var ok bool
			if after, ok = p.makeRoomLocked(f, nd); !ok {
				return // the room went meanwhile: the call waits for some
			}
		}
		p.startLocked(f, nd, d.Reason, after...)
	}
}

// makeRoomLocked finds on nd the room one more instance of f lacks there: first in stops under
// way whose room no other start has claimed, then by evicting idle instances of other functions
// (planEvict). It claims that room for the start, so that no other start takes it meanwhile,
// and returns the stops the start must wait for: those alone, not every stop on the node. false
// when even evicting every candidate would not free enough.
//
// Prepared instances go first (prepare.go): those of functions called no more recently than the
// newest victim are discarded with the victims.
func (p *Pool) makeRoomLocked(f *function, nd *node) ([]*release, bool) {
	short := shortfall(nd.capacity, nd.reserved, f.resources())
	if fits(short) {
		return nil, true
	}
	b := nd.book()
	var from []*release
	rest := short
	for _, r := range b.releases {
		if fits(rest) {
			break
		}
		if (rest.MemoryMB > 0 && r.left.MemoryMB > 0) || (rest.CPUMilli > 0 && r.left.CPUMilli > 0) {
			from = append(from, r)
			rest = minus(rest, r.left)
		}
	}
	if !fits(rest) {
		victims := planEvict(rest, p.evictionCandidatesLocked(f, nd))
		if victims == nil {
			return nil, false
		}
		var newest time.Time
		for _, c := range victims {
			g := p.fns[c.function]
			in := g.instances[c.id]
			p.log.Info("evicting idle instance to make room", "function", c.function, "instance", c.id, "node", c.node,
				"paused", c.paused, "for", f.name)
			from = append(from, p.stopLocked(g, in))
			if c.lastUsed.After(newest) {
				newest = c.lastUsed
			}
		}
		p.discardPreparedBeforeLocked(nd, f, newest)
	}
	after := make([]*release, 0, len(from))
	for _, r := range from {
		if fits(short) {
			break
		}
		take := instance.Resources{MemoryMB: max(0, min(short.MemoryMB, r.left.MemoryMB)),
			CPUMilli: max(0, min(short.CPUMilli, r.left.CPUMilli))}
		r.left = minus(r.left, take)
		short = minus(short, take)
		// Claimed: the room is the start's now, reserved by it, no more by the stop.
		nd.reserved = minus(nd.reserved, take)
		after = append(after, r)
	}
	return after, true
}

// evictionCandidatesLocked lists the idle instances on nd that a start of f may evict
// (eachEvictableLocked), each with when its function's next call is expected.
func (p *Pool) evictionCandidatesLocked(f *function, nd *node) []candidate {
	now := p.cfg.Now()
	var cands []candidate
	next := map[*function]time.Duration{}
	p.eachEvictableLocked(f, nd, func(g *function, in *inst) {
		// Once per function: the estimate walks a histogram.
		d, ok := next[g]
		if !ok {
			d = p.nextCallInLocked(g, now)
			next[g] = d
		}
		cands = append(cands, candidate{function: g.name, id: in.id, node: nd.id, paused: in.state == statePaused,
			lastUsed: in.lastUsed, res: in.res, nextIn: d})
	})
	return cands
}

// eachEvictableLocked calls fn with each idle instance on nd that a start of f may evict: of
// other functions, with no call waiting for them (a waiting call is about to take or resume
// them), on a node the pool can reach; every paused one, and ready ones beyond their
// function's min_instances (its least recently used: planIdle keeps the most recent warm). It
// looks at nd's instances only (and, for a function with min_instances, at that function's).
func (p *Pool) eachEvictableLocked(f *function, nd *node, fn func(g *function, in *inst)) {
	if !nd.actionable() {
		return
	}
	var withMin map[*function]bool
	for in, g := range nd.book().insts {
		if g == f || g.waiting > 0 || in.inFlight > 0 || g.instances[in.id] != in {
			continue
		}
		switch {
		case in.state == statePaused, in.state == stateReady && g.spec.MinInstances == 0:
			fn(g, in)
		case in.state == stateReady:
			if withMin == nil {
				withMin = map[*function]bool{}
			}
			withMin[g] = true
		}
	}
	for g := range withMin {
		for _, in := range spareReady(g, nd) {
			fn(g, in)
		}
	}
}

// spareReady lists g's ready idle instances on nd beyond its min_instances: of all its ready
// idle ones, the least recently used that its warm count can spare.
func spareReady(g *function, nd *node) []*inst {
	warm := 0
	var ready []*inst
	for _, in := range g.instances {
		if (view{state: in.state, current: in.version == g.version}).warm() {
			warm++
		}
		if in.state == stateReady && in.inFlight == 0 && in.nd.actionable() {
			ready = append(ready, in)
		}
	}
	spare := warm - g.spec.MinInstances
	if spare <= 0 {
		return nil
	}
	sort.Slice(ready, func(i, j int) bool { return ready[i].lastUsed.Before(ready[j].lastUsed) })
	var out []*inst
	for _, in := range ready[:min(spare, len(ready))] {
		if in.nd == nd {
			out = append(out, in)
		}
	}
	return out
}

func plus(a, b instance.Resources) instance.Resources {
	return instance.Resources{MemoryMB: a.MemoryMB + b.MemoryMB, CPUMilli: a.CPUMilli + b.CPUMilli}
}

func minus(a, b instance.Resources) instance.Resources {
	return instance.Resources{MemoryMB: a.MemoryMB - b.MemoryMB, CPUMilli: a.CPUMilli - b.CPUMilli}
}

// unservableLocked says why a call of f that found no free slot should not wait for one:
// driver.ErrUnavailable when no node takes new instances of f now and none of f's instances may
// free a slot (its nodes are down, draining, disconnected, or their engines unreachable), or
// ErrNoCapacity when no node could ever hold one. nil: the call may wait.
func (p *Pool) unservableLocked(f *function) error {
	cons := constraintsOf(f.spec)
	var why []error
	usable, coming, someNode := false, false, false
	for _, nd := range p.nodes {
		if nd.handle == nil {
			continue
		}
		someNode = true
		if !labelsMatch(nd.labels, cons) {
			continue
		}
		switch {
		case nd.placeable():
			usable = true
		case nd.coming():
			coming = true
		default:
			why = append(why, nd.whyNot())
		}
	}
	switch {
	case usable:
		return p.neverFitsLocked(f)
	case coming || f.servingCount() > 0 || p.awaitingNodesLocked():
		return nil // a node about to take instances, or a slot that may free up
	case len(why) == 1:
		return fmt.Errorf("function %s: %w", f.name, why[0])
	case len(why) > 1:
		msgs := make([]string, len(why))
		for i, err := range why {
			msgs[i] = err.Error()
		}
		sort.Strings(msgs)
		return fmt.Errorf("function %s: no node takes new instances now (%s): %w", f.name, strings.Join(msgs, "; "),
			driver.ErrUnavailable)
	case someNode:
		keys := make([]string, 0, len(cons))
		for k, v := range cons {
			keys = append(keys, k+"="+v)
		}
		sort.Strings(keys)
		return fmt.Errorf("function %s runs only on nodes labelled %s, and no node is (add the labels to a node, or relax its constraints): %w",
			f.name, strings.Join(keys, ","), ErrNoCapacity)
	}
	return fmt.Errorf("function %s: no node has joined: %w", f.name, driver.ErrUnavailable)
}

// neverFitsLocked returns ErrNoCapacity when no node the pool knows that carries f's
// constraints, whatever its state, could hold one instance of f even empty.
func (p *Pool) neverFitsLocked(f *function) error {
	nodes := make([]placer.Node, 0, len(p.nodes))
	for _, nd := range p.nodes {
		if nd.handle == nil {
			continue
		}
		// Every node as if ready: one down or draining now may take instances later.
		nodes = append(nodes, placer.Node{ID: nd.id, State: placer.StateReady, Allocatable: nd.capacity,
			Pause: nd.known && nd.canPause, Labels: nd.labels})
	}
	why := placer.NeverFits(nodes, p.demandOf(f))
	if why == "" {
		return nil
	}
	need := f.resources()
	return fmt.Errorf("function %s reserves %d MB and %dm CPU per instance, and no node can ever hold one: %s (lower memory or cpu, or relax its constraints): %w",
		f.name, need.MemoryMB, need.CPUMilli, why, ErrNoCapacity)
}
