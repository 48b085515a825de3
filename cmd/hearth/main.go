// Command hearth is the one binary of hearth: the CLI, the server (`hearth server`), a cluster
// node (`hearth agent`), the build image maker (`hearth images`) and, hidden, the built-in
// driver plugins (`hearth __driver`).
//
// This is the only package that reads flags and the environment and picks implementations; it
// hands typed configuration and ready-made parts to the packages that do the work.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/hearthfn/hearth/builder/buildctx"
	"github.com/hearthfn/hearth/cli"
	"github.com/hearthfn/hearth/runtimes"
	"github.com/hearthfn/hearth/runtimes/funcfile"
)

// version is set at build time (-ldflags "-X main.version=...").
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	catalog := runtimes.New()
	home, _ := os.UserHomeDir()     // none: no local admin token is looked for
	config, _ := os.UserConfigDir() // none: hearth login says it cannot save
	root := newRoot(catalog, cli.Options{
		Stdout:        os.Stdout,
		Stderr:        os.Stderr,
		Stdin:         os.Stdin,
		Getenv:        os.Getenv,
		HomeDir:       home,
		ConfigDir:     config,
		Version:       version,
		Runtimes:      cli.CatalogRuntimes(catalog),
		ParseFuncFile: funcfile.Parse,
		PackDir:       buildctx.PackDir,
	})
	code := cli.Execute(ctx, root, os.Args[1:])
	stop()
	os.Exit(code)
}

// newRoot is the whole command tree: the CLI's commands and this binary's roles.
func newRoot(catalog *runtimes.Catalog, opts cli.Options) *cobra.Command {
	root := cli.NewRoot(opts)
	root.AddCommand(newServerCmd(catalog), newAgentCmd(), newImagesCmd(catalog), newDriverCmd())
	return root
}
