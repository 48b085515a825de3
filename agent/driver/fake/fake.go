package fake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
)

// Op names a driver method, for Hook.
type Op string

// The operations a Hook sees.
const (
	OpFingerprint Op = "fingerprint"
	OpEnsureImage Op = "ensure_image"
	OpStart       Op = "start"
	OpPause       Op = "pause"
	OpResume      Op = "resume"
	OpStop        Op = "stop"
	OpInspect     Op = "inspect"
	OpList        Op = "list"
	OpLogs        Op = "logs"
)

// Hook is called at the start of every driver method, after the ctx check and before the method
// does anything. A non-nil error is returned from the method as is (wrap a driver sentinel to
// script, say, an unavailable engine). target is the instance id, the image reference for
// OpEnsureImage, and empty for OpFingerprint and OpList. A Hook may block (to simulate a slow
// engine) and is called without the driver's lock held.
type Hook func(ctx context.Context, op Op, target string) error

// PullFunc decides what EnsureImage does with an image that is not present: nil makes it
// present, an error is returned (wrap driver.ErrImageNotFound for "no registry has it").
type PullFunc func(ctx context.Context, ref string) error

// Counts are how many times each operation succeeded, for assertions in tests.
type Counts struct {
	Starts, Stops, Pauses, Resumes, Pulls int
}

// Driver is the in-memory driver. Each started instance is a real HTTP server on a loopback
// port, so callers exercise their real HTTP path against it. Its methods are safe for concurrent
// use. Call Close when done (t.Cleanup(func() { d.Close() })) to shut every server down.
type Driver struct {
	name    string
	version string
	caps    driver.Capabilities
	alloc   instance.Resources
	handler func(spec instance.Spec) http.Handler
	pull    PullFunc

	mu        sync.Mutex // guards everything below and every instance's mutable fields
	hook      Hook
	images    map[string]bool
	instances map[string]*fakeInstance
	counts    Counts
}

var _ driver.Driver = (*Driver)(nil)

// Option configures a Driver.
type Option func(*Driver)

// WithName sets the name Fingerprint reports (default "fake").
func WithName(name string) Option { return func(d *Driver) { d.name = name } }

// WithCapabilities sets what the driver can do (default: Pause, Logs and Images). Without Pause,
// Pause and Resume return driver.ErrNotSupported, as Nomad's driver does; without Logs, Logs
// does. Images changes nothing in the fake's behaviour, only what Fingerprint reports.
func WithCapabilities(c driver.Capabilities) Option { return func(d *Driver) { d.caps = c } }

// WithAllocatable sets what Fingerprint reports the node can allocate (default 4 CPUs, 8 GiB).
func WithAllocatable(r instance.Resources) Option { return func(d *Driver) { d.alloc = r } }

// WithImages makes refs present on the node from the start.
func WithImages(refs ...string) Option {
	return func(d *Driver) {
		for _, r := range refs {
			d.images[r] = true
		}
	}
}

// WithPull sets how EnsureImage fetches an image that is not present. The default fails every
// pull with driver.ErrImageNotFound, like a node with no reachable registry; pass
// func(context.Context, string) error { return nil } for a registry that has everything.
func WithPull(f PullFunc) Option { return func(d *Driver) { d.pull = f } }

// WithHandler sets the HTTP handler each instance serves, built from its spec. The default
// answers GET /_/ready with 200 and echoes everything else (see DefaultHandler). Whatever the
// handler, the driver logs one line per request and holds requests while the instance is paused.
func WithHandler(h func(spec instance.Spec) http.Handler) Option {
	return func(d *Driver) { d.handler = h }
}

// WithHook installs h (see Hook); SetHook replaces it later.
func WithHook(h Hook) Option { return func(d *Driver) { d.hook = h } }

// New returns a fake driver with no instances.
func New(opts ...Option) *Driver {
	d := &Driver{
		name:      "fake",
		version:   "1.0.0",
		caps:      driver.Capabilities{Pause: true, Logs: true, Images: true},
		alloc:     instance.Resources{MemoryMB: 8192, CPUMilli: 4000},
		handler:   DefaultHandler,
		images:    map[string]bool{},
		instances: map[string]*fakeInstance{},
		pull: func(_ context.Context, ref string) error {
			return fmt.Errorf("pull %s: no registry has it: %w", ref, driver.ErrImageNotFound)
		},
	}
	for _, o := range opts {
		o(d)
	}
	return d
}

// SetHook replaces the hook; nil removes it.
func (d *Driver) SetHook(h Hook) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.hook = h
}

// Counts returns how many operations have succeeded so far.
func (d *Driver) Counts() Counts {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.counts
}

// Held returns how many requests to an instance are waiting for it to be resumed (or for
// their own end), so that a test can tell that a call is held by a paused instance without
// waiting to see whether it returns.
func (d *Driver) Held(id string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	if in, ok := d.instances[id]; ok {
		return in.held
	}
	return 0
}

// Spec returns the spec an instance was started with, and whether the instance exists. Its
// Security is how a real driver would have confined the instance (the fake confines nothing),
// for tests of what reaches the driver.
func (d *Driver) Spec(id string) (instance.Spec, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	in, ok := d.instances[id]
	if !ok {
		return instance.Spec{}, false
	}
	return in.spec, true
}

// Exit makes a running or paused instance exit with code, as if its process ended: its server
// closes, Inspect reports StateExited with the code and reason, and it stays listed until
// Stop removes it. It returns driver.ErrInstanceNotFound for an unknown id.
func (d *Driver) Exit(id string, code int, reason string) error {
	d.mu.Lock()
	in, ok := d.instances[id]
	if !ok {
		d.mu.Unlock()
		return fmt.Errorf("exit %s: %w", id, driver.ErrInstanceNotFound)
	}
	alreadyExited := in.state == instance.StateExited
	if !alreadyExited {
		in.state, in.exitCode, in.reason = instance.StateExited, code, reason
		in.openGate()
		in.appendLogLocked(fmt.Sprintf("instance %s exited with code %d", id, code))
		in.endLogsLocked()
	}
	d.mu.Unlock()
	if !alreadyExited {
		_ = in.srv.Close()
	}
	return nil
}

// Close shuts every instance's server down and forgets all instances. The driver stays usable.
func (d *Driver) Close() error {
	d.mu.Lock()
	all := slices.Collect(maps.Values(d.instances))
	clear(d.instances)
	for _, in := range all {
		in.openGate()
		in.endLogsLocked()
	}
	d.mu.Unlock()
	for _, in := range all {
		_ = in.srv.Close()
	}
	return nil
}

// begin runs the checks every method starts with: the caller's ctx, then the hook.
func (d *Driver) begin(ctx context.Context, op Op, target string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s %s: %w", op, target, err)
	}
	d.mu.Lock()
	h := d.hook
	d.mu.Unlock()
	if h != nil {
		return h(ctx, op, target)
	}
	return nil
}

// Fingerprint reports the configured name, capabilities and allocatable resources, and the
// images present.
func (d *Driver) Fingerprint(ctx context.Context) (driver.Fingerprint, error) {
	if err := d.begin(ctx, OpFingerprint, ""); err != nil {
		return driver.Fingerprint{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return driver.Fingerprint{
		Name:         d.name,
		Version:      d.version,
		Capabilities: d.caps,
		Allocatable:  d.alloc,
		Images:       slices.Sorted(maps.Keys(d.images)),
	}, nil
}

// EnsureImage is a no-op for a present image and calls the PullFunc for any other.
func (d *Driver) EnsureImage(ctx context.Context, ref string) error {
	if err := d.begin(ctx, OpEnsureImage, ref); err != nil {
		return err
	}
	d.mu.Lock()
	present := d.images[ref]
	d.mu.Unlock()
	if present {
		return nil
	}
	if err := d.pull(ctx, ref); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.images[ref] = true
	d.counts.Pulls++
	return nil
}

// Start serves the spec's handler on a new loopback port. The image must be present
// (driver.ErrImageNotFound otherwise, as with Docker) and the id unused. spec.Port is ignored:
// the endpoint's port is whatever the kernel assigned.
func (d *Driver) Start(ctx context.Context, spec instance.Spec) (instance.Instance, error) {
	if err := d.begin(ctx, OpStart, spec.ID); err != nil {
		return instance.Instance{}, err
	}
	if spec.ID == "" {
		return instance.Instance{}, errors.New("start: empty instance id")
	}
	if n := spec.Security.Network; n != "" && n != instance.NetworkNone {
		// As the Docker driver: a network it does not know is the caller's mistake.
		return instance.Instance{}, fmt.Errorf("start %s: network %q: want \"\" or %q", spec.ID, n, instance.NetworkNone)
	}
	d.mu.Lock()
	_, exists := d.instances[spec.ID]
	present := d.images[spec.Image]
	d.mu.Unlock()
	switch {
	case !present:
		return instance.Instance{}, fmt.Errorf("start %s: image %s: %w", spec.ID, spec.Image, driver.ErrImageNotFound)
	case exists:
		return instance.Instance{}, fmt.Errorf("start %s: an instance with this id already exists", spec.ID)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return instance.Instance{}, fmt.Errorf("start %s: %w", spec.ID, err)
	}
	in := newInstance(spec, ln.Addr().String(), &d.mu)
	in.srv = &http.Server{Handler: in.wrap(d.handler(spec)), ReadHeaderTimeout: 10 * time.Second}

	d.mu.Lock()
	if _, exists := d.instances[spec.ID]; exists {
		d.mu.Unlock()
		_ = ln.Close()
		return instance.Instance{}, fmt.Errorf("start %s: an instance with this id already exists", spec.ID)
	}
	d.instances[spec.ID] = in
	d.counts.Starts++
	in.appendLogLocked(fmt.Sprintf("instance %s listening on %s", spec.ID, in.inst.Endpoint))
	d.mu.Unlock()

	go func() { _ = in.srv.Serve(ln) }()
	return in.inst, nil
}

// Pause holds every new request to the instance until Resume (or until the request's ctx ends).
func (d *Driver) Pause(ctx context.Context, id string) error {
	return d.setPaused(ctx, OpPause, id, true)
}

// Resume releases the requests Pause held.
func (d *Driver) Resume(ctx context.Context, id string) error {
	return d.setPaused(ctx, OpResume, id, false)
}

func (d *Driver) setPaused(ctx context.Context, op Op, id string, pause bool) error {
	if err := d.begin(ctx, op, id); err != nil {
		return err
	}
	if !d.caps.Pause {
		return fmt.Errorf("%s %s: %w", op, id, driver.ErrNotSupported)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	in, ok := d.instances[id]
	if !ok {
		return fmt.Errorf("%s %s: %w", op, id, driver.ErrInstanceNotFound)
	}
	switch {
	case pause && in.state != instance.StateRunning:
		return fmt.Errorf("pause %s: instance is %s, not running", id, in.state)
	case !pause && in.state != instance.StatePaused:
		return fmt.Errorf("resume %s: instance is %s, not paused", id, in.state)
	case pause:
		in.state = instance.StatePaused
		in.gate = make(chan struct{})
		d.counts.Pauses++
	default:
		in.state = instance.StateRunning
		in.openGate()
		d.counts.Resumes++
	}
	return nil
}

// Stop removes the instance and shuts its server down, letting requests in flight finish for up
// to grace (bounded by ctx) before closing their connections.
func (d *Driver) Stop(ctx context.Context, id string, grace time.Duration) error {
	if err := d.begin(ctx, OpStop, id); err != nil {
		return err
	}
	d.mu.Lock()
	in, ok := d.instances[id]
	if ok {
		delete(d.instances, id)
		// Held requests are released first, as Docker unpauses before stopping, so that
		// they can finish within the grace.
		in.openGate()
		in.appendLogLocked(fmt.Sprintf("instance %s stopping", id))
		in.endLogsLocked()
		d.counts.Stops++
	}
	d.mu.Unlock()
	if !ok {
		return fmt.Errorf("stop %s: %w", id, driver.ErrInstanceNotFound)
	}
	sctx, cancel := context.WithTimeout(ctx, grace)
	defer cancel()
	_ = in.srv.Shutdown(sctx)
	_ = in.srv.Close()
	return nil
}

// Inspect reports the instance's state.
func (d *Driver) Inspect(ctx context.Context, id string) (instance.Status, error) {
	if err := d.begin(ctx, OpInspect, id); err != nil {
		return instance.Status{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	in, ok := d.instances[id]
	if !ok {
		return instance.Status{}, fmt.Errorf("inspect %s: %w", id, driver.ErrInstanceNotFound)
	}
	return in.statusLocked(), nil
}

// List reports every instance, ordered by id.
func (d *Driver) List(ctx context.Context) ([]instance.Status, error) {
	if err := d.begin(ctx, OpList, ""); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	list := make([]instance.Status, 0, len(d.instances))
	for _, id := range slices.Sorted(maps.Keys(d.instances)) {
		list = append(list, d.instances[id].statusLocked())
	}
	return list, nil
}

// Logs streams the lines the driver recorded for the instance: its start, one per request, its
// exit, all on stdout. With Follow the stream ends when the instance exits or is stopped, or when
// ctx ends.
func (d *Driver) Logs(ctx context.Context, id string, opts driver.LogOptions) (io.ReadCloser, error) {
	if err := d.begin(ctx, OpLogs, id); err != nil {
		return nil, err
	}
	if !d.caps.Logs {
		return nil, fmt.Errorf("logs %s: %w", id, driver.ErrNotSupported)
	}
	d.mu.Lock()
	in, ok := d.instances[id]
	d.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("logs %s: %w", id, driver.ErrInstanceNotFound)
	}
	return d.streamLogs(ctx, in, opts), nil
}
