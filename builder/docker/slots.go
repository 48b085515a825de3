package docker

import (
	"context"
	"fmt"
)

// buildSlots bounds the builds that run at once: one token in ch per running build. The zero
// value has no bound.
type buildSlots struct {
	ch chan struct{}
}

func newBuildSlots(n int) buildSlots { return buildSlots{ch: make(chan struct{}, n)} }

// acquire takes a slot, waiting for one while every slot is taken; progress (when not nil)
// hears that it waits, since a build stream that says nothing looks hung. A ctx that ends
// while it waits (the client went away) leaves the queue. release gives the slot back.
func (s buildSlots) acquire(ctx context.Context, progress func(string)) (release func(), err error) {
	if s.ch == nil {
		return func() {}, nil
	}
	select {
	case s.ch <- struct{}{}:
		return s.release, nil
	default:
	}
	if progress != nil {
		progress(fmt.Sprintf("waiting for a build slot: %d builds are running, the most this server runs at once", cap(s.ch)))
	}
	select {
	case s.ch <- struct{}{}:
		return s.release, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for a build slot: %w", ctx.Err())
	}
}

func (s buildSlots) release() { <-s.ch }
