package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/api/client"
	"github.com/hearthfn/hearth/cli/output"
)

// versionTimeout bounds the server query of "hearth version": the command is mostly asked
// for the client's version and must not hang on an unreachable server.
const versionTimeout = 5 * time.Second

// versionInfo is the -o json shape of "hearth version".
type versionInfo struct {
	Client string `json:"client"`
	// Server is empty when the server could not be asked.
	Server string `json:"server,omitempty"`
}

func (a *app) versionCmd() *cobra.Command {
	var (
		r      remote
		format output.Format
	)
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Show the client's version and, when it answers, the server's",
		Args:  exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runVersion(cmd.Context(), cmd, r, format)
		},
	}
	cmd.Flags().VarP(&format, "output", "o", "output format: text or json")
	r.addFlag(cmd)
	return cmd
}

// runVersion never fails because of the server: an unreachable or broken server is reported
// as a note on stderr, since the client's version is still worth printing.
func (a *app) runVersion(ctx context.Context, cmd *cobra.Command, r remote, format output.Format) error {
	v := versionInfo{Client: a.opts.Version}
	c, err := a.client(r, client.WithTimeout(versionTimeout))
	if err == nil {
		var info api.Info
		if info, err = c.Info(ctx); err == nil {
			v.Server = info.Version
		}
	}
	if err != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "Note: no server version: %v\n", err)
	}
	out := cmd.OutOrStdout()
	if format == output.JSON {
		return output.WriteJSON(out, v)
	}
	server := v.Server
	if server == "" {
		server = "unknown"
	}
	return output.WriteFields(out, []output.Field{{Name: "Client", Value: v.Client}, {Name: "Server", Value: server}})
}
