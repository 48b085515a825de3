package pool

import (
	"context"
	"fmt"
	"maps"
	"sort"
	"time"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/scheduler/placer"
)

// This file holds the pool's nodes: what it knows of each, and the calls through which the node
// registry (scheduler/nodes) tells it of their lifecycle.

// node is one node the pool runs instances on. Fields are guarded by Pool.mu.
type node struct {
	id string
	// handle reaches the node's agent; nil for a node the pool has only heard a drain of (a
	// drain persisted across server restarts arrives before the node connects).
	handle Node
	labels map[string]string
	// state is the node's lifecycle state; drained is the admin's choice, kept across
	// reconnects: a drained node that reconnects is draining again.
	state   placer.State
	drained bool
	// known is set once Info has answered; until then the node cannot pause and its capacity is
	// Config.Capacity.
	known    bool
	canPause bool
	driver   string             // the driver's name and version, from Info
	capacity instance.Resources // zero fields are unlimited
	// images are the images on the node: those its last Info listed, and those of instances
	// the pool started or adopted there since (started keeps the latter across refreshes).
	images  map[string]bool
	started map[string]bool
	// reserved is what every instance not yet removed from the node holds, stopping ones
	// included; the part stopping ones hold is in the node's index (idx.releases).
	reserved instance.Resources
	// unreachable is the engine's error while it cannot be reached (driver.ErrUnavailable from
	// a listing or a start) until listings succeed again; upListings counts those (health.go).
	unreachable error
	upListings  int
	// lastErr is the newest failure to read the node (Info or listing); lostErr why it is down.
	lastErr error
	lostErr error
	// listed is set once a listing of the node has been tried since it was added: no instance
	// starts there before, so that one the listing would adopt is not started again.
	listed bool
	// adopt is true until the first successful listing since the pool was made (adopt.go).
	adopt bool
	// lostGen counts NodeLost calls: a stop that settles after its node was lost gives back no
	// reservation (NodeLost dropped them all). handleGen counts AddNode calls: a listing or an
	// Info taken through an older handle says nothing of the node now.
	lostGen   uint64
	handleGen uint64
	// tending is set while Run refreshes or checks the node, so that ticks do not pile up.
	tending     bool
	refreshedAt time.Time
	// idx is the pool's index of the node's instances, stops and prepared instances (place.go).
	idx nodeBook
	// unwatch stops following the node's instance events, when its handle reports them
	// (watch.go); watched is set while the stream is open (since its Resync): the health tick
	// lists only nodes that are not watched, or unreachable. listing is set while a Resync's
	// listing runs, listDue when another is wanted after it.
	unwatch context.CancelFunc
	watched bool
	listing bool
	listDue bool
}

// NodeStatus is one node as the pool sees it, for the API (GET /v1/nodes).
type NodeStatus struct {
	ID string `json:"id"`
	// State is "ready", "draining", "disconnected" or "down" (placer.State).
	State  string            `json:"state"`
	Labels map[string]string `json:"labels,omitempty"`
	// Capacity is what instances may reserve on the node; a zero field is unlimited (or not
	// known yet, see Known). Reserved is what they reserve now.
	Capacity instance.Resources `json:"capacity"`
	Reserved instance.Resources `json:"reserved"`
	// Instances counts the node's instances by state, as FunctionStats.Instances does.
	Instances map[string]int `json:"instances"`
	CanPause  bool           `json:"can_pause"`
	// Known says the node's agent has answered Info since it was added; Driver is its driver's
	// name and version then, and Images how many images it holds.
	Known  bool   `json:"known"`
	Driver string `json:"driver,omitempty"`
	Images int    `json:"images"`
	// Reachable is false while its engine cannot be reached; LastError says why, or why the
	// node is down, or what the last failed read of it was.
	Reachable bool   `json:"reachable"`
	LastError string `json:"last_error,omitempty"`
}

// AddNode adds a node, or takes a node back after its agent reconnected: the new handle
// replaces the old one and the node takes new instances again, unless it is drained. The node's
// Info is read and its instances listed at once in the background (when the handle is an
// agent.Watcher, upon its event stream's Resync: watch.go); no instance starts there before
// that listing, and the first one that works since the pool was made adopts what the node runs
// (adopt.go). Apply every function before adding nodes: a container of a function the pool
// does not know yet is not adopted but stopped.
func (p *Pool) AddNode(id string, n Node, labels map[string]string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	nd := p.nodes[id]
	switch {
	case nd == nil:
		nd = &node{id: id, adopt: true, capacity: p.cfg.Capacity, images: map[string]bool{}, started: map[string]bool{}}
		p.nodes[id] = nd
		p.log.Info("node added", "node", id, "labels", labels)
	case nd.handle == nil:
		p.log.Info("node added", "node", id, "labels", labels, "drained", nd.drained)
	default:
		p.log.Info("node reconnected", "node", id, "was", nd.state)
	}
	if nd.state == placer.StateDown {
		// Its instances left the pool when it was lost: what it still runs is orphaned.
		nd.listed = false
	}
	nd.handle, nd.labels = n, maps.Clone(labels)
	nd.handleGen++
	nd.state = placer.StateReady
	if nd.drained {
		nd.state = placer.StateDraining
	}
	// A new session: what the old one could not reach says nothing of the engine.
	nd.unreachable, nd.upListings, nd.lastErr, nd.lostErr = nil, 0, nil, nil
	// A handle that reports its instances' changes is listed upon its stream's Resync (or
	// when the stream fails before it): one listing rather than two.
	watched := p.watchLocked(nd)
	nd.tending = true
	p.background(func() {
		_ = p.RefreshNode(p.ctx, id)
		if !watched {
			p.CheckNode(p.ctx, id)
		}
		p.mu.Lock()
		nd.tending = false
		p.mu.Unlock()
	})
	p.broadcastAllLocked()
}

// DrainNode stops (drain) or resumes (undrain) new placements on a node. Draining also takes the
// node's instances out of service: idle ones (ready without calls, paused) stop at once, busy
// ones after their last call; their functions' waiting calls get instances on other nodes.
func (p *Pool) DrainNode(id string, drain bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	nd := p.nodes[id]
	if nd == nil {
		// Not connected yet (a drain kept across a server restart): remember it for AddNode.
		nd = &node{id: id, state: placer.StateDown, adopt: true, capacity: p.cfg.Capacity, images: map[string]bool{},
			started: map[string]bool{}}
		p.nodes[id] = nd
	}
	if nd.drained == drain {
		return
	}
	nd.drained = drain
	if !drain {
		if nd.state == placer.StateDraining {
			nd.state = placer.StateReady
		}
		p.log.Info("node takes new instances again", "node", id)
		p.broadcastAllLocked()
		return
	}
	if nd.state == placer.StateReady {
		nd.state = placer.StateDraining
	}
	n := 0
	for _, f := range p.fns {
		for _, in := range f.instances {
			if in.nd == nd && in.state != stateDraining {
				p.drainLocked(f, in)
				n++
			}
		}
	}
	p.log.Info("draining node: no new instances there; its instances stop once idle", "node", id, "instances", n)
	now := p.cfg.Now()
	for _, f := range p.fns {
		p.upkeepLocked(f, now) // min_instances elsewhere
		f.broadcast()
	}
}

// NodeDisconnected marks a node whose agent's session is gone: no new instance goes there, and
// its instances keep taking calls (the router reaches them directly) until the node is lost
// (NodeLost) or reconnects (AddNode).
func (p *Pool) NodeDisconnected(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	nd := p.nodes[id]
	if nd == nil || nd.handle == nil || nd.state == placer.StateDown || nd.state == placer.StateDisconnected {
		return
	}
	nd.state = placer.StateDisconnected
	// A listing or a start that failed as the session went says nothing of the engine: the
	// instances keep serving. Its events went with the session.
	nd.unreachable, nd.upListings = nil, 0
	p.unwatchLocked(nd)
	p.log.Warn("node disconnected: no new instances there until it reconnects", "node", id)
	p.broadcastAllLocked()
}

// NodeLost marks a node down: its instances leave the pool at once, without a stop (the node
// cannot be reached), and their reservations with them. Calls waiting for their functions get
// instances on other nodes; calls in flight on them end by themselves. When the node comes back
// (AddNode), what it still runs is orphaned and stopped by the first health check.
func (p *Pool) NodeLost(id string, reason error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	nd := p.nodes[id]
	if nd == nil || nd.handle == nil {
		return
	}
	p.loseLocked(nd, reason)
}

// RemoveNode is NodeLost, then the pool forgets the node.
func (p *Pool) RemoveNode(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.nodeBackLocked(id) // expected back no more
	nd := p.nodes[id]
	if nd == nil {
		return
	}
	if nd.handle != nil {
		p.loseLocked(nd, fmt.Errorf("node %s was removed", id))
	}
	delete(p.nodes, id)
}

func (p *Pool) loseLocked(nd *node, reason error) {
	p.nodeBackLocked(nd.id) // expected back no more
	if reason == nil {
		reason = fmt.Errorf("node %s was lost", nd.id)
	}
	var gone []string
	now := p.cfg.Now()
	for _, f := range p.fns {
		lost := false
		for id, in := range f.instances {
			if in.nd != nd {
				continue
			}
			delete(f.instances, id)
			delete(p.known, id) // what the node still runs when it is back is an orphan
			in.gone, in.state = true, stateDraining
			p.costMarkLocked(f, in, costNone, now)
			gone = append(gone, id)
			lost = true
		}
		if lost {
			p.upkeepLocked(f, now) // min_instances elsewhere
		}
	}
	nd.state, nd.lostErr, nd.adopt = placer.StateDown, reason, false
	p.unwatchLocked(nd)
	nd.reserved = instance.Resources{}
	nd.lostGen++
	p.log.Warn("node lost: its instances left the pool", "node", nd.id, "instances", len(gone), "reason", reason)
	if p.cfg.OnStopped != nil && len(gone) > 0 {
		p.background(func() {
			for _, id := range gone {
				p.cfg.OnStopped(id)
			}
		})
	}
	p.broadcastAllLocked()
}

// Nodes reports every node the pool knows, by id.
func (p *Pool) Nodes() []NodeStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]NodeStatus, 0, len(p.nodes))
	byNode := map[*node]map[string]int{}
	for _, f := range p.fns {
		for _, in := range f.instances {
			if byNode[in.nd] == nil {
				byNode[in.nd] = map[string]int{}
			}
			byNode[in.nd][in.apiState()]++
		}
	}
	for _, nd := range p.nodes {
		if nd.handle == nil {
			continue
		}
		st := NodeStatus{ID: nd.id, State: string(nd.state), Labels: maps.Clone(nd.labels), Capacity: nd.capacity,
			Reserved: nd.reserved, Instances: byNode[nd], CanPause: nd.known && nd.canPause, Known: nd.known,
			Driver: nd.driver, Images: len(nd.images), Reachable: nd.unreachable == nil}
		if st.Instances == nil {
			st.Instances = map[string]int{}
		}
		switch {
		case nd.unreachable != nil:
			st.LastError = nd.unreachable.Error()
		case nd.state == placer.StateDown && nd.lostErr != nil:
			st.LastError = nd.lostErr.Error()
		case nd.lastErr != nil:
			st.LastError = nd.lastErr.Error()
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// NodeOf returns the id of the node an instance of the pool runs on.
func (p *Pool) NodeOf(instanceID string) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if in := p.instanceLocked(instanceID); in != nil {
		return in.nd.id, true
	}
	return "", false
}

// placeable reports whether new instances may start on the node now.
func (nd *node) placeable() bool {
	return nd.handle != nil && nd.state == placer.StateReady && nd.unreachable == nil && nd.listed
}

// coming reports whether the node will be placeable once its first listing is through.
func (nd *node) coming() bool {
	return nd.handle != nil && nd.state == placer.StateReady && nd.unreachable == nil && !nd.listed
}

// actionable reports whether the pool can talk to the node: pause, resume and stop there.
func (nd *node) actionable() bool {
	return nd.handle != nil && (nd.state == placer.StateReady || nd.state == placer.StateDraining) && nd.unreachable == nil
}

// serves reports whether the node's instances take calls: a disconnected node's do (the router
// reaches them directly), an unreachable engine's do not.
func (nd *node) serves() bool {
	return nd.state != placer.StateDown && nd.unreachable == nil
}

// whyNot says why no instance can start on the node now; the error wraps driver.ErrUnavailable.
func (nd *node) whyNot() error {
	switch {
	case nd.state == placer.StateDown:
		return fmt.Errorf("node %s is down (%v): %w", nd.id, nd.lostErr, driver.ErrUnavailable)
	case nd.unreachable != nil:
		return nd.unreachable
	case nd.state == placer.StateDraining:
		return fmt.Errorf("node %s is draining: %w", nd.id, driver.ErrUnavailable)
	case nd.state == placer.StateDisconnected:
		return fmt.Errorf("node %s is disconnected: %w", nd.id, driver.ErrUnavailable)
	}
	return fmt.Errorf("node %s: %w", nd.id, driver.ErrUnavailable)
}

func (nd *node) reserve(r instance.Resources) {
	nd.reserved.MemoryMB += r.MemoryMB
	nd.reserved.CPUMilli += r.CPUMilli
}

// sortedNodesLocked returns the nodes by id, so that messages and views do not depend on map
// order.
func (p *Pool) sortedNodesLocked() []*node {
	out := make([]*node, 0, len(p.nodes))
	for _, nd := range p.nodes {
		out = append(out, nd)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

func (p *Pool) broadcastAllLocked() {
	for _, f := range p.fns {
		f.broadcast()
	}
}
