package nodes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"time"

	"github.com/hearthfn/hearth/agent"
	"github.com/hearthfn/hearth/agent/remote"
	"github.com/hearthfn/hearth/scheduler/store"
)

// What happens to a node's entry as its agent joins, connects, beats and goes. Every method
// here changes state under mu, queues the pool calls the change needs, and makes them (tell)
// after releasing mu; the listener (listener.go) and the ticker call them.

// joined records a node that just joined: disconnected until it connects, and down if it does
// not within the node timeout.
func (m *Manager) joined(rec store.NodeRecord) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nodes[rec.ID] = &entry{rec: rec, deadlineFrom: m.cfg.Now(), seen: rec.LastSeen, storedSeen: rec.LastSeen}
}

// known returns the stored record of a node that may connect. Errors: ErrNodeUnknown, or the
// store's.
func (m *Manager) known(ctx context.Context, id string) (store.NodeRecord, error) {
	m.mu.Lock()
	e, ok := m.nodes[id]
	local := ok && e.local
	m.mu.Unlock()
	if !ok || local {
		return store.NodeRecord{}, errorf(ErrNodeUnknown, "node %s was removed or never joined; join again with a new token", id)
	}
	rec, err := m.store.GetNode(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.NodeRecord{}, errorf(ErrNodeUnknown, "node %s was removed or never joined; join again with a new token", id)
	}
	return rec, err
}

// connected records what a node's hello says (its advertise address) and gives the node its
// new session: a session it had is closed (a second connect replaces the first), and the pool
// gets the node (again). It returns the session's generation, which the session's later
// messages carry. Errors: ErrNodeUnknown when the node was removed meanwhile.
func (m *Manager) connected(ctx context.Context, id string, h remote.Hello, a agent.Agent, sess io.Closer) (uint64, error) {
	now := m.cfg.Now()
	m.membership.Lock()
	m.mu.Lock()
	e, ok := m.nodes[id]
	if !ok || e.local {
		m.mu.Unlock()
		m.membership.Unlock()
		return 0, errorf(ErrNodeUnknown, "node %s was removed", id)
	}
	rec := e.rec
	m.mu.Unlock()
	rec.AdvertiseAddr, rec.LastSeen = h.AdvertiseAddr, now.UTC()
	stored, err := m.store.UpsertNode(ctx, rec)
	m.membership.Unlock()
	if err != nil {
		// The node works without it: the address is the hello's until the next connect.
		m.log.Warn("could not store a node's advertise address", "node", id, "error", err)
		stored = rec
	}

	m.mu.Lock()
	e, ok = m.nodes[id]
	if !ok || m.closing {
		m.mu.Unlock()
		return 0, errorf(ErrNodeUnknown, "node %s was removed", id)
	}
	old, oldEvents := e.sess, e.events
	e.gen++
	e.rec.AdvertiseAddr = stored.AdvertiseAddr
	e.events = newSessionEvents(id)
	e.agent, e.sess, e.down, e.problem = a, sess, false, ""
	e.helloLabels, e.version, e.info = maps.Clone(h.Labels), h.Version, h.Info
	e.deadlineFrom, e.seen, e.storedSeen = now, now, stored.LastSeen
	e.added = true
	gen, labels, drained, name := e.gen, e.labels(), e.rec.State == store.NodeDraining, e.rec.Name
	handle := &watchedAgent{Agent: a, events: e.events}
	m.pending = append(m.pending, func(p Pool) { p.AddNode(id, handle, labels) })
	if drained {
		m.pending = append(m.pending, func(p Pool) { p.DrainNode(id, true) })
	}
	m.mu.Unlock()
	if old != nil {
		old.Close()
		m.log.Info("node connected again; its earlier session is closed", "node", id)
	}
	m.tell()
	if oldEvents != nil {
		oldEvents.end() // after AddNode gave the pool the new session's handle
	}
	m.log.Info("node connected", "node", id, "name", name, "version", h.Version,
		"advertise_addr", h.AdvertiseAddr, "driver", h.Info.Driver.Name+" "+h.Info.Driver.Version, "drained", drained)
	return gen, nil
}

// disconnected records that the session gen of a node ended (the agent went away, or its
// connection broke). A session the Manager closed itself, or replaced, changes nothing.
func (m *Manager) disconnected(id string, gen uint64, why error) {
	m.mu.Lock()
	e, ok := m.nodes[id]
	if !ok || e.gen != gen || e.sess == nil {
		m.mu.Unlock()
		return
	}
	e.sess = nil
	tellPool := e.added && !m.closing
	var events *sessionEvents
	if tellPool {
		m.pending = append(m.pending, func(p Pool) { p.NodeDisconnected(id) })
		// At shutdown the pool is told nothing, and its watch of the session's events ends
		// with the pool: ending it here would make the node look unreachable meanwhile.
		events, e.events = e.events, nil
	}
	m.mu.Unlock()
	m.tell()
	if events != nil {
		events.end() // after NodeDisconnected
	}
	if tellPool {
		m.log.Warn("node disconnected; its instances keep serving until it is back or the node timeout passes",
			"node", id, "reason", why, "node_timeout", m.cfg.NodeTimeout)
	}
}

// heartbeat records a heartbeat of session gen.
func (m *Manager) heartbeat(id string, gen uint64, hb remote.Heartbeat) {
	now := m.cfg.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.nodes[id]
	if !ok || e.gen != gen || e.sess == nil {
		return
	}
	e.deadlineFrom, e.seen = now, now
	if hb.Info != nil {
		e.info = *hb.Info
	}
}

// event gives an instance event of session gen to the pool's watch of the session
// (events.go). An event is as good as a heartbeat.
func (m *Manager) event(id string, gen uint64, ev remote.Event) {
	m.mu.Lock()
	e, ok := m.nodes[id]
	if !ok || e.gen != gen || e.sess == nil || e.events == nil || m.closing {
		m.mu.Unlock()
		return
	}
	now := m.cfg.Now()
	e.deadlineFrom, e.seen = now, now
	events := e.events
	m.mu.Unlock()
	// Outside mu: the pool's watcher takes the pool's lock. Events of one session come from
	// its one reader, in order.
	if ev.IsUnavailable() {
		events.unavailable()
		return
	}
	events.deliver(ev.InstanceEvent()) // an agent's resync event is a Resync, ReasonGone is Gone
}

// tick marks down the nodes that sent nothing for the node timeout, closing their sessions,
// and returns the last-seen times to store when TouchEvery passed since the last time.
func (m *Manager) tick(now time.Time) (touch map[string]time.Time) {
	type lost struct {
		id     string
		reason error
	}
	var downs []lost
	var closes []io.Closer
	var ends []*sessionEvents
	m.mu.Lock()
	for id, e := range m.nodes {
		if e.local || e.down {
			continue
		}
		silent := now.Sub(e.deadlineFrom)
		if silent <= m.cfg.NodeTimeout {
			continue
		}
		reason := fmt.Errorf("node %s sent no heartbeat for %s (the node timeout is %s)", id, silent.Round(time.Second), m.cfg.NodeTimeout)
		if e.sess == nil {
			reason = fmt.Errorf("node %s has not been connected for %s (the node timeout is %s)", id, silent.Round(time.Second), m.cfg.NodeTimeout)
		}
		e.down, e.problem = true, reason.Error()
		if e.sess != nil {
			closes = append(closes, e.sess)
			ends = append(ends, e.events)
			e.sess, e.events = nil, nil
			e.gen++
		}
		if e.added {
			m.pending = append(m.pending, func(p Pool) { p.NodeLost(id, reason) })
		}
		downs = append(downs, lost{id, reason})
	}
	if now.Sub(m.lastTouch) >= m.cfg.TouchEvery {
		m.lastTouch = now
		touch = m.touchesLocked()
	}
	m.mu.Unlock()
	for _, c := range closes {
		c.Close()
	}
	m.tell()
	for _, ev := range ends {
		if ev != nil {
			ev.end() // after NodeLost
		}
	}
	for _, d := range downs {
		m.log.Warn("node down: its instances leave the pool", "node", d.id, "reason", d.reason)
	}
	return touch
}

// touchesLocked returns the last-seen times not stored yet, and counts them as stored; the
// caller holds mu, and puts them back (untouch) if the write fails.
func (m *Manager) touchesLocked() map[string]time.Time {
	touch := map[string]time.Time{}
	for id, e := range m.nodes {
		if !e.local && e.seen.After(e.storedSeen) {
			touch[id] = e.seen.UTC()
			e.storedSeen = e.seen
		}
	}
	return touch
}

// storeTouches writes last-seen times; on failure they are written with the next batch.
func (m *Manager) storeTouches(ctx context.Context, touch map[string]time.Time) {
	if len(touch) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := m.store.TouchNodes(ctx, touch); err != nil {
		m.log.Warn("could not record when nodes were last seen; trying again later", "error", err)
		m.mu.Lock()
		for id, at := range touch {
			if e, ok := m.nodes[id]; ok && !e.storedSeen.After(at) {
				e.storedSeen = time.Time{}
			}
		}
		m.mu.Unlock()
	}
}
