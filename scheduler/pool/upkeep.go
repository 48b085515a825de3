package pool

import (
	"context"
	"sort"
	"time"
)

// nodeRefresh is how often the node's capabilities and allocatable resources are read again
// once known; until then they are read on every upkeep tick.
const nodeRefresh = 30 * time.Second

// Run keeps the pool until ctx ends, then shuts it down: every ReapInterval it pauses and stops
// idle instances and keeps min_instances warm (Reap); every HealthInterval it compares the pool
// with what the node runs and mends the difference (CheckHealth, health.go).
func (p *Pool) Run(ctx context.Context) error {
	reap := time.NewTicker(p.cfg.ReapInterval)
	defer reap.Stop()
	health := time.NewTicker(p.cfg.HealthInterval)
	defer health.Stop()
	var lastRefresh time.Time
	for {
		p.mu.Lock()
		known := p.nodeKnown
		p.mu.Unlock()
		if !known || time.Since(lastRefresh) >= nodeRefresh {
			_ = p.RefreshNode(ctx)
			lastRefresh = time.Now()
		}
		select {
		case <-ctx.Done():
			p.Shutdown()
			return nil
		case <-reap.C:
			p.Reap()
		case <-health.C:
			p.CheckHealth(ctx)
		}
	}
}

// RefreshNode reads the node's capabilities (can it pause?) and what it can allocate. Run calls
// it; tests call it directly.
func (p *Pool) RefreshNode(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	info, err := p.node.Info(ctx)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.nodeKnown = true
	p.canPause = info.Driver.Capabilities.Pause
	p.capacity = info.Driver.Allocatable
	if p.cfg.Capacity.MemoryMB > 0 {
		p.capacity.MemoryMB = p.cfg.Capacity.MemoryMB
	}
	if p.cfg.Capacity.CPUMilli > 0 {
		p.capacity.CPUMilli = p.cfg.Capacity.CPUMilli
	}
	return nil
}

// Reap applies the idle policy to every function at the pool's clock: instances idle past
// idle_timeout are paused (or stopped, when the node cannot pause), paused ones past
// pause_timeout are stopped, and min_instances are kept warm.
func (p *Pool) Reap() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	now := p.cfg.Now()
	for _, f := range p.fns {
		p.upkeepLocked(f, now)
	}
}

func sortByLastUsed(cs []candidate) {
	sort.Slice(cs, func(i, j int) bool { return cs[i].lastUsed.After(cs[j].lastUsed) })
}
