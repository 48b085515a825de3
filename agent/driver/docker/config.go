package docker

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Config configures the Docker driver. cmd/hearth fills it from flags and environment; the
// driver itself reads neither.
type Config struct {
	// Host is the Docker Engine API address, e.g. "unix:///var/run/docker.sock" (the default)
	// or "tcp://10.0.0.5:2375".
	Host string
	// Network is the Docker network instances join (default "hearth"). An instance's endpoint
	// is its IP on this network, which the host can reach directly: no port is published.
	// When no network of that name exists the driver makes it (network.go): a bridge with
	// traffic between its containers off, labelled as hearth's, whose host ports are closed to
	// instances unless ReachHost. An existing network not made by hearth ("bridge", say) is
	// used as it is, its isolation being the operator's. With "host" the instance shares the
	// node's network and its endpoint is 127.0.0.1:<port>.
	Network string
	// ReachHost lets instances open connections to the node's own addresses through their
	// network's gateway (off: the node's ports, hearth's API among them, are closed to them by
	// firewall rules the driver installs, which needs root and iptables).
	ReachHost bool
	// Registry is where function images missing from the node may be pulled from:
	// "host[:port]" or "host[:port]/prefix". Only references under it are pulled; with none
	// (the default) nothing ever is, and a missing image is an error that says to deploy the
	// function again. Public registries are never asked.
	Registry string
	// RegistryUsername and RegistryPassword, when set, go with every pull from Registry (the
	// same credentials the server's builder pushes with). Both or neither, and only with a
	// Registry.
	RegistryUsername, RegistryPassword string
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

// DefaultNetwork is the network the driver makes for instances when none is configured.
const DefaultNetwork = "hearth"

// DefaultConfig returns the configuration for the local Docker Engine.
func DefaultConfig() Config {
	return Config{
		Host:        "unix:///var/run/docker.sock",
		Network:     DefaultNetwork,
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
	if c.Network == "none" {
		errs = append(errs, errors.New(`docker driver: Network "none" would leave instances unreachable; use a network, and network: none in a function's func.yaml to cut it off`))
	}
	if r := c.Registry; r != "" && (strings.Contains(r, "://") || strings.HasSuffix(r, "/") || strings.ContainsAny(r, " \t@")) {
		errs = append(errs, fmt.Errorf("docker driver: Registry %q must be host[:port] or host[:port]/prefix, without a scheme", r))
	}
	if (c.RegistryUsername == "") != (c.RegistryPassword == "") {
		errs = append(errs, errors.New("docker driver: a registry username needs a password, and a password a username"))
	} else if c.RegistryUsername != "" && c.Registry == "" {
		errs = append(errs, errors.New("docker driver: registry credentials without a Registry"))
	}
	return errors.Join(errs...)
}
