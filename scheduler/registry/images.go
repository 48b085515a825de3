package registry

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/hearthfn/hearth/scheduler/store"
)

// DefaultImageRemovalWindow is how long a deleted function's images are tried again by
// default: a call in flight may run for func.yaml's longest timeout (15 minutes), and its
// instance, which holds the image, stops only after it.
const DefaultImageRemovalWindow = 20 * time.Minute

// maxImageRemovalRetry caps the wait between two tries.
const maxImageRemovalRetry = 30 * time.Second

// Why a removal stopped before its images were gone, for the log.
var (
	errRedeployed   = errors.New("the function was deployed again")
	errShuttingDown = errors.New("the server is stopping; its next start removes them")
	errWindowOver   = errors.New("instances still use them after the removal window")
)

// Run removes, in the background, the images of functions deleted while no removal could
// finish (the server stopped or crashed during one): images this server's builder made for
// functions the store no longer has. Then it waits for ctx to end, and stops every image
// removal in progress before it returns. The server calls it once; without it, removals still
// end within Config.ImageRemovalWindow.
func (r *Registry) Run(ctx context.Context) error {
	r.removeOrphanImages(ctx)
	<-ctx.Done()
	r.removals.close()
	return nil
}

func (r *Registry) removeOrphanImages(ctx context.Context) {
	names, err := r.builder.FunctionsWithImages(ctx)
	if err != nil {
		r.log.Warn("could not list the images of deleted functions; they stay until the next start", "error", err)
		return
	}
	for _, name := range names {
		// Under the function's lock: a deploy of that name may have recorded it since the list
		// was made, and its new image must stay.
		unlock := r.lock(name)
		_, err := r.store.GetFunction(ctx, name)
		if errors.Is(err, store.ErrNotFound) {
			r.log.Info("removing the images of a function deleted in an earlier run", "function", name)
			r.removals.start(name, r.removeImages)
		}
		unlock()
	}
}

// removeImages asks the builder to remove name's images until none is left, waiting longer
// between tries (instances of the function are still draining), for at most the removal
// window or until ctx ends.
func (r *Registry) removeImages(ctx context.Context, name string) {
	ctx, cancel := context.WithTimeoutCause(ctx, r.cfg.ImageRemovalWindow, errWindowOver)
	defer cancel()
	wait, total := r.cfg.ImageRemovalRetry, 0
	for {
		n, err := r.builder.RemoveImages(ctx, name)
		total += n
		if err == nil {
			if total > 0 {
				r.log.Info("removed the images of a deleted function", "function", name, "images", total)
			}
			return
		}
		if ctx.Err() != nil {
			// Only a window that ran out is news to the operator; a redeploy or a stop is expected.
			level, cause := slog.LevelInfo, context.Cause(ctx)
			if errors.Is(cause, errWindowOver) {
				level = slog.LevelWarn
			}
			r.log.Log(context.Background(), level, "images of a deleted function left behind",
				"function", name, "removed", total, "reason", cause, "error", err)
			return
		}
		r.log.Debug("images of a deleted function not removed yet; trying again", "function", name, "in", wait, "error", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
		wait = min(2*wait, maxImageRemovalRetry)
	}
}

// removals are the image removals running in the background, at most one per function. Each
// ends on its own (done, or its window over), when its function is deployed again (stop), or
// when the registry stops (close).
type removals struct {
	mu      sync.Mutex
	running map[string]*removal
	closed  bool
	wg      sync.WaitGroup
	ctx     context.Context // the registry's background work; close cancels it
	cancel  context.CancelCauseFunc
}

type removal struct {
	cancel context.CancelCauseFunc
	done   chan struct{}
}

func (rs *removals) init() {
	rs.running = map[string]*removal{}
	rs.ctx, rs.cancel = context.WithCancelCause(context.Background())
}

// start runs remove(ctx, name) in the background unless a removal of name runs already or the
// registry has stopped. The caller holds name's lock.
func (rs *removals) start(name string, remove func(ctx context.Context, name string)) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.closed || rs.running[name] != nil {
		return
	}
	ctx, cancel := context.WithCancelCause(rs.ctx)
	rm := &removal{cancel: cancel, done: make(chan struct{})}
	rs.running[name] = rm
	rs.wg.Add(1)
	go func() {
		defer rs.wg.Done()
		defer close(rm.done)
		defer cancel(nil)
		remove(ctx, name)
		rs.mu.Lock()
		delete(rs.running, name)
		rs.mu.Unlock()
	}()
}

// stop ends the removal of name's images, if one runs, and returns once it has ended. The
// caller holds name's lock.
func (rs *removals) stop(name string) {
	rs.mu.Lock()
	rm := rs.running[name]
	rs.mu.Unlock()
	if rm == nil {
		return
	}
	rm.cancel(errRedeployed)
	<-rm.done
}

// close ends every removal and waits for them; none starts after it.
func (rs *removals) close() {
	rs.mu.Lock()
	rs.closed = true
	rs.mu.Unlock()
	rs.cancel(errShuttingDown)
	rs.wg.Wait()
}
