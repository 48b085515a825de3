package cli

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/cli/output"
)

func (a *app) inspectCmd() *cobra.Command {
	var (
		r      remote
		format output.Format
	)
	cmd := &cobra.Command{
		Use:   "inspect NAME",
		Short: "Show a function's configuration, its cost and its instances",
		Args:  exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runInspect(cmd.Context(), cmd, r, args[0], format)
		},
	}
	cmd.Flags().VarP(&format, "output", "o", "output format: text or json")
	cmd.ValidArgsFunction = a.completeFunctionArg
	r.addFlag(cmd)
	return cmd
}

func (a *app) runInspect(ctx context.Context, cmd *cobra.Command, r remote, name string, format output.Format) error {
	c, err := a.client(r)
	if err != nil {
		return err
	}
	f, err := c.GetFunction(ctx, name)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if format == output.JSON {
		return output.WriteJSON(out, f)
	}
	now := a.opts.Now()
	if err := output.WriteFields(out, functionFields(f, c.InvokeURL(f.Name), now)); err != nil {
		return err
	}
	if err := writeCost(out, f.Cost, now); err != nil {
		return err
	}
	return writeInstances(out, f.Pool, now)
}

// functionFields describes f for people. The spec is shown with the server's defaults filled
// in, since those are the values the function runs with.
func functionFields(f api.Function, url string, now time.Time) []output.Field {
	s := f.Version.Spec.WithDefaults()
	version := strconv.Itoa(f.Version.Number)
	if s.Label != "" {
		version += " (" + s.Label + ")"
	}
	cpu := "no limit"
	if s.CPUMilli > 0 {
		cpu = api.FormatCPU(s.CPUMilli)
	}
	fields := []output.Field{
		{Name: "Name", Value: f.Name},
		{Name: "Version", Value: version},
		{Name: "Runtime", Value: s.Runtime},
		{Name: "Handler", Value: s.Handler},
		{Name: "Image", Value: f.Version.Image},
		{Name: "URL", Value: url},
		{Name: "Aliases", Value: aliasesField(f)},
		{Name: "Memory", Value: fmt.Sprintf("%d MB", s.MemoryMB)},
		{Name: "CPU", Value: cpu},
		{Name: "Timeout", Value: s.Timeout.String()},
		{Name: "Idle timeout", Value: s.IdleTimeout.String()},
		{Name: "Pause timeout", Value: s.PauseTimeout.String()},
		{Name: "Concurrency", Value: strconv.Itoa(s.Concurrency)},
		{Name: "Instances", Value: fmt.Sprintf("min %d, max %d", s.MinInstances, s.MaxInstances)},
		{Name: "Queue", Value: strconv.Itoa(s.Queue)},
		{Name: "Access", Value: access(s)},
		{Name: "Confinement", Value: confinement(s)},
		// Only the keys: values are often secrets, and inspect output ends up in tickets.
		{Name: "Env", Value: strings.Join(slices.Sorted(maps.Keys(s.Env)), ", ")},
		{Name: "Secrets", Value: secretsField(f.Secrets, s.SecretsAs)},
		{Name: "Created", Value: timeAndAge(f.CreatedAt, now)},
		{Name: "Updated", Value: timeAndAge(f.UpdatedAt, now)},
	}
	return fields
}

// access says who may call the function.
func access(s api.FunctionSpec) string {
	if s.Public {
		return "public: anyone may call it"
	}
	return "private: a token covering it is needed"
}

// confinement sums up how the function's instances are hardened, the defaults filled in.
func confinement(s api.FunctionSpec) string {
	user := s.User
	if user == "" {
		user = api.DefaultUser + " (or the image's non-root USER, on Docker)"
	}
	root := "read-only root"
	if s.WritableRoot {
		root = "writable root"
	}
	caps := "no capabilities"
	if len(s.CapAdd) > 0 {
		caps = "capabilities " + strings.Join(s.CapAdd, ",")
	}
	network := "network with outbound"
	if s.Network == api.NetworkNone {
		network = "no network out"
	}
	return fmt.Sprintf("user %s, %s, %s, /tmp %d MB, %d pids, %d files, %s",
		user, caps, root, s.TmpSizeMB, s.PidsLimit, s.NoFile, network)
}

func timeAndAge(t, now time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339) + " (" + output.Ago(now, t) + ")"
}

// writeInstances writes the pool's instances as a table after a blank line. State is the
// pool's: starting, ready, busy, pausing, paused, resuming or draining; "paused" says since
// when an instance has been paused ("-" when it is not). Node and placement say where the
// instance runs and why the placer chose that node.
func writeInstances(w io.Writer, p *api.PoolStatus, now time.Time) error {
	if p == nil || len(p.Instances) == 0 {
		_, err := fmt.Fprintln(w, "\nNo instances running.")
		return err
	}
	fmt.Fprintln(w)
	t := output.NewTable(w, "instance", "version", "state", "in flight", "last used", "paused", "started", "endpoint", "node", "placement")
	for _, i := range p.Instances {
		t.Row(i.ID, i.Version, i.State, i.InFlight, output.Ago(now, i.LastUsed), output.Ago(now, i.PausedAt),
			output.Ago(now, i.StartedAt), i.Endpoint, dash(i.Node), dash(i.Placement))
	}
	return t.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
