package pool

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
)

func TestStartBackoff(t *testing.T) {
	for n, want := range map[int]time.Duration{0: 0, 1: 200 * time.Millisecond, 2: 400 * time.Millisecond,
		3: 800 * time.Millisecond, 5: 3200 * time.Millisecond, 6: 5 * time.Second, 60: 5 * time.Second} {
		if got := startBackoff(n); got != want {
			t.Errorf("startBackoff(%d) = %v, want %v", n, got, want)
		}
	}
}

// TestFailingStartsBackOff: a function whose starts fail makes one container per backoff, not
// one per call: calls that come meanwhile fail at once with the start's error; once the backoff
// has passed a call tries again; a start that works ends the backoff.
func TestFailingStartsBackOff(t *testing.T) {
	crash := errors.New("instance exited with code 1 before it was ready")
	n := &fakeNode{failErr: crash}
	p, c := newTestPool(t, n)
	p.Apply(fn("crashy", 1, api.FunctionSpec{}))
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()

	for i := range 5 {
		if _, err := p.Acquire(ctx, "crashy"); !errors.Is(err, crash) {
			t.Fatalf("call %d: %v, want the start's error", i, err)
		}
	}
	if got := attempts(n); got != 1 {
		t.Fatalf("%d starts for 5 calls within the backoff, want 1", got)
	}
	c.Add(startBackoff(1))
	if _, err := p.Acquire(ctx, "crashy"); !errors.Is(err, crash) {
		t.Fatalf("call after the backoff: %v", err)
	}
	if got := attempts(n); got != 2 {
		t.Fatalf("%d starts once the first backoff passed, want 2", got)
	}
	p.Reap() // min_instances is 0: upkeep starts nothing, backoff or not
	if got := attempts(n); got != 2 {
		t.Fatalf("upkeep started an instance: %d starts", got)
	}

	n.mu.Lock()
	n.failErr = nil
	n.mu.Unlock()
	c.Add(startBackoff(2))
	acquire(t, p, "crashy").Release(OutcomeOK)
	p.mu.Lock()
	f := p.fns["crashy"]
	failures, retry := f.startFailures, f.retryAt
	p.mu.Unlock()
	if failures != 0 || !retry.IsZero() {
		t.Fatalf("after a start that worked: %d failures, retry at %v; want the backoff over", failures, retry)
	}
}

// TestNewVersionEndsTheBackoff: a deploy is the usual answer to an image that crashes, and its
// first call must try it at once.
func TestNewVersionEndsTheBackoff(t *testing.T) {
	crash := errors.New("crashed")
	n := &fakeNode{failErr: crash}
	p, _ := newTestPool(t, n)
	p.Apply(fn("fixme", 1, api.FunctionSpec{}))
	if _, err := p.Acquire(t.Context(), "fixme"); !errors.Is(err, crash) {
		t.Fatalf("first call: %v", err)
	}
	n.mu.Lock()
	n.failErr = nil
	n.mu.Unlock()
	p.Apply(fn("fixme", 2, api.FunctionSpec{}))
	acquire(t, p, "fixme").Release(OutcomeOK)
}

func attempts(n *fakeNode) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.attempts
}
