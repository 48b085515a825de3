package driver

import (
	"context"
	"io"
	"time"

	"github.com/hearthfn/hearth/agent/instance"
)

// Driver runs instances on one node. It is the contract at the plugin boundary: every method is
// one RPC when the driver is served by agent/driver/plugin, so arguments and results are plain
// values and errors are the sentinels of this package (they survive the gRPC hop).
//
// Every method honours ctx: when it ends, the call returns ctx.Err() (wrapped) as soon as the
// underlying engine lets it. A driver that cannot reach its engine returns ErrUnavailable.
type Driver interface {
	// Fingerprint reports the driver's name, version, capabilities and what the node can
	// allocate. The node calls it at start and periodically; an error means the engine is not
	// usable right now.
	Fingerprint(ctx context.Context) (Fingerprint, error)

	// EnsureImage makes ref present on the node: a no-op when it is there already, a pull from
	// the configured registry otherwise. ErrImageNotFound when no source has it.
	EnsureImage(ctx context.Context, ref string) error

	// Start creates and starts an instance from spec, labelled with spec.Labels, and returns its
	// endpoint. It does not wait for the instance to be ready: readiness is the node's job
	// (GET /_/ready). On error nothing is left behind.
	Start(ctx context.Context, spec instance.Spec) (instance.Instance, error)

	// Pause freezes a running instance: it keeps its memory and uses no CPU.
	// ErrNotSupported when !Capabilities.Pause, ErrInstanceNotFound for an unknown id.
	Pause(ctx context.Context, id string) error

	// Resume thaws a paused instance. Errors as for Pause.
	Resume(ctx context.Context, id string) error

	// Stop stops and removes an instance, giving it grace to exit after SIGTERM. It is
	// idempotent in effect: an unknown id returns ErrInstanceNotFound, which callers may ignore.
	Stop(ctx context.Context, id string, grace time.Duration) error

	// Inspect reports an instance's current state. ErrInstanceNotFound for an unknown id.
	Inspect(ctx context.Context, id string) (instance.Status, error)

	// List reports every instance on this node that carries the hearth owner label, known to the
	// caller or not: it is what the node reconciles against at start.
	List(ctx context.Context) ([]instance.Status, error)

	// Logs streams an instance's stdout and stderr as plain lines. The stream ends when the
	// instance's output ends (unless Follow) or when ctx ends. ErrInstanceNotFound for an
	// unknown id.
	Logs(ctx context.Context, id string, opts LogOptions) (io.ReadCloser, error)
}

// Capabilities are what a driver can do, as data: the pool asks, rather than assuming.
type Capabilities struct {
	// Pause is true when Pause and Resume work (Docker: yes; Nomad: no).
	Pause bool `json:"pause"`
	// Logs is true when Logs works.
	Logs bool `json:"logs"`
	// Images is true when the driver keeps images on its node: Fingerprint lists them and
	// EnsureImage makes one present, or fails with ErrImageNotFound (Docker: yes). Without it
	// the engine fetches images itself when it starts an instance (Nomad's clients pull them):
	// Fingerprint lists none, EnsureImage only checks the reference, and a missing image shows
	// as Start's ErrImageNotFound.
	Images bool `json:"images"`
}

// Fingerprint describes a driver and its node.
type Fingerprint struct {
	Name         string       `json:"name"`    // "docker", "nomad", "fake"
	Version      string       `json:"version"` // the engine's version, e.g. "20.10.24"
	Capabilities Capabilities `json:"capabilities"`
	// Allocatable is what instances may reserve in total on this node.
	Allocatable instance.Resources `json:"allocatable"`
	// Images lists image references present on the node (for placement by locality).
	Images []string `json:"images,omitempty"`
}

// LogOptions selects which log lines Logs returns.
type LogOptions struct {
	Follow bool      `json:"follow"`
	Since  time.Time `json:"since"`
	// Tail is the number of last lines to return; 0 means all.
	Tail int `json:"tail"`
	// Stream selects one of the instance's output streams; empty means both, interleaved.
	Stream Stream `json:"stream,omitempty"`
	// Timestamps prefixes each line with the time the engine received it, in RFC 3339 with
	// fractional seconds, and one space (as `docker logs --timestamps` does). Parse it with
	// time.RFC3339Nano.
	Timestamps bool `json:"timestamps,omitempty"`
}

// Stream names an instance's output stream.
type Stream string

// The output streams of an instance.
const (
	StreamStdout Stream = "stdout"
	StreamStderr Stream = "stderr"
)

// Preparer is implemented by drivers that can make an instance ahead of its start, so that the
// start itself costs less (the Docker driver creates the container and its network sandbox). It
// is optional: a node whose driver does not implement it starts instances as before.
type Preparer interface {
	// Prepare makes spec's instance without starting it: it holds no CPU and (next to) no
	// memory. A later Start of the same spec (same ID, same options) only starts it; a Start
	// whose options differ, or any failure, removes it and starts the instance from scratch.
	// Stop removes a prepared instance as it removes a running one. List reports a prepared
	// instance as starting, with its labels, so that whoever reconciles finds it.
	Prepare(ctx context.Context, spec instance.Spec) error
}

// Watcher is implemented by drivers that report their instances' changes as the engine makes
// them (Docker's event stream, Nomad's blocking queries), so that nobody needs to list every
// instance on a timer to notice one that died or was paused behind hearth's back. It is
// optional: a node whose driver does not implement it is listed periodically instead.
type Watcher interface {
	// Watch calls fn for every change of one of hearth's instances on this node, in the order
	// the engine made them, until ctx ends (it then returns ctx.Err()) or the engine's stream
	// breaks (it returns why: ErrUnavailable when the engine cannot be reached). Its first call
	// is an Event with Resync set, made once the stream is open: every change after that is
	// reported, so a listing taken after it is a sound baseline. fn is called on one goroutine
	// and must not block for long. Changes hearth asked for itself (a stop's exit and removal)
	// are reported too. ErrNotSupported when the driver cannot watch after all (an older
	// plugin).
	Watch(ctx context.Context, fn func(instance.Event)) error
}
