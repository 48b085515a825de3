package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hearthfn/hearth/agent/daemon"
	"github.com/hearthfn/hearth/agent/driver/plugin"
	"github.com/hearthfn/hearth/agent/node"
	"github.com/hearthfn/hearth/agent/remote"
)

// joinTokenEnv is where the agent takes its join token from when --join-token is not given: a
// flag's value shows in ps, the environment does not.
const joinTokenEnv = "HEARTH_JOIN_TOKEN"

// agentFlags are the flags of `hearth agent`.
type agentFlags struct {
	serverURL, joinToken, advertiseAddr string
	labels                              []string
	dataDir, name                       string
	dockerHost, instanceNetwork         string
	instancesReachHost                  bool
	registry                            registryFlags
	logLevel                            string

	parsedLabels map[string]string // set by check
}

// labelKey is what a node label's name may be (as runtimes/funcfile checks constraints).
var labelKey = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9._/-]{0,61}[a-zA-Z0-9])?$`)

// check validates the flags, with the join token from the environment when no flag gave it.
// Its errors are usage errors: they name the flag and what it takes.
func (a *agentFlags) check(lookup func(string) (string, bool)) error {
	if a.serverURL == "" {
		return errors.New("--server is required: the server's cluster address, https://HOST:PORT (its --cluster-addr)")
	}
	if err := daemon.CheckServerURL(a.serverURL); err != nil {
		return fmt.Errorf("--server %w", err)
	}
	source := "--join-token"
	if a.joinToken == "" {
		if v, ok := lookup(joinTokenEnv); ok {
			a.joinToken, source = strings.TrimSpace(v), joinTokenEnv
		}
	}
	if a.joinToken != "" {
		if _, err := remote.ParseJoinToken(a.joinToken); err != nil {
			return fmt.Errorf("%s: %w", source, err)
		}
	}
	if a.advertiseAddr != "" {
		ip := net.ParseIP(a.advertiseAddr)
		if ip == nil || ip.IsUnspecified() {
			return fmt.Errorf("--advertise-addr %q: give the IP address of this host that the server reaches instances at (not a name, a port or 0.0.0.0)", a.advertiseAddr)
		}
	}
	a.parsedLabels = make(map[string]string, len(a.labels))
	for _, l := range a.labels {
		k, v, ok := strings.Cut(l, "=")
		switch {
		case !ok || !labelKey.MatchString(k):
			return fmt.Errorf("--label %q: want key=value, the key 1 to 63 letters, digits, '.', '_', '-' or '/', starting and ending with a letter or digit", l)
		case len(v) > 63:
			return fmt.Errorf("--label %q: the value is longer than 63 characters", l)
		case hasKey(a.parsedLabels, k):
			return fmt.Errorf("--label %s is given twice", k)
		}
		a.parsedLabels[k] = v
	}
	if a.dataDir == "" {
		return errors.New("--data-dir must not be empty")
	}
	if a.name == "" {
		return errors.New("--name must not be empty (the default is the host name, which this machine has none of)")
	}
	if _, err := parseLevel(a.logLevel); err != nil {
		return err
	}
	return nil
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}

// driverArgs are the extra arguments of the agent's driver plugin: the registry to pull from
// and the address to publish instances on.
func (a *agentFlags) driverArgs() []string {
	args := a.registry.driverArgs()
	if a.advertiseAddr != "" {
		args = append(args, "--publish-addr", a.advertiseAddr)
	}
	return args
}

func newAgentCmd() *cobra.Command {
	var a agentFlags
	host, _ := os.Hostname()
	cmd := &cobra.Command{
		Use:   "agent --server https://HOST:PORT [--advertise-addr IP] [--label k=v]...",
		Short: "Run a node on this host's Docker Engine for a hearth server (a cluster agent)",
		Long: `Run a node of a hearth cluster on this host's Docker Engine. The first start joins the
server's cluster with a join token (hearth node token create on the server's side) and keeps
the node's credential in --data-dir; later starts use the credential and need no token.

The agent dials the server and keeps one connection to it, over which the server starts, stops
and lists this host's instances. Stopping the agent (SIGTERM) leaves the instances running.

Give the join token in ` + joinTokenEnv + ` rather than with --join-token: a flag's value
shows in ps. docs/operator/cluster.md has the whole setup.`,
		Example: `  HEARTH_JOIN_TOKEN=hjt_... hearth agent --server https://hearth.example.com:7947 \
      --advertise-addr 10.0.0.12 --registry registry.example.com:5000 --label zone=a`,
		// Flag values are checked here, before RunE, so that a wrong one is a usage error.
		Args: func(cmd *cobra.Command, args []string) error {
			if err := cobra.NoArgs(cmd, args); err != nil {
				return err
			}
			return a.check(os.LookupEnv)
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAgent(cmd.Context(), &a)
		},
	}
	f := cmd.Flags()
	f.StringVar(&a.serverURL, "server", "", "the server's cluster address, https://HOST:PORT (its --cluster-addr or --cluster-advertise)")
	f.StringVar(&a.joinToken, "join-token", "", "the join token of the first start (default $"+joinTokenEnv+"; prefer the variable: a flag shows in ps)")
	f.StringVar(&a.advertiseAddr, "advertise-addr", "",
		"this host's IP address the server reaches instances at; their ports are published on it (default: instances are reached at their container addresses)")
	f.StringArrayVar(&a.labels, "label", nil, "a label of this node, key=value, that functions' constraints can ask for (repeatable)")
	f.StringVar(&a.dataDir, "data-dir", "/var/lib/hearth-agent", "directory for the node's credential (key, certificate, CA, node id)")
	f.StringVar(&a.name, "name", host, "the node's name; the server makes the node id from it")
	f.StringVar(&a.dockerHost, "docker-host", defaultDockerHost(), "the Docker Engine to run instances on")
	f.StringVar(&a.instanceNetwork, "instance-network", "hearth",
		"the Docker network instances join; hearth makes it, with traffic between instances off")
	f.BoolVar(&a.instancesReachHost, "instances-reach-host", false,
		"let instances open connections to this host's own addresses through their network's gateway")
	f.StringVar(&a.registry.addr, "registry", "",
		"the registry (HOST[:PORT][/PREFIX]) the server pushes function images to; this host pulls them from it")
	a.registry.registerCredentials(f)
	f.StringVar(&a.logLevel, "log-level", "info", "debug, info, warn or error")
	return cmd
}

// runAgent joins (once), starts the Docker driver plugin and a node on it, and serves the
// server until ctx ends.
func runAgent(ctx context.Context, a *agentFlags) error {
	if _, err := a.registry.credentials(os.LookupEnv); err != nil {
		return err
	}
	log, err := newLogger(a.logLevel)
	if err != nil {
		return err
	}
	cfg := daemon.Config{
		ServerURL:     a.serverURL,
		JoinToken:     a.joinToken,
		DataDir:       a.dataDir,
		Name:          a.name,
		AdvertiseAddr: a.advertiseAddr,
		Labels:        a.parsedLabels,
		Version:       version,
		Log:           log,
	}
	// Joining needs no engine: a token that is refused is found before anything starts.
	cred, err := daemon.Join(ctx, cfg)
	if errors.Is(err, daemon.ErrNoJoinToken) {
		return fmt.Errorf("%w: set %s (or --join-token) to a token made with `hearth node token create`", err, joinTokenEnv)
	}
	if err != nil {
		return err
	}

	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the hearth executable to run the driver plugin: %w", err)
	}
	nf := nodeFlags{instanceNetwork: a.instanceNetwork, instancesReachHost: a.instancesReachHost}
	loader := plugin.NewLoader(nf.command(exe, a.dockerHost, a.logLevel, a.driverArgs()), log)
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	drv, err := plugin.Supervise(dctx, loader, "docker", log)
	cancel()
	if err != nil {
		return fmt.Errorf("start the docker driver plugin (engine %s): %w", a.dockerHost, err)
	}
	defer drv.Close()

	// The node id names this node's instances (their hearth.node label): the server adopts or
	// stops what it finds, so nothing is removed here.
	cfg.Agent = node.New(node.Config{ID: cred.NodeID}, drv, log)
	return daemon.Run(ctx, cfg, cred)
}
