package nodes

import (
	"context"
	"fmt"
	"sync"

	"github.com/hearthfn/hearth/agent"
	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
)

// This file carries the instance events a node's agent sends on its control stream to the
// pool. The handle the pool gets for a session (AddNode) is an agent.Watcher whose stream is
// that session's events: the pool applies each to the one instance it names instead of listing
// the node, and lists the node once when it begins to follow them (the Resync).

// sessionEvents is one session's instance events, as the pool's watchers follow them. Events
// are delivered under mu, so that each watcher sees its Resync first and every event after it
// in the order the agent sent them, never after its WatchInstances returned.
type sessionEvents struct {
	node string
	done chan struct{} // closed when the session ended (end)
	// broken is closed when the agent says its engine cannot be reached (unavailable): the
	// watches that began before end with driver.ErrUnavailable, and a new one gets a new
	// channel.
	broken chan struct{}

	mu    sync.Mutex
	fns   map[uint64]func(instance.Event) // the watchers, by registration
	next  uint64
	ended bool
}

func newSessionEvents(node string) *sessionEvents {
	return &sessionEvents{node: node, done: make(chan struct{}), broken: make(chan struct{}),
		fns: map[uint64]func(instance.Event){}}
}

// watch calls fn with a Resync at once, then with every event of the session, until ctx ends
// (ctx.Err()) or the session ends (driver.ErrUnavailable).
func (s *sessionEvents) watch(ctx context.Context, fn func(instance.Event)) error {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return s.endErr()
	}
	id := s.next
	s.next++
	s.fns[id] = fn
	broken := s.broken
	// The session's events from now on reach fn: a listing taken after this is a sound
	// baseline. (An agent whose own stream of events restarts says so with a resync event.)
	fn(instance.Event{Resync: true})
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.fns, id)
		s.mu.Unlock()
	}()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return s.endErr()
	case <-broken:
		return fmt.Errorf("node %s: the agent cannot reach its container engine: %w", s.node, driver.ErrUnavailable)
	}
}

func (s *sessionEvents) endErr() error {
	return fmt.Errorf("node %s: the agent's session ended: %w", s.node, driver.ErrUnavailable)
}

// deliver gives ev to every watcher. It is called by the session's control stream reader, one
// event at a time.
func (s *sessionEvents) deliver(ev instance.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return
	}

	for _, fn := range s.fns {
		fn(ev)
	}
}

// unavailable ends the watches with driver.ErrUnavailable: the agent says its engine cannot be
// reached. The pool then lists the node on its health tick until two listings in a row work,
// and watches it again.
func (s *sessionEvents) unavailable() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ended {
		close(s.broken)
		s.broken = make(chan struct{})
	}
}

// end ends the watches: the session is over. The Manager calls it after it told the pool
// (NodeDisconnected, NodeLost, RemoveNode, or AddNode with the next session's handle), so
// that the pool takes the watch's end for what the session's end made of the node rather
// than for an unreachable engine.
func (s *sessionEvents) end() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ended {
		s.ended = true
		close(s.done)
	}
}

// watchedAgent is a session's agent as the pool gets it: the agent, whose instance events are
// the session's.
type watchedAgent struct {
	agent.Agent
	events *sessionEvents
}

var _ agent.Watcher = (*watchedAgent)(nil)

// WatchInstances follows the instance events the agent sends on its control stream; see
// agent.Watcher. It returns driver.ErrUnavailable once the session ended.
func (a *watchedAgent) WatchInstances(ctx context.Context, fn func(instance.Event)) error {
	return a.events.watch(ctx, fn)
}
