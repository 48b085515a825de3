package pool

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hearthfn/hearth/scheduler/placer"
)

// nodeRefresh is how often a node's capabilities, allocatable resources and images are read
// again once known; until then they are read on every upkeep tick.
const nodeRefresh = 30 * time.Second

// Run keeps the pool until ctx ends, then shuts it down (Shutdown(Config.KeepOnShutdown)) and
// waits for the nodes' event watchers: every ReapInterval it pauses and stops idle instances
// and keeps min_instances warm (Reap); every HealthInterval it compares the pool with what each
// node runs and mends the difference (CheckNode, health.go), each node on its own so that a
// slow one holds up no other, for the nodes whose instance events it does not follow
// (watch.go: a node that reports them is listed only when its stream (re)starts, and while
// its engine is unreachable); and it reads each node's Info (RefreshNode) until known, then
// every nodeRefresh.
func (p *Pool) Run(ctx context.Context) error {
	reap := time.NewTicker(p.cfg.ReapInterval)
	defer reap.Stop()
	health := time.NewTicker(p.cfg.HealthInterval)
	defer health.Stop()
	var tending sync.WaitGroup
	for {
		p.tendNodes(ctx, &tending, false)
		select {
		case <-ctx.Done():
			tending.Wait()
			p.Shutdown(p.cfg.KeepOnShutdown)
			p.watchers.wg.Wait() // they end with the pool's context, which Shutdown cancels
			return nil
		case <-reap.C:
			p.Reap()
		case <-health.C:
			p.tendNodes(ctx, &tending, true)
		}
	}
}

// tendNodes starts, for every node the pool can talk to and that has nothing under way yet, a
// refresh of its Info when due and, with check, a health check of the nodes whose events the
// pool does not follow, or whose engine is unreachable (the two listings that end that time
// are the tick's).
func (p *Pool) tendNodes(ctx context.Context, wg *sync.WaitGroup, check bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	now := time.Now()
	for _, nd := range p.nodes {
		if nd.tending || nd.handle == nil || !(nd.state == placer.StateReady || nd.state == placer.StateDraining) {
			continue
		}
		refresh := !nd.known || now.Sub(nd.refreshedAt) >= nodeRefresh
		list := check && (!nd.watched || nd.unreachable != nil)
		if !refresh && !list {
			continue
		}
		nd.tending = true
		id := nd.id
		wg.Go(func() {
			if refresh {
				_ = p.RefreshNode(ctx, id)
			}
			if list {
				p.CheckNode(ctx, id)
			}
			p.mu.Lock()
			nd.tending = false
			p.mu.Unlock()
		})
	}
}

// RefreshNode reads a node's capabilities (can it pause?), what it can allocate and which images
// it holds. AddNode and Run call it; tests call it directly. Errors: ErrUnknownNode, or the
// node's.
func (p *Pool) RefreshNode(ctx context.Context, id string) error {
	p.mu.Lock()
	nd := p.nodes[id]
	if nd == nil || nd.handle == nil {
		p.mu.Unlock()
		return fmt.Errorf("node %s: %w", id, ErrUnknownNode)
	}
	h, gen := nd.handle, nd.handleGen
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, listTimeout)
	defer cancel()
	info, err := h.Info(ctx)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.nodes[id] != nd || nd.handleGen != gen {
		return err // about a handle that is gone
	}
	nd.refreshedAt = time.Now()
	if err != nil {
		nd.lastErr = err
		return err
	}
	nd.known = true
	nd.canPause = info.Driver.Capabilities.Pause
	nd.driver = strings.TrimSpace(info.Driver.Name + " " + info.Driver.Version)
	nd.capacity = info.Driver.Allocatable
	if p.cfg.Capacity.MemoryMB > 0 {
		nd.capacity.MemoryMB = p.cfg.Capacity.MemoryMB
	}
	if p.cfg.Capacity.CPUMilli > 0 {
		nd.capacity.CPUMilli = p.cfg.Capacity.CPUMilli
	}
	nd.images = make(map[string]bool, len(info.Driver.Images)+len(nd.started))
	for _, ref := range info.Driver.Images {
		nd.images[ref] = true
	}
	for ref := range nd.started {
		nd.images[ref] = true
	}
	// The capacity may have grown: calls waiting for room may find it.
	for _, f := range p.fns {
		if f.waiting > 0 {
			f.broadcast()
		}
	}
	return nil
}

// Reap runs the upkeep that is due at the pool's clock: instances idle past idle_timeout are
// paused (or stopped, when their node cannot pause), paused ones past pause_timeout are
// stopped, and min_instances are kept warm. It visits only the functions whose upkeep is due
// (due.go), each of which is queued again for its next due time: a tick costs what is due, not
// the number of functions.
func (p *Pool) Reap() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	now := p.cfg.Now()
	for _, f := range p.popDueLocked(now) {
		p.upkeepLocked(f, now)
	}
}
