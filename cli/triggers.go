package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/cli/output"
)

func (a *app) triggersCmd() *cobra.Command {
	var (
		r      remote
		format output.Format
	)
	cmd := &cobra.Command{
		Use:   "triggers NAME",
		Short: "List a function's cron triggers with their next and last firings",
		Long: `List the cron triggers of the function NAME, as its current version's func.yaml declares
them: each trigger's schedule and timezone, when it fires next, when it last fired, and that
firing's call and its status now.

Every firing is an async call with a record ("hearth calls NAME" lists them, marked in
"hearth calls get ID" and -o json by "trigger": "cron/NAME"). A server that was down when
times came fires once for all of them when it starts, and marks that call
"cron/NAME (catch-up of N)". docs/user/triggers.md has the details.`,
		Example: `  hearth triggers hello
  hearth triggers hello -o json`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runTriggers(cmd.Context(), cmd, args[0], r, format)
		},
	}
	cmd.Flags().VarP(&format, "output", "o", "output format: text or json")
	cmd.ValidArgsFunction = a.completeFunctionArg
	r.addFlag(cmd)
	return cmd
}

func (a *app) runTriggers(ctx context.Context, cmd *cobra.Command, name string, r remote, format output.Format) error {
	c, err := a.client(r)
	if err != nil {
		return err
	}
	ts, err := c.ListTriggers(ctx, name)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if format == output.JSON {
		if ts == nil {
			ts = []api.TriggerStatus{}
		}
		return output.WriteJSON(out, api.TriggerList{Items: ts})
	}
	if len(ts) == 0 {
		fmt.Fprintf(cmd.ErrOrStderr(), "%s has no cron triggers. Add some to its func.yaml (triggers: [{type: cron, schedule: \"*/5 * * * *\"}]) and deploy it.\n", name)
		return nil
	}
	t := output.NewTable(out, "name", "schedule", "timezone", "next", "last fired", "last call", "status")
	now := a.opts.Now()
	for _, tr := range ts {
		t.Row(tr.Name, tr.Schedule, tr.Timezone, nextFiring(now, tr.Next, tr.Timezone), output.Ago(now, tr.LastFired),
			orDash(tr.LastCallID), orDash(string(tr.LastStatus)))
	}
	return t.Flush()
}

// nextFiring shows a trigger's next time in its own timezone and how far off it is:
// "2030-01-07 10:05:00 CET (in 3m)". A time already past is about to fire: "due now".
func nextFiring(now, next time.Time, timezone string) string {
	if next.IsZero() {
		return "due now"
	}
	// JSON keeps the offset, not the zone's name: read the time in the zone again.
	if loc, err := time.LoadLocation(timezone); err == nil {
		next = next.In(loc)
	}
	s := next.Format("2006-01-02 15:04:05 MST")
	d := next.Sub(now)
	switch {
	case d <= 0:
		return s + " (due now)"
	case d < time.Minute:
		return fmt.Sprintf("%s (in %ds)", s, int(d.Round(time.Second)/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%s (in %dm)", s, int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%s (in %dh)", s, int(d/time.Hour))
	}
	return fmt.Sprintf("%s (in %dd)", s, int(d/(24*time.Hour)))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
