package nomad

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"
)

// Config configures the Nomad driver. cmd/hearth fills it from flags and the NOMAD_*
// environment variables Nomad's own CLI reads; the driver itself reads neither.
type Config struct {
	// Address is the Nomad HTTP API, e.g. "http://127.0.0.1:4646" (the default) or
	// "https://nomad.example.com:4646".
	Address string
	// Token is the ACL token's secret ID; empty when the cluster has no ACLs.
	// docs/operator/nomad.md lists the policy it needs.
	Token string
	// Region and Namespace are where jobs go; empty: the agent's region, the default
	// namespace. A namespace of its own keeps hearth's jobs apart from everything else.
	Region    string
	Namespace string
	// Datacenters are the datacenters jobs may run in; none: all of them ("*"). Fingerprint
	// counts the nodes of these only.
	Datacenters []string
	// TLS configures HTTPS to the API; its zero value uses the system's roots.
	TLS TLSConfig

	// Registry is where function images come from on a cluster, "host[:port]" or
	// "host[:port]/prefix" (the builder pushes there). With one, images outside it are refused:
	// Nomad's clients pull whatever they are told to, public registries included, and a function
	// image found elsewhere under the same name would be someone else's code. With none, any
	// tagged reference goes (a single node whose Docker has the images).
	Registry string
	// RegistryUsername and RegistryPassword, when set, go with every job as its docker task's
	// auth block. Anyone who may read the job in Nomad can read them: prefer the clients' own
	// docker auth configuration (docs/operator/nomad.md) and leave these empty.
	RegistryUsername, RegistryPassword string

	// CPUMHzPerCore converts an instance's CPU (millicores, as func.yaml gives it) to Nomad's
	// MHz: one core is this many MHz. Zero derives it from the cluster: the total MHz over the
	// total cores of the ready nodes, so that a function's "1000m" reserves about one core on
	// an average node, and Fingerprint's allocatable millicores use the same ratio.
	CPUMHzPerCore int64
	// KillTimeout is how long Nomad waits after SIGTERM before it kills an instance's task
	// (default 5s, the node's default grace). Nomad fixes it when the job is registered: Stop's
	// grace cannot change it later.
	KillTimeout time.Duration
	// OpTimeout bounds every Nomad call but blocking queries and log streams, so that a wedged
	// server cannot hang the node (default 30s). A call that runs out of it is ErrUnavailable.
	OpTimeout time.Duration
	// WaitTime is how long one blocking query may wait on the server (default 30s). The watcher
	// notices a server that went silent after at most this plus OpTimeout.
	WaitTime time.Duration
	// Logger receives the driver's own logs (the watcher's resyncs, failed clean-ups); nil
	// discards them.
	Logger *slog.Logger
}

// TLSConfig is HTTPS to the Nomad API, as NOMAD_CACERT and friends configure it for Nomad's
// CLI. Paths are files on the machine the driver runs on.
type TLSConfig struct {
	CACert     string // a PEM file of the CA that signed the servers' certificates
	CAPath     string // a directory of PEM CA certificates
	ClientCert string // the client certificate, for clusters that verify clients (verify_https_client)
	ClientKey  string
	ServerName string // the name to verify the server's certificate against
	Insecure   bool   // skip verification (tests only)
}

// DefaultAddress is Nomad's own default API address.
const DefaultAddress = "http://127.0.0.1:4646"

// withDefaults fills the zero fields of c.
func (c Config) withDefaults() Config {
	if c.Address == "" {
		c.Address = DefaultAddress
	}
	if c.KillTimeout == 0 {
		c.KillTimeout = 5 * time.Second
	}
	if c.OpTimeout == 0 {
		c.OpTimeout = 30 * time.Second
	}
	if c.WaitTime == 0 {
		c.WaitTime = 30 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate reports every field of c that cannot work. Zero fields are valid: they mean the
// default.
func (c Config) Validate() error {
	var errs []error
	if c.Address != "" {
		u, err := url.Parse(c.Address)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("nomad driver: Address %q: %w", c.Address, err))
		case u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "unix":
			errs = append(errs, fmt.Errorf("nomad driver: Address %q must start with http://, https:// or unix://", c.Address))
		}
	}
	for name, d := range map[string]time.Duration{"KillTimeout": c.KillTimeout, "OpTimeout": c.OpTimeout, "WaitTime": c.WaitTime} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("nomad driver: %s must not be negative, got %v", name, d))
		}
	}
	if c.CPUMHzPerCore < 0 {
		errs = append(errs, fmt.Errorf("nomad driver: CPUMHzPerCore must not be negative, got %d", c.CPUMHzPerCore))
	}
	for _, dc := range c.Datacenters {
		if strings.TrimSpace(dc) == "" {
			errs = append(errs, errors.New("nomad driver: Datacenters has an empty name"))
			break
		}
	}
	if r := c.Registry; r != "" && (strings.Contains(r, "://") || strings.HasSuffix(r, "/") || strings.ContainsAny(r, " \t@")) {
		errs = append(errs, fmt.Errorf("nomad driver: Registry %q must be host[:port] or host[:port]/prefix, without a scheme", r))
	}
	if (c.RegistryUsername == "") != (c.RegistryPassword == "") {
		errs = append(errs, errors.New("nomad driver: RegistryUsername and RegistryPassword go together"))
	} else if c.RegistryUsername != "" && c.Registry == "" {
		errs = append(errs, errors.New("nomad driver: registry credentials without a Registry"))
	}
	if (c.TLS.ClientCert == "") != (c.TLS.ClientKey == "") {
		errs = append(errs, errors.New("nomad driver: TLS.ClientCert and TLS.ClientKey go together"))
	}
	return errors.Join(errs...)
}
