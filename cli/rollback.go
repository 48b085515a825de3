package cli

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/hearthfn/hearth/cli/output"
)

func (a *app) rollbackCmd() *cobra.Command {
	var (
		r      remote
		format output.Format
	)
	cmd := &cobra.Command{
		Use:   "rollback NAME [VERSION]",
		Short: "Make an earlier version of a function current again",
		Long: `Make VERSION of the function NAME its current version again, or without VERSION the
version before the current one. No new version is made: "hearth versions" shows the same
numbers with another one current. The rollout is a deploy's: calls in flight on the version
that was current finish first, and new calls go to VERSION.

A later deploy makes a new version, numbered past the newest, and current.`,
		Example: `  hearth rollback hello       # back to the version before the current one
  hearth rollback hello 3`,
		Args: func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) == 0:
				return usageErrorf("%s needs NAME", cmd.CommandPath())
			case len(args) > 2:
				return usageErrorf("%s takes NAME and at most one VERSION, got extra %q", cmd.CommandPath(), args[2])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			version := 0
			if len(args) == 2 {
				n, err := strconv.Atoi(args[1])
				if err != nil || n < 1 {
					return usageErrorf("VERSION must be a version number such as 3 (hearth versions %s), got %q", args[0], args[1])
				}
				version = n
			}
			return a.runRollback(cmd.Context(), cmd, r, args[0], version, format)
		},
	}
	cmd.Flags().VarP(&format, "output", "o", "output format: text or json")
	cmd.ValidArgsFunction = a.completeFunctionArg
	r.addFlag(cmd)
	return cmd
}

func (a *app) runRollback(ctx context.Context, cmd *cobra.Command, r remote, name string, version int, format output.Format) error {
	c, err := a.client(r)
	if err != nil {
		return err
	}
	before, err := c.GetFunction(ctx, name)
	if err != nil {
		return err
	}
	fn, err := c.Rollback(ctx, name, version)
	if err != nil {
		return err
	}
	if format == output.JSON {
		return output.WriteJSON(cmd.OutOrStdout(), fn)
	}
	was := before.Version.Number
	fmt.Fprintf(cmd.OutOrStdout(), "%s: version %d is current again (was %d); instances of %d drain after their calls\n",
		name, fn.Version.Number, was, was)
	if fn.DefaultAlias != "" {
		fmt.Fprintf(cmd.ErrOrStderr(), "Note: /invoke/%s follows the alias %s, which this does not change (hearth alias list %s)\n",
			name, fn.DefaultAlias, name)
	}
	return nil
}
