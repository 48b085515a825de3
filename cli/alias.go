package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/cli/output"
)

func (a *app) aliasCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "alias",
		Short: "Route a function's calls to versions by weight, under a name",
		Long: `An alias is a named route to one or more versions of a function, each taking a share of
the calls: with "hearth alias set hello live 3=90 4=10", calls to /invoke/hello@live go to
version 3 nine times in ten and to version 4 once, for a gradual rollout. Raise the new
version's share with another "alias set", and finish with "alias set hello live 4".

/invoke/hello follows the current version unless the function has a default alias
("alias set --default" or "alias default"). A version number pins one: /invoke/hello@3.
Every call records its version and alias: "hearth calls hello --version 4".

Names: a lowercase letter, then up to 31 lowercase letters, digits and '-'. An alias routes
to 1 to 5 versions; the weights add up to 100.`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(a.aliasSetCmd(), a.aliasListCmd(), a.aliasRmCmd(), a.aliasDefaultCmd())
	return cmd
}

func (a *app) aliasSetCmd() *cobra.Command {
	var (
		r           remote
		makeDefault bool
	)
	cmd := &cobra.Command{
		Use:   "set NAME ALIAS VERSION=WEIGHT...",
		Short: "Create or change an alias: which versions it calls, with what share",
		Long: `Create the alias ALIAS of the function NAME, or change it, to send each version its
share of the calls: "3=90 4=10" gives version 3 90% and version 4 10%. A version alone, "4",
takes every call. The weights add up to 100; the versions must exist (hearth versions NAME).

With --default, /invoke/NAME follows the alias too.`,
		Example: `  hearth alias set hello live 3=90 4=10
  hearth alias set hello live 4 --default`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 3 {
				return usageErrorf("%s needs %s", cmd.CommandPath(), strings.Join([]string{"NAME", "ALIAS", "VERSION=WEIGHT..."}[len(args):], " "))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			// Bad values are one line, as the server would say them; no usage text.
			if err := api.ValidateAliasName(args[1]); err != nil {
				return err
			}
			ws, err := parseWeights(args[2:])
			if err != nil {
				return err
			}
			return a.runAliasSet(cmd.Context(), cmd, r, args[0], args[1], ws, makeDefault)
		},
	}
	cmd.Flags().BoolVar(&makeDefault, "default", false, "make /invoke/NAME follow this alias too")
	cmd.ValidArgsFunction = a.completeFunctionArg
	r.addFlag(cmd)
	return cmd
}

// parseWeights reads "3=90 4=10", or one "3" for all the calls, and checks the weights as the
// server would.
func parseWeights(args []string) ([]api.AliasWeight, error) {
	var ws []api.AliasWeight
	for _, arg := range args {
		v, w, hasWeight := strings.Cut(arg, "=")
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, fmt.Errorf("%q: give VERSION=WEIGHT, such as 3=90, or one VERSION alone for every call", arg)
		}
		weight := 100
		if hasWeight {
			if weight, err = strconv.Atoi(w); err != nil {
				return nil, fmt.Errorf("%q: the weight must be a whole number from 0 to 100, such as 3=90", arg)
			}
		} else if len(args) > 1 {
			return nil, fmt.Errorf("%q has no weight: with several versions, give each one's share, such as 3=90 4=10", arg)
		}
		ws = append(ws, api.AliasWeight{Version: n, Weight: weight})
	}
	if err := api.ValidateWeights(ws); err != nil {
		return nil, err
	}
	return ws, nil
}

func (a *app) runAliasSet(ctx context.Context, cmd *cobra.Command, r remote, name, alias string, ws []api.AliasWeight, makeDefault bool) error {
	c, err := a.client(r)
	if err != nil {
		return err
	}
	set, err := c.SetAlias(ctx, name, alias, ws)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "%s@%s: %s\n", name, alias, describeWeights(set.Weights))
	if makeDefault {
		if _, err := c.SetDefaultAlias(ctx, name, alias); err != nil {
			return err
		}
		fmt.Fprintf(out, "/invoke/%s follows %s\n", name, alias)
	}
	return nil
}

// describeWeights says where an alias sends its calls: "version 3 90%, version 4 10%".
func describeWeights(ws []api.AliasWeight) string {
	parts := make([]string, len(ws))
	for i, w := range ws {
		parts[i] = fmt.Sprintf("version %d %d%%", w.Version, w.Weight)
	}
	return strings.Join(parts, ", ")
}

func (a *app) aliasListCmd() *cobra.Command {
	var (
		r      remote
		format output.Format
	)
	cmd := &cobra.Command{
		Use:     "list NAME",
		Aliases: []string{"ls"},
		Short:   "List a function's aliases and their weights",
		Example: "  hearth alias list hello",
		Args:    exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client(r)
			if err != nil {
				return err
			}
			as, err := c.ListAliases(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if format == output.JSON {
				if as == nil {
					as = []api.Alias{}
				}
				return output.WriteJSON(out, api.AliasList{Items: as})
			}
			if len(as) == 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "%s has no aliases. Make one with: hearth alias set %s live VERSION\n", args[0], args[0])
				return nil
			}
			t := output.NewTable(out, "alias", "weights", "default", "updated")
			now := a.opts.Now()
			for _, al := range as {
				def := ""
				if al.Default {
					def = "*"
				}
				t.Row(al.Name, api.FormatWeights(al.Weights), def, output.Ago(now, al.UpdatedAt))
			}
			return t.Flush()
		},
	}
	cmd.Flags().VarP(&format, "output", "o", "output format: text or json")
	cmd.ValidArgsFunction = a.completeFunctionArg
	r.addFlag(cmd)
	return cmd
}

func (a *app) aliasRmCmd() *cobra.Command {
	var r remote
	cmd := &cobra.Command{
		Use:     "rm NAME ALIAS",
		Aliases: []string{"delete"},
		Short:   "Remove an alias",
		Long: `Remove the alias ALIAS of the function NAME; calls to NAME@ALIAS get 404 after. The
default alias cannot be removed while it is the default: clear it first with
"hearth alias default NAME --clear".`,
		Example: "  hearth alias rm hello beta",
		Args:    exactArgs("NAME", "ALIAS"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client(r)
			if err != nil {
				return err
			}
			if err := c.DeleteAlias(cmd.Context(), args[0], args[1]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Removed %s@%s\n", args[0], args[1])
			return nil
		},
	}
	cmd.ValidArgsFunction = a.completeFunctionArg
	r.addFlag(cmd)
	return cmd
}

func (a *app) aliasDefaultCmd() *cobra.Command {
	var (
		r            remote
		clearDefault bool
	)
	cmd := &cobra.Command{
		Use:   "default NAME [ALIAS]",
		Short: "Make /invoke/NAME follow an alias, or the current version again",
		Long: `Make calls to /invoke/NAME follow the alias ALIAS, as /invoke/NAME@ALIAS does; with
--clear, /invoke/NAME calls the current version again.`,
		Example: `  hearth alias default hello live
  hearth alias default hello --clear`,
		Args: func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) == 0:
				return usageErrorf("%s needs NAME and ALIAS, or NAME and --clear", cmd.CommandPath())
			case len(args) == 1 && !clearDefault:
				return usageErrorf("%s needs ALIAS, or --clear to call the current version again", cmd.CommandPath())
			case len(args) == 2 && clearDefault:
				return usageErrorf("give either ALIAS or --clear, not both")
			case len(args) > 2:
				return usageErrorf("%s takes NAME and ALIAS, got extra %q", cmd.CommandPath(), strings.Join(args[2:], " "))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			alias := ""
			if len(args) == 2 {
				alias = args[1]
			}
			c, err := a.client(r)
			if err != nil {
				return err
			}
			fn, err := c.SetDefaultAlias(cmd.Context(), args[0], alias)
			if err != nil {
				return err
			}
			if alias == "" {
				fmt.Fprintf(cmd.OutOrStdout(), "/invoke/%s calls the current version (%d)\n", fn.Name, fn.Version.Number)
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "/invoke/%s follows %s\n", fn.Name, alias)
			return nil
		},
	}
	cmd.Flags().BoolVar(&clearDefault, "clear", false, "call the current version again")
	cmd.ValidArgsFunction = a.completeFunctionArg
	r.addFlag(cmd)
	return cmd
}

// aliasesField sums up a function's aliases for inspect: "live 3=90 4=10 (default), beta 4=100".
func aliasesField(f api.Function) string {
	parts := make([]string, 0, len(f.Aliases))
	for _, al := range f.Aliases {
		p := al.Name + " " + api.FormatWeights(al.Weights)
		if al.Default || al.Name == f.DefaultAlias {
			p += " (default: /invoke/" + f.Name + " follows it)"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, ", ")
}
