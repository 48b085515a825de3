package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/api/client"
	"github.com/hearthfn/hearth/cli/output"
)

func (a *app) tokenCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Make, list and revoke API tokens (admin)",
		Long: `API tokens say who may do what through the server's API. Each has a role:

  admin     everything, tokens included
  deployer  deploy, configure, delete and call its functions; read their calls and logs
  invoker   call its functions; read those calls and async results
  viewer    read functions, versions, calls, logs and metrics

and may be limited to some functions (--function, repeatable) and to a lifetime (--expires).
A function is private unless its func.yaml says public: true; calling a private one needs a
token with the role invoker (or deployer, admin) that covers it.`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(a.tokenCreateCmd(), a.tokenListCmd(), a.tokenRevokeCmd())
	return cmd
}

func (a *app) tokenCreateCmd() *cobra.Command {
	var (
		r      remote
		req    api.TokenRequest
		role   string
		format output.Format
	)
	cmd := &cobra.Command{
		Use:   "create --role ROLE [--function NAME]... [--expires 30d] [--name TEXT]",
		Short: "Make a token and print it (shown this once)",
		Long: `Make an API token and print it on stdout: the server keeps only its hash, so it cannot be
shown again. Keep it like a password; revoke it with hearth token revoke ID.`,
		Example: `  hearth token create --role invoker --function hello --expires 30d --name "shop frontend"
  export HEARTH_TOKEN=$(hearth token create --role deployer --function hello)`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			req.Role = api.Role(role)
			return a.runTokenCreate(cmd.Context(), cmd, r, req, format)
		},
	}
	f := cmd.Flags()
	f.StringVar(&role, "role", "", "admin, deployer, invoker or viewer (required)")
	f.StringSliceVar(&req.Functions, "function", nil, "limit the token to this function (repeatable; default: every function)")
	f.StringVar(&req.ExpiresIn, "expires", "", "lifetime, such as 30d or 12h (default: never expires)")
	f.StringVar(&req.Name, "name", "", "what the token is for, shown by hearth token list")
	f.VarP(&format, "output", "o", "output format: text or json")
	_ = cmd.MarkFlagRequired("role")
	_ = cmd.RegisterFlagCompletionFunc("role", completeRole())
	_ = cmd.RegisterFlagCompletionFunc("function", a.completeFunctionFlag)
	r.addFlag(cmd)
	return cmd
}

func (a *app) runTokenCreate(ctx context.Context, cmd *cobra.Command, r remote, req api.TokenRequest, format output.Format) error {
	c, err := a.client(r)
	if err != nil {
		return err
	}
	t, err := c.CreateToken(ctx, req)
	if err != nil {
		return err
	}
	if format == output.JSON {
		return output.WriteJSON(cmd.OutOrStdout(), t)
	}
	// The token alone on stdout, so that T=$(hearth token create ...) works; the rest is a note.
	fmt.Fprintln(cmd.OutOrStdout(), t.Secret)
	fmt.Fprintf(cmd.ErrOrStderr(), "Token %s: %s, %s, %s. It is shown this once: keep it safe.\n",
		t.ID, t.Role, scope(t.Token), expiry(t.Token))
	return nil
}

func (a *app) tokenListCmd() *cobra.Command {
	var (
		r      remote
		format output.Format
	)
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List tokens (never their secrets)",
		Args:    exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client(r)
			if err != nil {
				return err
			}
			ts, err := c.ListTokens(cmd.Context())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if format == output.JSON {
				if ts == nil {
					ts = []api.Token{}
				}
				return output.WriteJSON(out, api.TokenList{Items: ts})
			}
			now := a.opts.Now()
			t := output.NewTable(out, "id", "role", "functions", "name", "created", "expires", "last used")
			for _, tok := range ts {
				last := "never"
				if !tok.LastUsedAt.IsZero() {
					last = output.Ago(now, tok.LastUsedAt)
				}
				exp := "never"
				if !tok.ExpiresAt.IsZero() {
					exp = tok.ExpiresAt.Local().Format("2006-01-02 15:04")
					if !now.Before(tok.ExpiresAt) {
						exp += " (expired)"
					}
				}
				t.Row(tok.ID, tok.Role, scope(tok), tok.Name, output.Ago(now, tok.CreatedAt), exp, last)
			}
			return t.Flush()
		},
	}
	cmd.Flags().VarP(&format, "output", "o", "output format: text or json")
	r.addFlag(cmd)
	return cmd
}

func (a *app) tokenRevokeCmd() *cobra.Command {
	return a.oneIDCmd(&cobra.Command{Use: "revoke ID", Short: "Revoke a token: it stops working at once"}, "ID",
		func(ctx context.Context, c *client.Client, id string) (string, error) {
			return "Revoked token " + id, c.RevokeToken(ctx, id)
		})
}

// scope says which functions a token covers.
func scope(t api.Token) string {
	if len(t.Functions) == 0 {
		return "every function"
	}
	return strings.Join(t.Functions, ",")
}

func expiry(t api.Token) string {
	if t.ExpiresAt.IsZero() {
		return "never expires"
	}
	return "expires " + t.ExpiresAt.Local().Format("2006-01-02 15:04 MST")
}
