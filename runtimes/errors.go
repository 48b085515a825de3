package runtimes

import "errors"

var (
	// ErrUnknownRuntime is returned by Catalog.Lookup for a name the catalog does not have; the
	// message lists the names it does have.
	ErrUnknownRuntime = errors.New("unknown runtime")
	// ErrInvalidSource is returned by Runtime.Prepare when a function's source does not fit its
	// runtime (for Go: no go.mod, or a root package that is a command).
	ErrInvalidSource = errors.New("invalid function source")
)
