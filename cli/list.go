package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/cli/output"
)

func (a *app) listCmd() *cobra.Command {
	var (
		r      remote
		format output.Format
	)
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List deployed functions",
		Args:    exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runList(cmd.Context(), cmd, r, format)
		},
	}
	cmd.Flags().VarP(&format, "output", "o", "output format: text or json")
	r.addFlag(cmd)
	return cmd
}

func (a *app) runList(ctx context.Context, cmd *cobra.Command, r remote, format output.Format) error {
	c, err := a.client(r)
	if err != nil {
		return err
	}
	fns, err := c.ListFunctions(ctx)
	if err != nil {
		return err
	}
	// The client follows the server's pages, sorted by name; an older server promised no
	// order, and a sorted list reads the same on every run.
	slices.SortFunc(fns, func(x, y api.Function) int { return strings.Compare(x.Name, y.Name) })
	out := cmd.OutOrStdout()
	if format == output.JSON {
		if fns == nil {
			fns = []api.Function{}
		}
		return output.WriteJSON(out, api.FunctionList{Items: fns})
	}
	if len(fns) == 0 {
		fmt.Fprintln(cmd.ErrOrStderr(), "No functions deployed yet. Create one with: hearth init --runtime RUNTIME NAME")
		return nil
	}
	t := output.NewTable(out, "name", "version", "runtime", "image", "updated")
	now := a.opts.Now()
	for _, f := range fns {
		t.Row(f.Name, f.Version.Number, f.Version.Spec.Runtime, f.Version.Image, output.Ago(now, f.UpdatedAt))
	}
	return t.Flush()
}
