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
	root := cli.NewRoot(cli.Options{
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
	root.AddCommand(newServerCmd(catalog), newAgentCmd(), newImagesCmd(catalog), newDriverCmd())
	code := cli.Execute(ctx, root, os.Args[1:])
	stop()
	os.Exit(code)
}
