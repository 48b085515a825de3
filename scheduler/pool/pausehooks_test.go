package pool

import (
	"slices"
	"sync"
	"testing"
	"time"
)

// TestPauseAndResumeAreHeard: OnPaused and OnResumed hear an instance's pause and resume, in
// that order, so that its output is not followed while it is paused.
func TestPauseAndResumeAreHeard(t *testing.T) {
	var (
		mu    sync.Mutex
		heard []string
	)
	hear := func(what string) func(string) {
		return func(id string) {
			mu.Lock()
			defer mu.Unlock()
			heard = append(heard, what+" "+id)
		}
	}
	n := &fakeNode{canPause: true}
	p, c := newTestPool(t, n)
	p.cfg.OnPaused, p.cfg.OnResumed = hear("paused"), hear("resumed")
	p.Apply(fn("nap", 1, quick))
	first := acquire(t, p, "nap")
	first.Release(OutcomeOK)
	c.Add(time.Minute / 2)
	p.Reap()
	waitState(t, p, "nap", "paused")
	acquire(t, p, "nap").Release(OutcomeOK)
	id := first.InstanceID()
	want := []string{"paused " + id, "resumed " + id}
	waitFor(t, "the pause and the resume heard", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return slices.Equal(heard, want)
	})
}
