package main

import (
	"fmt"
	"log/slog"
	"os"
	"strconv"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/hearthfn/hearth/agent/driver/docker"
	"github.com/hearthfn/hearth/agent/driver/nomad"
	"github.com/hearthfn/hearth/agent/driver/plugin"
)

// newDriverCmd is the hidden `hearth __driver <name>`: the built-in drivers, served as plugins to
// a hearth process that started this one. Run by hand it refuses (no handshake cookie). Every
// flag is accepted whatever the driver, so that the host can pass the registry's to either.
func newDriverCmd() *cobra.Command {
	cfg := docker.DefaultConfig()
	var nf nomadFlags
	var logLevel string
	var reg registryFlags // the registry's credentials; cfg.Registry is its address
	cmd := &cobra.Command{
		Use:    "__driver docker|nomad",
		Short:  "Serve a built-in driver plugin (started by hearth itself)",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] != docker.Name && args[0] != nomad.Name {
				return fmt.Errorf("no built-in driver %q: the built-in drivers are: %s, %s", args[0], docker.Name, nomad.Name)
			}
			level, err := parseLevel(logLevel)
			if err != nil {
				return err
			}
			// Never stdout: go-plugin's handshake owns it.
			logger := plugin.NewLogger(os.Stderr, level)
			reg.addr = cfg.Registry
			creds, err := reg.credentials(os.LookupEnv)
			if err != nil {
				return err
			}
			if args[0] == nomad.Name {
				ncfg, err := nf.config(cmd.Flags(), os.LookupEnv)
				if err != nil {
					return err
				}
				ncfg.Registry, ncfg.RegistryUsername, ncfg.RegistryPassword = creds.Address, creds.Username, creds.Password
				return serveNomad(ncfg, logger)
			}
			cfg.Logger = logger
			cfg.RegistryUsername, cfg.RegistryPassword = creds.Username, creds.Password
			d, err := docker.New(cfg)
			if err != nil {
				return err
			}
			defer d.Close()
			return plugin.Serve(docker.Name, d, logger)
		},
	}
	cmd.Flags().StringVar(&cfg.Host, "docker-host", defaultDockerHost(), "the Docker Engine to drive")
	cmd.Flags().StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	cmd.Flags().StringVar(&cfg.Network, "network", cfg.Network, "the Docker network instances join")
	cmd.Flags().StringVar(&cfg.PublishAddr, "publish-addr", "",
		"publish each instance's port on this address of the host (an IP), with a port Docker picks, and call it there; none: call instances at their container IPs")
	cmd.Flags().BoolVar(&cfg.ReachHost, "reach-host", false, "let instances connect to the host's own addresses")
	cmd.Flags().StringVar(&cfg.Registry, "registry", "",
		"the registry (host[:port][/prefix]) missing function images may be pulled from; none: never pull")
	reg.registerCredentials(cmd.Flags())
	nf.register(cmd.Flags())
	return cmd
}

func serveNomad(cfg nomad.Config, logger *slog.Logger) error {
	cfg.Logger = logger
	d, err := nomad.New(cfg)
	if err != nil {
		return err
	}
	defer d.Close()
	return plugin.Serve(nomad.Name, d, logger)
}

// nomadFlags are the Nomad driver's flags. Each defaults to the NOMAD_* variable Nomad's own
// CLI reads; the TLS settings come from those variables only.
type nomadFlags struct {
	addr, token, region, namespace string
	datacenters                    []string
	mhzPerCore                     int64
}

func (n *nomadFlags) register(f *pflag.FlagSet) {
	f.StringVar(&n.addr, "nomad-addr", "", "the Nomad API (default $NOMAD_ADDR, else "+nomad.DefaultAddress+")")
	f.StringVar(&n.token, "nomad-token", "", "the Nomad ACL token (default $NOMAD_TOKEN)")
	f.StringVar(&n.region, "nomad-region", "", "the Nomad region (default $NOMAD_REGION, else the agent's)")
	f.StringVar(&n.namespace, "nomad-namespace", "", "the namespace jobs go in (default $NOMAD_NAMESPACE, else default)")
	f.StringSliceVar(&n.datacenters, "nomad-datacenters", nil, "the datacenters jobs may run in (default: all)")
	f.Int64Var(&n.mhzPerCore, "nomad-cpu-mhz-per-core", 0,
		"the MHz of Nomad's cpu that one core of a function's cpu stands for (default: measured on the cluster)")
}

// config returns the driver's configuration: the flags that were set, else the NOMAD_*
// variables (lookup reads them), as Nomad's CLI takes them.
func (n *nomadFlags) config(f *pflag.FlagSet, lookup func(string) (string, bool)) (nomad.Config, error) {
	env := func(key string) string { v, _ := lookup(key); return v }
	pick := func(flag, val, key string) string {
		if f.Changed(flag) {
			return val
		}
		return env(key)
	}
	cfg := nomad.Config{
		Address:       pick("nomad-addr", n.addr, "NOMAD_ADDR"),
		Token:         pick("nomad-token", n.token, "NOMAD_TOKEN"),
		Region:        pick("nomad-region", n.region, "NOMAD_REGION"),
		Namespace:     pick("nomad-namespace", n.namespace, "NOMAD_NAMESPACE"),
		Datacenters:   n.datacenters,
		CPUMHzPerCore: n.mhzPerCore,
		TLS: nomad.TLSConfig{
			CACert: env("NOMAD_CACERT"), CAPath: env("NOMAD_CAPATH"),
			ClientCert: env("NOMAD_CLIENT_CERT"), ClientKey: env("NOMAD_CLIENT_KEY"),
			ServerName: env("NOMAD_TLS_SERVER_NAME"),
		},
	}
	if v := env("NOMAD_SKIP_VERIFY"); v != "" {
		insecure, err := strconv.ParseBool(v)
		if err != nil {
			return nomad.Config{}, fmt.Errorf("NOMAD_SKIP_VERIFY=%q: %w", v, err)
		}
		cfg.TLS.Insecure = insecure
	}
	return cfg, cfg.Validate()
}
