package node_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearthfn/hearth/agent/driver/fake"
	"github.com/hearthfn/hearth/agent/node"
)

// blockedPull is a fake driver whose pulls wait until release is closed (or their ctx ends,
// which they report on cancelled), and which counts EnsureImage calls.
func blockedPull(t *testing.T) (d *fake.Driver, release chan struct{}, cancelled chan string, ensures *atomic.Int32) {
	t.Helper()
	release, cancelled, ensures = make(chan struct{}), make(chan string, 10), &atomic.Int32{}
	d = newFake(t,
		fake.WithPull(func(ctx context.Context, ref string) error {
			select {
			case <-release:
				return nil
			case <-ctx.Done():
				cancelled <- ref
				return ctx.Err()
			}
		}),
		fake.WithHook(func(_ context.Context, op fake.Op, _ string) error {
			if op == fake.OpEnsureImage {
				ensures.Add(1)
			}
			return nil
		}))
	return d, release, cancelled, ensures
}

// waitForWaiters waits until want starts wait for the pull of ref.
func waitForWaiters(t *testing.T, n *node.Node, ref string, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for node.PullWaiters(n, ref) != want {
		if time.Now().After(deadline) {
			t.Fatalf("%d starts wait for %s, want %d", node.PullWaiters(n, ref), ref, want)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestConcurrentStartsPullOnce checks that starts that need the same missing image at once
// share one EnsureImage.
func TestConcurrentStartsPullOnce(t *testing.T) {
	d, release, _, ensures := blockedPull(t)
	n := newNode(t, "node-1", d)
	const starts = 10
	errs := make(chan error, starts)
	for i := range starts {
		go func() {
			sp := spec(fmt.Sprintf("i%d", i))
			sp.Image = "other:1"
			_, err := n.StartInstance(t.Context(), sp)
			errs <- err
		}()
	}
	waitForWaiters(t, n, "other:1", starts)
	close(release)
	for range starts {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if got := ensures.Load(); got != 1 {
		t.Errorf("%d EnsureImage calls for %d concurrent starts, want 1", got, starts)
	}
	if c := d.Counts(); c.Pulls != 1 || c.Starts != starts {
		t.Errorf("Counts = %+v, want 1 pull and %d starts", c, starts)
	}
	if w := node.PullWaiters(n, "other:1"); w != 0 {
		t.Errorf("%d waiters left after the pull", w)
	}
}

// TestPullWaitersOwnCtx checks that each start waits for a shared pull only as long as its own
// ctx allows, that the pull goes on while anyone waits, and that it is cancelled when nobody
// does any more.
func TestPullWaitersOwnCtx(t *testing.T) {
	d, release, cancelled, ensures := blockedPull(t)
	n := newNode(t, "node-1", d)
	start := func(ctx context.Context, id, image string) <-chan error {
		done := make(chan error, 1)
		go func() {
			sp := spec(id)
			sp.Image = image
			_, err := n.StartInstance(ctx, sp)
			done <- err
		}()
		return done
	}

	impatient, cancel := context.WithCancel(t.Context())
	a := start(impatient, "a", "other:1")
	b := start(t.Context(), "b", "other:1")
	waitForWaiters(t, n, "other:1", 2)
	cancel()
	if err := <-a; !errors.Is(err, context.Canceled) {
		t.Errorf("the start whose ctx ended = %v, want context.Canceled", err)
	}
	waitForWaiters(t, n, "other:1", 1)
	select {
	case ref := <-cancelled:
		t.Fatalf("the pull of %s was cancelled while a start still waited for it", ref)
	default:
	}

	// Alone on a pull of its own, a start that gives up cancels it.
	alone, cancelAlone := context.WithCancel(t.Context())
	c := start(alone, "c", "other:2")
	waitForWaiters(t, n, "other:2", 1)
	cancelAlone()
	if err := <-c; !errors.Is(err, context.Canceled) {
		t.Errorf("the lone start whose ctx ended = %v, want context.Canceled", err)
	}
	select {
	case ref := <-cancelled:
		if ref != "other:2" {
			t.Errorf("the pull of %s was cancelled, want other:2's", ref)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the pull nobody waits for any more was not cancelled")
	}

	close(release)
	if err := <-b; err != nil {
		t.Errorf("the patient start = %v", err)
	}
	// other:2's pull was given up: a new start pulls afresh instead of joining it.
	if err := <-start(t.Context(), "d", "other:2"); err != nil {
		t.Errorf("a start after the cancelled pull = %v", err)
	}
	if got := ensures.Load(); got != 3 {
		t.Errorf("%d EnsureImage calls, want 3 (other:1 once, other:2 twice)", got)
	}
}
