package cli

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/cli/output"
)

func (a *app) versionsCmd() *cobra.Command {
	var (
		r      remote
		format output.Format
	)
	cmd := &cobra.Command{
		Use:   "versions NAME",
		Short: "List a function's versions, the current one and the aliases on each",
		Long: `List the versions of the function NAME, newest first. Every deploy, and every settings
change (hearth config), adds a version; numbers only grow and versions are never deleted.

CURRENT marks the version /invoke/NAME calls (unless the function has a default alias):
the newest, until "hearth rollback" makes an earlier one current again. ALIASES names the
aliases that send calls to the version (hearth alias). LABEL is func.yaml's own "version".`,
		Example: `  hearth versions hello
  hearth versions hello -o json`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runVersions(cmd.Context(), cmd, r, args[0], format)
		},
	}
	cmd.Flags().VarP(&format, "output", "o", "output format: text or json")
	cmd.ValidArgsFunction = a.completeFunctionArg
	r.addFlag(cmd)
	return cmd
}

func (a *app) runVersions(ctx context.Context, cmd *cobra.Command, r remote, name string, format output.Format) error {
	c, err := a.client(r)
	if err != nil {
		return err
	}
	vs, err := c.ListVersions(ctx, name)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if format == output.JSON {
		if vs == nil {
			vs = []api.Version{}
		}
		return output.WriteJSON(out, api.VersionList{Items: vs})
	}
	t := output.NewTable(out, "version", "current", "aliases", "image", "created", "label")
	now := a.opts.Now()
	for _, v := range vs {
		current := ""
		if v.Current {
			current = "*"
		}
		t.Row(v.Number, current, strings.Join(v.Aliases, ","), v.Image, output.Ago(now, v.CreatedAt), v.Spec.Label)
	}
	return t.Flush()
}
