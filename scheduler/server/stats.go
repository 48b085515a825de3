package server

import (
	"context"
	"log/slog"
	"strings"
	"sync"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/httpapi"
	"github.com/hearthfn/hearth/scheduler/pool"
	"github.com/hearthfn/hearth/scheduler/registry"
	"github.com/hearthfn/hearth/scheduler/stats"
	"github.com/hearthfn/hearth/scheduler/store"
)

// This file wires the dashboard's figures (scheduler/stats) into the server. The collector
// hears three things: the calls the store takes (the recorder and the async runner write
// through stats.Collector.Feed), the functions the registry rolls out and deletes (statsHook
// around the pool it drives), and, when asked for the overview, the pool's instances and the
// nodes.

// newStats makes the collector of the dashboard's figures and starts it: in the background it
// counts the calls of the last day that st holds, and keeps the overview's node list fresh.
// stop ends that and waits for it; call it before st closes.
func newStats(ctx context.Context, st store.CallStore, p *pool.Pool, nodes stats.NodeLister, log *slog.Logger) (c *stats.Collector, stop func()) {
	c = stats.New(stats.Config{Pool: p, Nodes: nodes, Log: log})
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { c.Run(ctx, st) })
	return c, func() {
		cancel()
		wg.Wait()
	}
}

var _ httpapi.Stats = (*stats.Collector)(nil)

// statsHook is the pool as the registry drives it, telling the collector which functions
// exist and at which version: every deploy, configuration change and server start applies the
// function, and a delete removes it (and its figures).
type statsHook struct {
	registry.Pool
	stats *stats.Collector
}

// Entries "NAME@N", the versions served besides the current one (registry/aliases.go), are
// no functions of their own to the collector: it counts their calls as NAME's.
func (h statsHook) Apply(fn api.Function) {
	h.Pool.Apply(fn)
	if !strings.Contains(fn.Name, "@") {
		h.stats.SetFunction(fn)
	}
}

func (h statsHook) Remove(name string) {
	h.Pool.Remove(name)
	if !strings.Contains(name, "@") {
		h.stats.RemoveFunction(name)
	}
}
