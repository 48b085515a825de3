package pool

import "time"

// This file holds the start-up grace: at a server start, the agents it knew come back one by
// one, each with the instances the last server left there. Had the pool placed new instances
// for the load on the first agent back, the ones still running on the others would be surplus
// when they arrived (max_instances) and would be stopped: a restart would recreate instances
// instead of keeping them. So until every node expected back has been listed once (and its
// instances adopted), or until the grace ends, the pool starts nothing new: calls wait for the
// adoptions (or for resumes) instead of failing for want of a node.

// ExpectNodes names the nodes expected to come back within d (the server passes the agents its
// store knows, and the node timeout): until each has been added and listed once, or d has
// passed, no new instance starts and calls that find no instance wait rather than fail.
// A node lost or removed meanwhile is expected no more.
func (p *Pool) ExpectNodes(ids []string, d time.Duration) {
	if len(ids) == 0 || d <= 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.expected = make(map[string]struct{}, len(ids))
	for _, id := range ids {
		if nd := p.nodes[id]; nd != nil && !nd.adopt {
			continue // listed already
		}
		p.expected[id] = struct{}{}
	}
	p.expectUntil = p.cfg.Now().Add(d)
	p.log.Info("waiting for the nodes of the last run to come back before starting instances",
		"nodes", len(p.expected), "at_most", d)
	time.AfterFunc(d, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if len(p.expected) > 0 && !p.closed {
			p.log.Warn("nodes of the last run did not come back in time; starting instances on the others",
				"missing", len(p.expected))
			p.endGraceLocked()
		}
	})
}

// awaitingNodesLocked reports whether the start-up grace holds: new instances wait for the
// nodes expected back.
func (p *Pool) awaitingNodesLocked() bool {
	if len(p.expected) == 0 {
		return false
	}
	if !p.cfg.Now().Before(p.expectUntil) {
		p.endGraceLocked()
		return false
	}
	return true
}

// nodeBackLocked says that node id came back and was listed (or is expected no more).
func (p *Pool) nodeBackLocked(id string) {
	if _, ok := p.expected[id]; !ok {
		return
	}
	delete(p.expected, id)
	if len(p.expected) == 0 {
		p.log.Info("every node of the last run is back")
		p.endGraceLocked()
	}
}

// endGraceLocked ends the grace and wakes every waiting call: starts may be due now.
func (p *Pool) endGraceLocked() {
	p.expected = nil
	p.broadcastAllLocked()
}
