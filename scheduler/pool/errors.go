package pool

import "errors"

var (
	// ErrUnknownFunction: Acquire for a function the pool was not given (Apply).
	ErrUnknownFunction = errors.New("unknown function")
	// ErrClosed: the pool is shutting down.
	ErrClosed = errors.New("pool is shut down")
)

var (
	// ErrQueueFull: every slot is taken and the function's queue of waiting calls is full. The
	// caller should retry later (503 with Retry-After).
	ErrQueueFull = errors.New("queue is full")
	// ErrNoCapacity: the function reserves more memory or CPU than the node can ever give one
	// instance; no amount of waiting helps.
	ErrNoCapacity = errors.New("does not fit on the node")
	// ErrStartBackoff: the function's instances keep failing to start and the next start is
	// not due yet (backoff.go); a *BackoffError says when, and why the last one failed.
	ErrStartBackoff = errors.New("instances keep failing to start")
)
