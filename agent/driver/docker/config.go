package docker

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Config configures the Docker driver. cmd/hearth fills it from flags and environment; the
// driver itself reads neither.
type Config struct {
	// Host is the Docker Engine API address, e.g. "unix:///var/run/docker.sock" (the default)
	// or "tcp://10.0.0.5:2375".
	Host string
	// Network is the Docker network instances join (default "bridge"). An instance's endpoint
	// is its IP on this network, which the host can reach directly: no port is published. With
	// "host" the instance shares the node's network and its endpoint is 127.0.0.1:<port>.
	Network string
	// ReachHost lets instances open connections to the node's own addresses through their
	// network's gateway (off: the node's ports, hearth's API among them, are closed to them).
	ReachHost bool
	// StopGrace is the grace Stop gives an instance when its caller passes none (a zero grace):
	// how long after SIGTERM Docker waits before SIGKILL. Default 10s, Docker's own.
	StopGrace time.Duration
	// OpTimeout bounds every Docker call except pulls and log streams, so that a wedged daemon
	// cannot hang the node (default 30s). A call that runs out of it reports ErrUnavailable.
	OpTimeout time.Duration
	// PullTimeout bounds one image pull (default 10m).
	PullTimeout time.Duration
	// Logger receives the driver's own logs (warnings Docker returns, failed clean-ups); nil
	// discards them.
	Logger *slog.Logger
}

// DefaultConfig returns the configuration for the local Docker Engine.
func DefaultConfig() Config {
	return Config{
		Host:        "unix:///var/run/docker.sock",
		Network:     "bridge",
		StopGrace:   10 * time.Second,
		OpTimeout:   30 * time.Second,
		PullTimeout: 10 * time.Minute,
	}
}

// withDefaults fills the zero fields of c from DefaultConfig.
func (c Config) withDefaults() Config {
	def := DefaultConfig()
	if c.Host == "" {
		c.Host = def.Host
	}
	if c.Network == "" {
		c.Network = def.Network
	}
	if c.StopGrace == 0 {
		c.StopGrace = def.StopGrace
	}
	if c.OpTimeout == 0 {
		c.OpTimeout = def.OpTimeout
	}
	if c.PullTimeout == 0 {
		c.PullTimeout = def.PullTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate reports the first field of c that cannot work. Zero fields are valid: they mean the
// default.
func (c Config) Validate() error {
	var errs []error
	for name, d := range map[string]time.Duration{"StopGrace": c.StopGrace, "OpTimeout": c.OpTimeout, "PullTimeout": c.PullTimeout} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("docker driver: %s must not be negative, got %v", name, d))
		}
	}
	return errors.Join(errs...)
}
