package logs

import (
	"context"

	"github.com/hearthfn/hearth/agent/driver"
)

// A paused instance cannot write, so the collector does not keep its output streams open while
// it is paused: each open stream costs the engine a log reader (about 350 KiB of dockerd per
// stream, measured by `make bench`'s density row), the driver a connection, and this process a
// goroutine and a buffer. Paused closes the streams; Resumed opens them again from the last
// line read (position), so that what the instance wrote just before its pause and not yet read
// is read then, and nothing is read twice.

// Paused says the pool paused the instance (pool.Config.OnPaused): its streams are closed until
// Resumed or Stopped.
func (c *Collector) Paused(instanceID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	in := c.instances[instanceID]
	if in == nil || in.stopped || in.paused {
		return
	}
	in.paused = true
	in.gate = make(chan struct{})
	for _, cancel := range in.reading {
		cancel()
	}
}

// Resumed says the pool resumed the instance (pool.Config.OnResumed): its streams are opened
// again, in the background.
func (c *Collector) Resumed(instanceID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if in := c.instances[instanceID]; in != nil {
		in.unpauseLocked()
	}
}

// unpauseLocked lets the follows of in open their streams again. Guarded by Collector.mu.
func (in *followed) unpauseLocked() {
	if !in.paused {
		return
	}
	in.paused = false
	close(in.gate)
	in.gate = nil
}

// openContext waits while the instance is paused and returns the context a follow reads its
// stream under, cancelled when the instance is paused, and done, which the follow calls once
// the read is over. ok is false when ctx ended first.
func (c *Collector) openContext(ctx context.Context, in *followed, stream driver.Stream) (rctx context.Context, done func(), ok bool) {
	for {
		c.mu.Lock()
		if !in.paused {
			rctx, cancel := context.WithCancel(ctx)
			if in.reading == nil {
				in.reading = map[driver.Stream]context.CancelFunc{}
			}
			in.reading[stream] = cancel
			c.mu.Unlock()
			return rctx, cancel, true
		}
		gate := in.gate
		c.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, nil, false
		case <-gate:
		}
	}
}

// pausedWhileReading reports whether a read under rctx ended because the instance was paused,
// not because its follow (ctx) ended or its output did.
func pausedWhileReading(ctx, rctx context.Context) bool {
	return rctx.Err() != nil && ctx.Err() == nil
}
