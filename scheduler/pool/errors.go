package pool

import "errors"

var (
	// ErrUnknownFunction: Acquire for a function the pool was not given (Apply).
	ErrUnknownFunction = errors.New("unknown function")
	// ErrClosed: the pool is shutting down.
	ErrClosed = errors.New("pool is shut down")
)
