package pool

import "sync/atomic"

// Outcome is how a call on a lease ended; it decides the instance's fate.
type Outcome int

const (
	// OutcomeOK: the instance answered (whatever the status); it stays in service.
	OutcomeOK Outcome = iota
	// OutcomeFailed: the instance misbehaved (handler crash reported by the shim, connection
	// refused or reset); it is stopped and a later call gets a new one.
	OutcomeFailed
	// OutcomeTimedOut: the call ran past the function's timeout; the instance may still be busy
	// with it, so it is stopped and replaced.
	OutcomeTimedOut
)

// Lease is one call's claim on one concurrency slot of one instance. Release must be called
// exactly once; later calls are ignored.
type Lease struct {
	pool     *Pool
	fn       *function
	inst     *inst
	cold     ColdKind
	released atomic.Bool
}

// Endpoint is the instance's host:port.
func (l *Lease) Endpoint() string { return l.inst.endpoint }

// InstanceID is the id of the leased instance.
func (l *Lease) InstanceID() string { return l.inst.id }

// Version is the function version the instance runs.
func (l *Lease) Version() int { return l.inst.version }

// Release gives the slot back and reports the call's outcome.
func (l *Lease) Release(o Outcome) {
	if l.released.Swap(true) {
		return
	}
	l.pool.release(l.fn, l.inst, o)
}

// Cold says whether the call waited for its instance to start or resume.
func (l *Lease) Cold() ColdKind { return l.cold }
