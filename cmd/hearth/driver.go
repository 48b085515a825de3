package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/hearthfn/hearth/agent/driver/docker"
	"github.com/hearthfn/hearth/agent/driver/plugin"
)

// newDriverCmd is the hidden `hearth __driver <name>`: the built-in drivers, served as plugins to
// a hearth process that started this one. Run by hand it refuses (no handshake cookie).
func newDriverCmd() *cobra.Command {
	cfg := docker.DefaultConfig()
	var logLevel string
	cmd := &cobra.Command{
		Use:    "__driver docker",
		Short:  "Serve a built-in driver plugin (started by hearth itself)",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] != docker.Name {
				return fmt.Errorf("no built-in driver %q: the built-in drivers are: %s", args[0], docker.Name)
			}
			level, err := parseLevel(logLevel)
			if err != nil {
				return err
			}
			// Never stdout: go-plugin's handshake owns it.
			logger := plugin.NewLogger(os.Stderr, level)
			cfg.Logger = logger
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
	cmd.Flags().BoolVar(&cfg.ReachHost, "reach-host", false, "let instances connect to the host's own addresses")
	cmd.Flags().StringVar(&cfg.Registry, "registry", "",
		"the registry (host[:port][/prefix]) missing function images may be pulled from; none: never pull")
	return cmd
}
