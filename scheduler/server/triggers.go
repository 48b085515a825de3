package server

import (
	"context"
	"log/slog"
	"sync"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/registry"
	"github.com/hearthfn/hearth/scheduler/triggers"
)

// triggersHook is the pool as the registry drives it, telling the cron trigger scheduler each
// function's current spec: every deploy, configuration change, rollback and the start's
// Restore apply the function, and a delete removes it (and its triggers' state). Pool entries
// of extra versions ("NAME@N") pass through; the scheduler ignores them.
type triggersHook struct {
	registry.Pool
	triggers *triggers.Scheduler
}

func (h triggersHook) Apply(fn api.Function) {
	h.Pool.Apply(fn)
	h.triggers.Set(fn)
}

func (h triggersHook) Remove(name string) {
	h.Pool.Remove(name)
	h.triggers.Remove(name)
}

// runTriggers runs the scheduler in the background until stop, which waits for it. It starts
// after the registry's Restore, so the first look at the saved state sees every function.
func runTriggers(ctx context.Context, s *triggers.Scheduler, log *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := s.Run(ctx); err != nil && ctx.Err() == nil {
			log.Error("cron triggers will not fire", "error", err)
		}
	})
	return func() {
		cancel()
		wg.Wait()
	}
}
