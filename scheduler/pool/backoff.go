package pool

import (
	"fmt"
	"time"
)

// A function whose instances fail to start (an image that crashes at once, an engine that
// refuses containers) backs off: after n failed starts in a row, no start is tried for
// startBackoff(n), and calls that arrive meanwhile with no instance to wait for fail at once
// with the last start's error. Without it every call would make and remove a container of its
// own, which costs the engine more than any call is worth and, while an engine shuts down,
// races its shutdown. A start that succeeds ends the backoff, as does a new version.
const (
	startBackoffFirst = 200 * time.Millisecond
	startBackoffMax   = 5 * time.Second
)

// startBackoff is the pause after failures failed starts in a row: doubling from
// startBackoffFirst, at most startBackoffMax; none before the first failure.
func startBackoff(failures int) time.Duration {
	if failures <= 0 {
		return 0
	}
	d := startBackoffFirst
	for i := 1; i < failures && d < startBackoffMax; i++ {
		d *= 2
	}
	return min(d, startBackoffMax)
}

// BackoffError is what a call gets while its function backs off: it is ErrStartBackoff, and
// unwraps to the last start's error.
type BackoffError struct {
	Function string
	// Failures is the number of failed starts in a row; RetryIn how long until the next may
	// be tried.
	Failures int
	RetryIn  time.Duration
	Last     error
}

func (e *BackoffError) Error() string {
	return fmt.Sprintf("instances of %s failed to start %d times in a row; the next try is in %s; the last one: %v",
		e.Function, e.Failures, e.RetryIn.Round(time.Millisecond), e.Last)
}

// Unwrap gives ErrStartBackoff and the last start's error.
func (e *BackoffError) Unwrap() []error { return []error{ErrStartBackoff, e.Last} }

// startFailedLocked records a failed start of f at now.
func (f *function) startFailedLocked(now time.Time) {
	f.startFailures++
	f.retryAt = now.Add(startBackoff(f.startFailures))
}

// startSucceededLocked ends f's backoff.
func (f *function) startSucceededLocked() {
	f.startFailures, f.retryAt = 0, time.Time{}
}

// backingOffLocked reports whether f may not start an instance at now.
func (f *function) backingOffLocked(now time.Time) bool {
	return now.Before(f.retryAt)
}

// liveCount counts f's current instances that are up or on their way: those a waiting call
// may yet get a slot on.
func (f *function) liveCount() int {
	n := 0
	for _, in := range f.instances {
		if in.version == f.version && in.state != stateDraining {
			n++
		}
	}
	return n
}
