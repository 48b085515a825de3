package calls

import (
	"context"
	"errors"
	"time"

	"github.com/hearthfn/hearth/scheduler/store"
)

// storeWriteTimeout bounds one write of the end of an async call.
const storeWriteTimeout = 10 * time.Second

// maxStoreBackoff caps the wait between the background writers' tries while the store cannot
// be written: the longest they take to notice that it can be again.
const maxStoreBackoff = 15 * time.Second

// untilWritable runs write, and runs it again while it fails with store.ErrUnavailable (the
// store locked, read-only or out of space), backing off from Backoff to MaxBackoff, until it
// succeeds, fails otherwise, or ctx (the runner's) ends. What it writes exists only in memory
// until then: the end of a call that ran, or its retry; left as it is in the store, the call
// would stay running until the next start queues it again, and run twice. Each try gets its
// own timeout, and the first try is made even when ctx has ended (the runner is stopping).
func (r *Runner) untilWritable(ctx context.Context, what, callID string, write func(context.Context) error) error {
	wait := r.cfg.Backoff
	for {
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeWriteTimeout)
		err := write(wctx)
		cancel()
		if !errors.Is(err, store.ErrUnavailable) {
			return err
		}
		r.log.Warn("the store cannot be written; trying again", "what", what, "call_id", callID, "in", wait, "error", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		wait = min(2*wait, r.cfg.MaxBackoff)
	}
}

// storeBackoff spaces out the tries of a background writer (the runner's claims, the
// recorder's batches) while the store cannot be written. Each such try waits out the store's
// busy timeout on its only connection, where the API's own requests queue behind it: tried at
// every tick, they would keep the store busy all the time. A zero storeBackoff is ready.
type storeBackoff struct {
	min, max time.Duration
	wait     time.Duration
	next     time.Time
}

// ready reports whether a try may be made at now.
func (b *storeBackoff) ready(now time.Time) bool { return !now.Before(b.next) }

// done takes a try's error: store.ErrUnavailable pushes the next try back, doubling the wait
// from min up to max; anything else ends the backoff. It returns the wait before the next try.
func (b *storeBackoff) done(err error, now time.Time) time.Duration {
	if !errors.Is(err, store.ErrUnavailable) {
		b.wait, b.next = 0, time.Time{}
		return 0
	}
	b.wait = min(max(2*b.wait, b.min), b.max)
	b.next = now.Add(b.wait)
	return b.wait
}
