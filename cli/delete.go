package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
)

func (a *app) deleteCmd() *cobra.Command {
	var r remote
	cmd := &cobra.Command{
		Use:     "delete NAME",
		Aliases: []string{"rm"},
		Short:   "Delete a function and stop its instances",
		Args:    exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runDelete(cmd.Context(), cmd, r, args[0])
		},
	}
	cmd.ValidArgsFunction = a.completeFunctionArg
	r.addFlag(cmd)
	return cmd
}

func (a *app) runDelete(ctx context.Context, cmd *cobra.Command, r remote, name string) error {
	c, err := a.client(r)
	if err != nil {
		return err
	}
	if err := c.DeleteFunction(ctx, name); err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "Deleted %s\n", name)
	return nil
}
