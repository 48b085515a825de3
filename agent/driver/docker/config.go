package docker

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"
)

// Config configures the Docker driver. cmd/hearth fills it from flags and environment; the
// driver itself reads neither.
type Config struct {
	// Host is the Docker Engine API address, e.g. "unix:///var/run/docker.sock" (the default)
	// or "tcp://10.0.0.5:2375".
	Host string
	// Network is the Docker network instances join (default "hearth"). Unless PublishAddr is
	// set, an instance's endpoint is its IP on this network, which the host can reach directly:
	// no port is published.
	// When no network of that name exists the driver makes it (network.go): a bridge with
	// traffic between its containers off, labelled as hearth's, whose host ports are closed to
	// instances unless ReachHost. An existing network not made by hearth ("bridge", say) is
	// used as it is, its isolation being the operator's. With "host" the instance shares the
	// node's network and its endpoint is 127.0.0.1:<port>.
	Network string
	// PublishAddr, when set, is an IP address of the host (the node's advertise address) on
	// which each instance's port is published, with an ephemeral host port Docker picks; the
	// instance's endpoint is then PublishAddr:HOSTPORT, which other hosts (the server's router)
	// can reach where container IPs are not routed. The port binds to this one address only,
	// never 0.0.0.0: a function is only meant to be called through hearth, and an address of
	// the node's own choosing (a private interface, 127.0.0.1 for a node on the server's host)
	// keeps instances off the node's other networks, the public one above all. Docker makes
	// the binding with its NAT rules (traffic from other hosts is forwarded to the container,
	// never delivered to the host's INPUT, so the firewall that closes the host to instances
	// does not stand in the way) or, on an engine with --iptables=false, with docker-proxy.
	// Whatever reaches the address can call instances directly, without hearth's tokens and
	// limits: it should be on a network only hearth's servers reach, or the ports firewalled
	// to them (Docker's DOCKER-USER chain). Functions with network: none cannot be published
	// (Docker publishes no port of a container on an internal network): their starts fail with
	// ErrNotSupported. It makes no sense with Network "host" and is refused there.
	PublishAddr string
	// ReachHost lets instances open connections to the node's own addresses through their
	// network's gateway (off: the node's ports, hearth's API among them, are closed to them by
	// firewall rules the driver installs, which needs root and iptables).
	ReachHost bool
	// DockerPause makes Pause and Resume always go through `docker pause` and `docker unpause`.
	// Off (the default), a driver on the engine's own machine (a unix:// Host) writes the
	// containers' cgroup freezer files itself, which resumes an instance in microseconds
	// instead of tens of milliseconds, and falls back to Docker's API where it cannot
	// (freezer.go).
	DockerPause bool
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
	// SecretsDir is the memory-backed directory where the secrets of instances that take
	// them as files are written, one directory per instance bind-mounted read-only at
	// /run/secrets and removed when the instance stops (secrets.go). Default
	// DefaultSecretsDir. It must be on a tmpfs on the engine's own machine.
	SecretsDir string
	// Logger receives the driver's own logs (warnings Docker returns, failed clean-ups); nil
	// discards them.
	Logger *slog.Logger
}

// DefaultNetwork is the network the driver makes for instances when none is configured.
const DefaultNetwork = "hearth"

// DefaultSecretsDir is Config.SecretsDir's default: on Linux's /dev/shm tmpfs, so that a
// secret is never written to a disk.
const DefaultSecretsDir = "/dev/shm/hearth-secrets"

// DefaultConfig returns the configuration for the local Docker Engine.
func DefaultConfig() Config {
	return Config{
		Host:        "unix:///var/run/docker.sock",
		Network:     DefaultNetwork,
		StopGrace:   10 * time.Second,
		OpTimeout:   30 * time.Second,
		PullTimeout: 10 * time.Minute,
		SecretsDir:  DefaultSecretsDir,
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
	if c.SecretsDir == "" {
		c.SecretsDir = def.SecretsDir
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
	if a := c.PublishAddr; a != "" {
		ip, err := netip.ParseAddr(a)
		switch {
		case err != nil || ip.Zone() != "":
			errs = append(errs, fmt.Errorf("docker driver: PublishAddr %q must be an IP address of this host, such as its advertise address", a))
		case ip.IsUnspecified():
			errs = append(errs, fmt.Errorf("docker driver: PublishAddr %s would publish instances on every address of the host; give the one address other hosts reach it at", a))
		case c.Network == "host":
			errs = append(errs, errors.New(`docker driver: PublishAddr with Network "host": instances on the host's network have no port to publish; use a bridge network`))
		}
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
