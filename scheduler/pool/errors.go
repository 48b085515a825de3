package pool

import "errors"

var (
	// ErrUnknownFunction: Acquire for a function the pool was not given (Apply).
	ErrUnknownFunction = errors.New("unknown function")
	// ErrClosed: the pool is shutting down.
	ErrClosed = errors.New("pool is shut down")
	// ErrUnknownNode: a node id the pool was not given (AddNode).
	ErrUnknownNode = errors.New("unknown node")
)

var (
	// ErrQueueFull: every slot is taken and the function's queue of waiting calls is full. The
	// caller should retry later (503 with Retry-After).
	ErrQueueFull = errors.New("queue is full")
	// ErrNoCapacity: no node can ever hold one instance of the function (its memory, CPU or
	// constraints rule every node out); no amount of waiting helps.
	ErrNoCapacity = errors.New("does not fit on any node")
	// ErrStartBackoff: the function's instances keep failing to start and the next start is
	// not due yet (backoff.go); a *BackoffError says when, and why the last one failed.
	ErrStartBackoff = errors.New("instances keep failing to start")
)
