package driver

import "errors"

// Sentinel errors of the driver contract. Implementations wrap them with %w and context; callers
// test them with errors.Is. agent/driver/plugin maps each to a gRPC code and back, so they keep
// their identity across the plugin boundary.
var (
	// ErrInstanceNotFound: no instance with that id on this node.
	ErrInstanceNotFound = errors.New("instance not found")
	// ErrImageNotFound: the image is not on the node and cannot be pulled.
	ErrImageNotFound = errors.New("image not found")
	// ErrNotSupported: the driver lacks the capability (see Capabilities).
	ErrNotSupported = errors.New("not supported by this driver")
	// ErrUnavailable: the driver cannot reach its engine (Docker daemon down, Nomad unreachable).
	ErrUnavailable = errors.New("driver engine unavailable")
	// ErrNoCapacity: the engine cannot place the instance anywhere (a Nomad cluster without a
	// node that has the memory or CPU it asks for); the message carries the engine's reason.
	ErrNoCapacity = errors.New("no capacity for the instance")
	// ErrPluginExited: the plugin process ended; the driver must be dispensed again.
	ErrPluginExited = errors.New("driver plugin exited")
)
