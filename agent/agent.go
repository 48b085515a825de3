package agent

import (
	"context"
	"errors"
	"io"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
)

// Agent is what the scheduler asks of a node. agent/node implements it in-process (the
// `server --dev` case); a remote implementation over HTTP will implement the same interface.
type Agent interface {
	// Info reports the node's identity, its driver's capabilities and what it can allocate.
	Info(ctx context.Context) (NodeInfo, error)

	// StartInstance makes sure the image is present, starts the instance and waits until it
	// answers GET /_/ready, or until ctx ends. On any failure it removes what it started before
	// returning. Errors: ErrNotReady (the instance exited or never became ready), and the
	// driver's sentinels (driver.ErrUnavailable, driver.ErrImageNotFound).
	StartInstance(ctx context.Context, spec instance.Spec) (instance.Instance, error)

	// PauseInstance freezes an instance; driver.ErrNotSupported when the driver cannot.
	PauseInstance(ctx context.Context, id string) error
	// ResumeInstance thaws a paused instance.
	ResumeInstance(ctx context.Context, id string) error
	// StopInstance stops and removes an instance; stopping an unknown one is not an error.
	StopInstance(ctx context.Context, id string) error

	// Instances lists what runs on the node for hearth.
	Instances(ctx context.Context) ([]instance.Status, error)

	// Logs streams an instance's output; see driver.Driver.Logs.
	Logs(ctx context.Context, id string, opts driver.LogOptions) (io.ReadCloser, error)
}

// Preparer is implemented by agents that can make an instance ahead of its start
// (driver.Preparer): StartInstance of the same spec then costs less. Discarding a prepared
// instance is StopInstance. It is optional: the pool asks, and starts as before where it is not
// implemented or PrepareInstance fails (driver.ErrNotSupported when the node's driver cannot).
type Preparer interface {
	PrepareInstance(ctx context.Context, spec instance.Spec) error
}

// Watcher is implemented by agents whose driver reports instance changes as they happen
// (driver.Watcher): the pool follows them rather than listing the node on a timer. The
// contract is driver.Watcher.Watch's; driver.ErrNotSupported when the node's driver cannot
// watch.
type Watcher interface {
	WatchInstances(ctx context.Context, fn func(instance.Event)) error
}

// NodeInfo describes a node.
type NodeInfo struct {
	ID     string             `json:"id"`
	Driver driver.Fingerprint `json:"driver"`
}

// ErrNotReady: the instance started but did not answer its ready check before it exited or the
// deadline passed.
var ErrNotReady = errors.New("instance did not become ready")
