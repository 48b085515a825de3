package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/hearthfn/hearth/agent/driver/docker"
	"github.com/hearthfn/hearth/agent/driver/plugin"
)

// newDriverCmd is the hidden `hearth __driver <name>`: the built-in drivers, served as plugins to
// a hearth process that started this one. Run by hand it refuses (no handshake cookie).
func newDriverCmd() *cobra.Command {
	var dockerHost, logLevel string
	cmd := &cobra.Command{
		Use:       "__driver docker",
		Short:     "Serve a built-in driver plugin (started by hearth itself)",
		Hidden:    true,
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"docker"},
		RunE: func(cmd *cobra.Command, args []string) error {
			log, err := newLogger(logLevel)
			if err != nil {
				return err
			}
			_ = log
			d, err := docker.New(docker.Config{Host: dockerHost})
			if err != nil {
				return err
			}
			return plugin.Serve(args[0], d, plugin.NewLogger(os.Stderr, logLevel))
		},
	}
	cmd.Flags().StringVar(&dockerHost, "docker-host", defaultDockerHost(), "the Docker Engine to drive")
	cmd.Flags().StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	return cmd
}
