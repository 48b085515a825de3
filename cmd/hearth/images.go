package main

import (
	"context"
	"fmt"
	"os/exec"
	"strings"

	"github.com/spf13/cobra"

	dockerbuilder "github.com/hearthfn/hearth/builder/docker"
	"github.com/hearthfn/hearth/runtimes"
)

func newImagesCmd(catalog *runtimes.Catalog) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "images",
		Short: "Manage the runtimes' build images",
	}
	var dockerHost, goroot string
	bootstrap := &cobra.Command{
		Use:   "bootstrap",
		Short: "Make the runtimes' build images when they are missing (no registry needed)",
		Long: `Make the build images function builds start from, without pulling anything:
the Go build image comes from this machine's Go toolchain (go env GOROOT), with the standard
library precompiled. Images that exist are left as they are.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := envDefaults(cmd); err != nil {
				return err
			}
			ctx := cmd.Context()
			if goroot == "" {
				var err error
				if goroot, err = goEnvGOROOT(ctx); err != nil {
					return err
				}
			}
			b, err := dockerbuilder.New(dockerbuilder.Config{Host: dockerHost, Catalog: catalog})
			if err != nil {
				return err
			}
			defer b.Close()
			progress := func(line string) { fmt.Fprintln(cmd.ErrOrStderr(), line) }
			image, built, err := b.EnsureGoImage(ctx, goroot, progress)
			if err != nil {
				return err
			}
			if built {
				fmt.Fprintf(cmd.OutOrStdout(), "built %s\n", image)
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "%s is present\n", image)
			}
			return nil
		},
	}
	bootstrap.Flags().StringVar(&dockerHost, "docker-host", defaultDockerHost(), "the Docker Engine to build on")
	bootstrap.Flags().StringVar(&goroot, "goroot", "", "the Go toolchain to put in the Go build image (default: go env GOROOT)")
	cmd.AddCommand(bootstrap)
	return cmd
}

// goEnvGOROOT asks the go command where its toolchain is.
func goEnvGOROOT(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOROOT").Output()
	if err != nil {
		return "", fmt.Errorf("find the Go toolchain for the Go build image (go env GOROOT): %w; install Go or pass --goroot", err)
	}
	return strings.TrimSpace(string(out)), nil
}
