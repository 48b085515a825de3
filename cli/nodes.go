package cli

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/api/client"
	"github.com/hearthfn/hearth/cli/output"
)

func (a *app) nodesCmd() *cobra.Command {
	var (
		r      remote
		format output.Format
	)
	cmd := &cobra.Command{
		Use:     "nodes",
		Aliases: []string{"node"},
		Short:   "List the cluster's nodes; drain, undrain and remove them; make join tokens",
		Long: `A node runs function instances: the server's own (server --dev, --driver nomad) or a
hearth agent on a Docker host, which joins with a token from hearth node token create.
Without a subcommand, lists the nodes with their state, capacity and use.`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client(r)
			if err != nil {
				return err
			}
			ns, err := c.ListNodes(cmd.Context())
			if err != nil {
				return err
			}
			if format == output.JSON {
				if ns == nil {
					ns = []api.Node{}
				}
				return output.WriteJSON(cmd.OutOrStdout(), api.NodeList{Items: ns})
			}
			now := a.opts.Now()
			t := output.NewTable(cmd.OutOrStdout(), "id", "state", "address", "memory", "cpu", "instances", "labels", "last seen")
			for _, n := range ns {
				seen := "-"
				if !n.LastSeen.IsZero() {
					seen = output.Ago(now, n.LastSeen)
				}
				addr := n.Address
				if n.Local {
					addr = "(in the server)"
				}
				state := n.State
				if n.Problem != "" {
					state += " (" + n.Problem + ")"
				}
				t.Row(n.ID, state, addr, use(n.Reserved.MemoryMB, n.Capacity.MemoryMB, "MB"),
					use(n.Reserved.CPUMilli, n.Capacity.CPUMilli, "m"), instanceCounts(n.Instances), labels(n.Labels), seen)
			}
			return t.Flush()
		},
	}
	cmd.Flags().VarP(&format, "output", "o", "output format: text or json")
	r.addFlag(cmd)
	cmd.AddCommand(a.nodeDrainCmd(true), a.nodeDrainCmd(false), a.nodeRemoveCmd(), a.joinTokenCmd())
	return cmd
}

func (a *app) nodeDrainCmd(drain bool) *cobra.Command {
	use, short := "undrain NODE", "Let a drained node take new instances again"
	if drain {
		use, short = "drain NODE", "Stop placing instances on a node: idle ones stop now, busy ones after their calls"
	}
	return a.oneIDCmd(&cobra.Command{Use: use, Short: short}, "NODE", func(ctx context.Context, c *client.Client, id string) (string, error) {
		n, err := c.DrainNode(ctx, id, drain)
		return fmt.Sprintf("Node %s is %s", n.ID, n.State), err
	})
}

func (a *app) nodeRemoveCmd() *cobra.Command {
	return a.oneIDCmd(&cobra.Command{
		Use:     "remove NODE",
		Aliases: []string{"rm"},
		Short:   "Forget a node: its credential stops working and its instances leave the pool",
		Long: `Forget a node. Its agent is disconnected and its credential refused from then on; to
bring the machine back, join it again with a new token. Drain it first so that no call is cut off.`,
	}, "NODE", func(ctx context.Context, c *client.Client, id string) (string, error) {
		return "Removed node " + id, c.RemoveNode(ctx, id)
	})
}

func (a *app) joinTokenCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Make, list and revoke join tokens for hearth agent (admin)",
		Args:  exactArgs(),
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(a.joinTokenCreateCmd(), a.joinTokenListCmd(), a.joinTokenRevokeCmd())
	return cmd
}

func (a *app) joinTokenCreateCmd() *cobra.Command {
	var (
		r      remote
		req    api.JoinTokenRequest
		format output.Format
	)
	cmd := &cobra.Command{
		Use:   "create [--expires 30m] [--label k=v]...",
		Short: "Make a short-lived join token and print it (shown this once)",
		Long: `Make a join token: an agent exchanges it once for a credential of its own, so the token
need only live as long as it takes to start the agents (30 minutes unless --expires says
otherwise, 24 hours at most). It names the server's cluster CA, so the agent checks that it
talks to this server.`,
		Example: `  export HEARTH_JOIN_TOKEN=$(hearth node token create --expires 1h --label zone=a)
  hearth agent --server https://10.0.0.1:7947 --advertise-addr 10.0.0.2`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runJoinTokenCreate(cmd.Context(), cmd, r, req, format)
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.ExpiresIn, "expires", "", "how long the token may be used, such as 30m or 2h (default 30m, at most 24h)")
	f.StringToStringVar(&req.Labels, "label", nil, "a label every node joining with it gets, as key=value (repeatable)")
	f.VarP(&format, "output", "o", "output format: text or json")
	r.addFlag(cmd)
	return cmd
}

func (a *app) runJoinTokenCreate(ctx context.Context, cmd *cobra.Command, r remote, req api.JoinTokenRequest, format output.Format) error {
	c, err := a.client(r)
	if err != nil {
		return err
	}
	t, err := c.CreateJoinToken(ctx, req)
	if err != nil {
		return err
	}
	if format == output.JSON {
		return output.WriteJSON(cmd.OutOrStdout(), t)
	}
	fmt.Fprintln(cmd.OutOrStdout(), t.Token)
	fmt.Fprintf(cmd.ErrOrStderr(), "Join token %s expires %s. It is shown this once.\n",
		t.ID, t.ExpiresAt.Local().Format("2006-01-02 15:04 MST"))
	return nil
}

func (a *app) joinTokenListCmd() *cobra.Command {
	var (
		r      remote
		format output.Format
	)
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List join tokens (never their secrets)",
		Args:    exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client(r)
			if err != nil {
				return err
			}
			ts, err := c.ListJoinTokens(cmd.Context())
			if err != nil {
				return err
			}
			if format == output.JSON {
				if ts == nil {
					ts = []api.JoinToken{}
				}
				return output.WriteJSON(cmd.OutOrStdout(), api.JoinTokenList{Items: ts})
			}
			now := a.opts.Now()
			t := output.NewTable(cmd.OutOrStdout(), "id", "labels", "created", "expires")
			for _, tok := range ts {
				exp := tok.ExpiresAt.Local().Format("2006-01-02 15:04")
				switch {
				case tok.Revoked:
					exp += " (revoked)"
				case !now.Before(tok.ExpiresAt):
					exp += " (expired)"
				}
				t.Row(tok.ID, labels(tok.Labels), output.Ago(now, tok.CreatedAt), exp)
			}
			return t.Flush()
		},
	}
	cmd.Flags().VarP(&format, "output", "o", "output format: text or json")
	r.addFlag(cmd)
	return cmd
}

func (a *app) joinTokenRevokeCmd() *cobra.Command {
	return a.oneIDCmd(&cobra.Command{Use: "revoke ID", Short: "Revoke a join token: no agent may join with it from now on"}, "ID",
		func(ctx context.Context, c *client.Client, id string) (string, error) {
			return "Revoked join token " + id, c.RevokeJoinToken(ctx, id)
		})
}

// oneIDCmd completes cmd as a command that takes one id (named arg), does one thing with it
// through the API and prints what it did (run's message, unless it fails).
func (a *app) oneIDCmd(cmd *cobra.Command, arg string, run func(ctx context.Context, c *client.Client, id string) (string, error)) *cobra.Command {
	var r remote
	cmd.Args = exactArgs(arg)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		c, err := a.client(r)
		if err != nil {
			return err
		}
		msg, err := run(cmd.Context(), c, args[0])
		if err != nil {
			return err
		}
		fmt.Fprintln(cmd.OutOrStdout(), msg)
		return nil
	}
	r.addFlag(cmd)
	return cmd
}

// use shows what is reserved of a capacity: "512/2048MB", or "512MB" when unlimited.
func use(reserved, capacity int64, unit string) string {
	if capacity <= 0 {
		return fmt.Sprintf("%d%s", reserved, unit)
	}
	return fmt.Sprintf("%d/%d%s", reserved, capacity, unit)
}

// instanceCounts shows instances by state: "2 ready, 1 paused", or "-".
func instanceCounts(m map[string]int) string {
	var parts []string
	for st, n := range m {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, st))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// labels shows labels as k=v,k=v sorted, or "-".
func labels(m map[string]string) string {
	if len(m) == 0 {
		return "-"
	}
	parts := make([]string, 0, len(m))
	for k, v := range m {
		parts = append(parts, k+"="+v)
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}
