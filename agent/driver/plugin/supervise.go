package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
)

// restartTimeout bounds one start of a plugin that died; minRestartGap spaces the attempts, so a
// plugin that cannot start is not started again for every call.
const (
	restartTimeout = 30 * time.Second
	minRestartGap  = time.Second
)

// Supervised is a driver served by a plugin that is started again when it dies. The call that
// finds the plugin gone fails with driver.ErrPluginExited, as before; it is not retried, because
// a Start or Stop cut off halfway cannot be known to have taken effect or not, and the callers
// (the node's reconciling, the pool's replacing) already deal with a failed call. The calls
// after it reach the new plugin. Instances outlive their plugin: they are the engine's (Docker's)
// containers, and the new plugin sees them.
type Supervised struct {
	loader *Loader
	name   string
	log    *slog.Logger

	mu          sync.Mutex
	cur         driver.Driver // guarded by mu
	closer      io.Closer     // guarded by mu; kills cur's plugin
	gen         uint64        // guarded by mu; counts the plugins started
	lastAttempt time.Time     // guarded by mu
	closed      bool          // guarded by mu
}

var (
	_ driver.Driver  = (*Supervised)(nil)
	_ driver.Watcher = (*Supervised)(nil)
)

// Supervise starts the plugin for the driver called name and keeps it running until Close.
// ctx bounds the first start only.
func Supervise(ctx context.Context, l *Loader, name string, log *slog.Logger) (*Supervised, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d, closer, err := l.Dispense(ctx, name)
	if err != nil {
		return nil, err
	}
	return &Supervised{loader: l, name: name, log: log, cur: d, closer: closer, gen: 1}, nil
}

// Close kills the plugin; calls made after it fail with driver.ErrPluginExited.
func (s *Supervised) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return s.closer.Close()
}

// current returns the plugin's driver and its generation.
func (s *Supervised) current() (driver.Driver, uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur, s.gen
}

// check starts a new plugin when err says the one of generation gen exited, unless a call that
// saw the same exit did it already, or the last attempt was too recent.
func (s *Supervised) check(gen uint64, err error) {
	if !errors.Is(err, driver.ErrPluginExited) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.gen != gen || time.Since(s.lastAttempt) < minRestartGap {
		return
	}
	s.lastAttempt = time.Now()
	_ = s.closer.Close() // reaps the dead process and removes its socket
	ctx, cancel := context.WithTimeout(context.Background(), restartTimeout)
	defer cancel()
	d, closer, derr := s.loader.Dispense(ctx, s.name)
	if derr != nil {
		s.log.Error("the driver plugin exited and could not be started again; will try at the next call",
			"driver", s.name, "error", derr)
		return
	}
	s.cur, s.closer = d, closer
	s.gen++
	s.log.Warn("the driver plugin exited; started it again", "driver", s.name, "cause", err)
}

// do runs f on the current plugin's driver and starts a new plugin when f finds it gone.
func do[T any](s *Supervised, f func(driver.Driver) (T, error)) (T, error) {
	d, gen := s.current()
	v, err := f(d)
	s.check(gen, err)
	return v, err
}

// do0 is do for methods that return only an error.
func do0(s *Supervised, f func(driver.Driver) error) error {
	_, err := do(s, func(d driver.Driver) (struct{}, error) { return struct{}{}, f(d) })
	return err
}

func (s *Supervised) Fingerprint(ctx context.Context) (driver.Fingerprint, error) {
	return do(s, func(d driver.Driver) (driver.Fingerprint, error) { return d.Fingerprint(ctx) })
}

func (s *Supervised) EnsureImage(ctx context.Context, ref string) error {
	return do0(s, func(d driver.Driver) error { return d.EnsureImage(ctx, ref) })
}

func (s *Supervised) Start(ctx context.Context, spec instance.Spec) (instance.Instance, error) {
	return do(s, func(d driver.Driver) (instance.Instance, error) { return d.Start(ctx, spec) })
}

// Prepare implements driver.Preparer for the dispensed driver: ErrNotSupported when it is none.
func (s *Supervised) Prepare(ctx context.Context, spec instance.Spec) error {
	return do0(s, func(d driver.Driver) error {
		p, ok := d.(driver.Preparer)
		if !ok {
			return fmt.Errorf("driver does not prepare instances: %w", driver.ErrNotSupported)
		}
		return p.Prepare(ctx, spec)
	})
}

func (s *Supervised) Pause(ctx context.Context, id string) error {
	return do0(s, func(d driver.Driver) error { return d.Pause(ctx, id) })
}

func (s *Supervised) Resume(ctx context.Context, id string) error {
	return do0(s, func(d driver.Driver) error { return d.Resume(ctx, id) })
}

func (s *Supervised) Stop(ctx context.Context, id string, grace time.Duration) error {
	return do0(s, func(d driver.Driver) error { return d.Stop(ctx, id, grace) })
}

func (s *Supervised) Inspect(ctx context.Context, id string) (instance.Status, error) {
	return do(s, func(d driver.Driver) (instance.Status, error) { return d.Inspect(ctx, id) })
}

func (s *Supervised) List(ctx context.Context) ([]instance.Status, error) {
	return do(s, func(d driver.Driver) ([]instance.Status, error) { return d.List(ctx) })
}

func (s *Supervised) Logs(ctx context.Context, id string, opts driver.LogOptions) (io.ReadCloser, error) {
	return do(s, func(d driver.Driver) (io.ReadCloser, error) { return d.Logs(ctx, id, opts) })
}

// Watch implements driver.Watcher for the dispensed driver: ErrNotSupported when it is none.
// A plugin that dies ends the watch with ErrPluginExited (and is started again); the caller
// watches again, on the new plugin, and gets a new Resync.
func (s *Supervised) Watch(ctx context.Context, fn func(instance.Event)) error {
	return do0(s, func(d driver.Driver) error {
		w, ok := d.(driver.Watcher)
		if !ok {
			return fmt.Errorf("driver does not watch its instances: %w", driver.ErrNotSupported)
		}
		return w.Watch(ctx, fn)
	})
}
