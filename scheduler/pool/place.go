package pool

import (
	"fmt"
	"sort"
	"strings"

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

func (p *Pool) demandOf(f *function) placer.Demand {
	return placer.Demand{Function: f.name, Image: f.image, Resources: f.resources(), Constraints: constraintsOf(f.spec)}
}

// placeLocked asks the placer where a new instance of f goes, among the nodes that take new
// instances now. The error wraps placer.ErrNoNode when none will.
func (p *Pool) placeLocked(f *function) (placer.Decision, *node, error) {
	d, err := placer.Place(p.placerNodesLocked(f), p.demandOf(f))
	if err != nil {
		return d, nil, err
	}
	return d, p.nodes[d.Node], nil
}

// placerNodesLocked describes the placeable nodes to the placer for a new instance of f.
func (p *Pool) placerNodesLocked(f *function) []placer.Node {
	type tally struct {
		fn, all int
		evict   instance.Resources
	}
	tallies := make(map[string]*tally, len(p.nodes))
	at := func(id string) *tally {
		t := tallies[id]
		if t == nil {
			t = &tally{}
			tallies[id] = t
		}
		return t
	}
	for _, g := range p.fns {
		for _, in := range g.instances {
			t := at(in.nd.id)
			t.all++
			if g == f && in.version == f.version && in.state != stateDraining {
				t.fn++
			}
		}
	}
	for _, c := range p.evictionCandidatesLocked(f) {
		t := at(c.node)
		t.evict.MemoryMB += c.res.MemoryMB
		t.evict.CPUMilli += c.res.CPUMilli
	}
	out := make([]placer.Node, 0, len(p.nodes))
	for _, nd := range p.nodes {
		if !nd.placeable() {
			continue
		}
		t := at(nd.id)
		out = append(out, placer.Node{ID: nd.id, State: placer.StateReady, Allocatable: nd.capacity, Reserved: nd.reserved,
			Evictable: t.evict, Pause: nd.known && nd.canPause, Labels: nd.labels, Images: nd.images,
			FunctionInstances: t.fn, Instances: t.all})
	}
	return out
}

// scaleLocked serves f's waiting calls: it resumes and starts what planDemand asks for, on the
// nodes the placer picks, making room on a full node by evicting idle instances of other
// functions there.
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
		if d.Evict {
			p.makeRoomLocked(f, nd)
			return
		}
		p.startLocked(f, nd, d.Reason)
	}
}

// makeRoomLocked stops idle instances of other functions on nd (paused first) to free what one
// more instance of f lacks there, unless stops under way already free enough; the start then
// happens when a waiter retries after those stops complete.
func (p *Pool) makeRoomLocked(f *function, nd *node) {
	settled := instance.Resources{MemoryMB: nd.reserved.MemoryMB - nd.releasing.MemoryMB,
		CPUMilli: nd.reserved.CPUMilli - nd.releasing.CPUMilli}
	short := shortfall(nd.capacity, settled, f.resources())
	if fits(short) {
		return // stops under way will make room
	}
	var cands []candidate
	for _, c := range p.evictionCandidatesLocked(f) {
		if c.node == nd.id {
			cands = append(cands, c)
		}
	}
	for _, c := range planEvict(short, cands) {
		g := p.fns[c.function]
		p.log.Info("evicting idle instance to make room", "function", c.function, "instance", c.id, "node", c.node,
			"paused", c.paused, "for", f.name)
		p.stopLocked(g, g.instances[c.id])
	}
}

// evictionCandidatesLocked lists idle instances of functions other than f on nodes the pool can
// reach: every paused one, and ready ones beyond their function's min_instances.
func (p *Pool) evictionCandidatesLocked(f *function) []candidate {
	var cands []candidate
	now := p.cfg.Now()
	for _, g := range p.fns {
		if g == f {
			continue
		}
		first := len(cands)
		var ready []candidate
		warm := 0
		for _, in := range g.instances {
			v := view{state: in.state, current: in.version == g.version}
			if v.warm() {
				warm++
			}
			if in.inFlight > 0 || !in.nd.actionable() {
				continue
			}
			c := candidate{function: g.name, id: in.id, node: in.nd.id, lastUsed: in.lastUsed, res: in.res}
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
		if len(cands) > first {
			// Only for functions with candidates: the estimate walks a histogram.
			next := p.nextCallInLocked(g, now)
			for i := first; i < len(cands); i++ {
				cands[i].nextIn = next
			}
		}
	}
	return cands
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
