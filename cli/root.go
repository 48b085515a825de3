package cli

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hearthfn/hearth/api/client"
)

// NewRoot returns the root "hearth" command with the client commands attached. The caller may
// add more commands (server, agent) with AddCommand before running it through Execute.
func NewRoot(opts Options) *cobra.Command {
	a := &app{opts: opts.withDefaults()}
	root := &cobra.Command{
		Use:   "hearth",
		Short: "Run functions as containers on your own machines",
		Long: `hearth runs functions as containers on your own machines.

Write a handler, deploy it, and call it over HTTP:

  hearth init --runtime go hello
  cd hello && hearth deploy
  hearth invoke hello -d '{"name":"world"}'

The client commands talk to the server at $HEARTH_API (default: the server of the last
hearth login, else ` + DefaultAPI + `); --api overrides it for one command. They send the
token in $HEARTH_TOKEN, else the one hearth login saved for that server, else, for a server
on this machine, the admin token it wrote at its first start ($HEARTH_DATA_DIR/admin-token,
default ~/.hearth/admin-token).`,
		Version: a.opts.Version,
		// Execute prints errors (and usage only when the arguments were wrong), so cobra
		// must print neither.
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          rootArgs,
		// Cobra applies its default distance only on its own unknown-command path, which
		// rootArgs replaces.
		SuggestionsMinimumDistance: 2,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
	}
	root.SetOut(a.opts.Stdout)
	root.SetErr(a.opts.Stderr)
	if a.opts.Stdin != nil {
		root.SetIn(a.opts.Stdin)
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &usageError{err: err}
	})
	root.AddCommand(
		a.initCmd(),
		a.deployCmd(),
		a.invokeCmd(),
		a.callsCmd(),
		a.triggersCmd(),
		a.listCmd(),
		a.inspectCmd(),
		a.logsCmd(),
		a.configCmd(),
		a.deleteCmd(),
		a.versionsCmd(),
		a.rollbackCmd(),
		a.aliasCmd(),
		a.versionCmd(),
		a.runtimesCmd(),
		a.tokenCmd(),
		a.nodesCmd(),
		a.loginCmd(),
		a.logoutCmd(),
		a.secretCmd(),
	)
	addCompletion(root)
	return root
}

// app is what every command shares: the options, with their defaults filled in.
type app struct {
	opts Options
	// verboseBuild is deploy's --verbose: the build's whole log rather than one line per step.
	verboseBuild bool
}

// path resolves p against Options.Dir.
func (a *app) path(p string) string {
	if a.opts.Dir == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(a.opts.Dir, p)
}

// remote is the --api flag of a command that talks to the server.
type remote struct {
	api string
}

// addFlag registers --api on cmd. Each client command has its own flag rather than a
// persistent one on the root, so that commands added by cmd/hearth (server, agent) do not
// show a flag that means nothing to them.
func (r *remote) addFlag(cmd *cobra.Command) {
	cmd.Flags().StringVar(&r.api, "api", "", "hearth server URL (default $HEARTH_API, else "+DefaultAPI+")")
}

// client returns an API client for the server chosen by --api, else HEARTH_API, else the
// server of the last hearth login, else DefaultAPI, with the token for it (see token).
func (a *app) client(r remote, extra ...client.Option) (*client.Client, error) {
	creds, err := a.loadCredentials()
	if err != nil {
		return nil, err
	}
	u, source := r.api, "--api"
	if u == "" {
		u, source = a.opts.Getenv("HEARTH_API"), "HEARTH_API"
	}
	if u == "" {
		u, source = creds.Current, "the server of hearth login"
	}
	if u == "" {
		u, source = DefaultAPI, "the default server URL"
	}
	if tok, _ := a.token(u, creds); tok != "" {
		extra = append([]client.Option{client.WithToken(tok)}, extra...)
	}
	c, err := client.New(u, a.clientOpts(extra...)...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	return c, nil
}

// clientOpts returns the options every API client of the CLI gets, then extra.
func (a *app) clientOpts(extra ...client.Option) []client.Option {
	opts := []client.Option{client.WithWarnings(a.serverWarning)}
	if a.opts.HTTPClient != nil {
		opts = append(opts, client.WithHTTPClient(a.opts.HTTPClient))
	}
	return append(opts, extra...)
}

// rootArgs rejects an unknown command. Cobra's own check does the same but returns an error
// that Execute could not tell from a failure of a command.
func rootArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += fmt.Sprintf(": did you mean %q?", s[0])
	}
	return usageErrorf("%s", msg)
}

// exactArgs accepts exactly the named positional arguments, and says which are missing or
// extra in the words of the command's usage line.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) < len(names):
			return usageErrorf("%s needs %s", cmd.CommandPath(), strings.Join(names[len(args):], " "))
		case len(args) > len(names):
			return usageErrorf("%s takes %d argument(s), got extra %q", cmd.CommandPath(), len(names), strings.Join(args[len(names):], " "))
		}
		return nil
	}
}
