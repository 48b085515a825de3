package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/api/client"
	"github.com/hearthfn/hearth/cli/output"
)

// callsFlags are the flags of "hearth calls".
type callsFlags struct {
	r      remote
	format output.Format
	status string
	limit  int
	before string
	// version keeps the calls one version served (0: all).
	version int
}

func (a *app) callsCmd() *cobra.Command {
	var f callsFlags
	cmd := &cobra.Command{
		Use:   "calls [NAME]",
		Short: "List recent calls, sync and async, newest first",
		Long: `List the recorded calls of every function, or of the function NAME, newest first.

Every call is recorded, sync or async: its function and version, status, the HTTP status it
answered, whether it waited for a new or resumed instance (COLD), when it started, how long it
took and its error. "hearth calls get ID" shows one call, with an async call's result.

Statuses: queued, running, succeeded, failed, timed_out, error, canceled. A full page ends with
the flag that shows the next one. To list the calls of a function called "get", write
"hearth calls -- get".`,
		Example: `  hearth calls
  hearth calls hello --status failed
  hearth calls hello --version 4
  hearth calls hello --limit 100 --before 3f2a9c...`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usageErrorf("%s takes at most one function name, got %q", cmd.CommandPath(), strings.Join(args, " "))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			if f.limit < 1 || f.limit > 1000 {
				return usageErrorf("--limit must be from 1 to 1000, got %d", f.limit)
			}
			if f.version < 0 || (f.version > 0 && name == "") {
				return usageErrorf("--version needs a function: hearth calls NAME --version N")
			}
			return a.runCalls(cmd.Context(), cmd, name, f)
		},
	}
	fl := cmd.Flags()
	fl.VarP(&f.format, "output", "o", "output format: text or json")
	fl.StringVar(&f.status, "status", "", "only calls with this status (queued, running, succeeded, failed, timed_out, error, canceled)")
	fl.IntVar(&f.limit, "limit", 50, "how many calls to list, at most 1000")
	fl.StringVar(&f.before, "before", "", "only calls older than this call id (the next page)")
	fl.IntVar(&f.version, "version", 0, "only calls that version N of the function served")
	cmd.ValidArgsFunction = a.completeFunctionArg
	_ = cmd.RegisterFlagCompletionFunc("status", completeCallStatus())
	f.r.addFlag(cmd)
	cmd.AddCommand(a.callGetCmd())
	return cmd
}

func (a *app) runCalls(ctx context.Context, cmd *cobra.Command, name string, f callsFlags) error {
	c, err := a.client(f.r)
	if err != nil {
		return err
	}
	l, err := c.ListCalls(ctx, client.ListCallsOptions{Function: name, Status: api.CallStatus(f.status), Before: f.before, Limit: f.limit,
		Version: f.version})
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if f.format == output.JSON {
		if l.Items == nil {
			l.Items = []api.Call{}
		}
		return output.WriteJSON(out, l)
	}
	if len(l.Items) == 0 {
		what := "No calls recorded"
		if name != "" {
			what = "No calls of " + name + " recorded"
		}
		if f.status != "" {
			what += " with status " + f.status
		}
		fmt.Fprintln(cmd.ErrOrStderr(), what+".")
		return nil
	}
	t := output.NewTable(out, "id", "function", "version", "async", "status", "http", "cold", "started", "duration", "error")
	now := a.opts.Now()
	for _, call := range l.Items {
		t.Row(call.ID, call.Function, versionCell(call), mode(call), call.Status, orNone(call.HTTPStatus),
			call.Cold, output.Ago(now, call.StartedAt), duration(call), truncate(call.Error, 60))
	}
	if err := t.Flush(); err != nil {
		return err
	}
	if l.Next != "" {
		fmt.Fprintf(cmd.ErrOrStderr(), "More: %s\n", nextPage(cmd.CommandPath(), name, f, l.Next))
	}
	return nil
}

// nextPage is the command line that lists the page after this one.
func nextPage(path, name string, f callsFlags, next string) string {
	s := path
	if f.status != "" {
		s += " --status " + f.status
	}
	if f.limit != 50 {
		s += " --limit " + strconv.Itoa(f.limit)
	}
	if f.version > 0 {
		s += " --version " + strconv.Itoa(f.version)
	}
	s += " --before " + next
	switch name {
	case "":
	case "get":
		s += " -- get"
	default:
		s += " " + name
	}
	return s
}

func (a *app) callGetCmd() *cobra.Command {
	var (
		r      remote
		format output.Format
		body   bool
	)
	cmd := &cobra.Command{
		Use:   "get ID",
		Short: "Show one call, with an async call's result",
		Long: `Show the call ID: its function, status, times, instance, attempts and error, and for
an async call its callback and result (status, headers and body). A body that is not UTF-8
text is shown as a byte count; --body prints only the raw body, for piping to a file.`,
		Example: "  hearth calls get 3f2a9c...\n  hearth calls get 3f2a9c... --body > result.bin",
		Args:    exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if body && format == output.JSON {
				return usageErrorf("use either --body or -o json, not both")
			}
			return a.runCallGet(cmd.Context(), cmd, r, args[0], format, body)
		},
	}
	cmd.Flags().VarP(&format, "output", "o", "output format: text or json")
	cmd.Flags().BoolVar(&body, "body", false, "print only the raw body of the async call's result")
	r.addFlag(cmd)
	return cmd
}

func (a *app) runCallGet(ctx context.Context, cmd *cobra.Command, r remote, id string, format output.Format, body bool) error {
	c, err := a.client(r)
	if err != nil {
		return err
	}
	call, err := c.GetCall(ctx, id)
	if errors.Is(err, client.ErrNotFound) {
		return fmt.Errorf("call %s not found", id)
	}
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	switch {
	case body:
		if call.Result == nil {
			return noResult(call)
		}
		_, err := out.Write(call.Result.Body)
		return err
	case format == output.JSON:
		return output.WriteJSON(out, call)
	}
	if err := output.WriteFields(out, callFields(call, a.opts.Now())); err != nil {
		return err
	}
	if call.Async {
		return writeResult(out, call)
	}
	return nil
}

// callFields describes a call for people; the async-only fields are left out of sync calls.
func callFields(c api.Call, now time.Time) []output.Field {
	cold := "no (warm instance)"
	if c.Cold != "" {
		cold = c.Cold + " instance"
	}
	fields := []output.Field{
		{Name: "ID", Value: c.ID},
		{Name: "Function", Value: c.Function},
		{Name: "Version", Value: versionCell(c)},
		{Name: "Mode", Value: mode(c)},
		{Name: "Status", Value: string(c.Status)},
		{Name: "HTTP status", Value: orNone(c.HTTPStatus)},
		{Name: "Created", Value: timeAndAge(c.CreatedAt, now)},
		{Name: "Started", Value: timeAndAge(c.StartedAt, now)},
		{Name: "Finished", Value: timeAndAge(c.FinishedAt, now)},
		{Name: "Duration", Value: duration(c)},
		{Name: "Instance", Value: c.Instance},
		{Name: "Cold start", Value: cold},
	}
	if c.Async {
		fields = append(fields,
			output.Field{Name: "Attempts", Value: strconv.Itoa(c.Attempts)},
			output.Field{Name: "Callback", Value: c.CallbackURL})
	}
	if c.Trigger != "" { // a cron trigger's firing (hearth triggers)
		fields = append(fields, output.Field{Name: "Trigger", Value: c.Trigger})
	}
	return append(fields, output.Field{Name: "Error", Value: c.Error})
}

// writeResult writes an async call's result after a blank line, as an HTTP answer reads: the
// status line, the headers, a blank line and the body.
func writeResult(w io.Writer, c api.Call) error {
	if c.Result == nil {
		_, err := fmt.Fprintf(w, "\n%s\n", noResult(c))
		return err
	}
	res := c.Result
	fmt.Fprintf(w, "\nResult: %d %s\n", res.Status, http.StatusText(res.Status))
	for _, k := range slices.Sorted(maps.Keys(res.Headers)) {
		for _, v := range res.Headers[k] {
			fmt.Fprintf(w, "%s: %s\n", k, v)
		}
	}
	switch {
	case len(res.Body) == 0:
		_, err := fmt.Fprintln(w, "\n(empty body)")
		return err
	case !utf8.Valid(res.Body):
		_, err := fmt.Fprintf(w, "\n(%d bytes of binary data: --body prints them)\n", len(res.Body))
		return err
	}
	_, err := fmt.Fprintf(w, "\n%s", res.Body)
	if err == nil && res.Body[len(res.Body)-1] != '\n' {
		_, err = fmt.Fprintln(w)
	}
	return err
}

// noResult says why a call has no result to show.
func noResult(c api.Call) error {
	switch {
	case !c.Async:
		return fmt.Errorf("call %s was a sync call: its answer went to its caller and is not kept", c.ID)
	case !c.Status.Finished():
		return fmt.Errorf("call %s has no result yet: it is %s", c.ID, c.Status)
	}
	return fmt.Errorf("call %s has no result: it ended (%s) without an answer from its function", c.ID, c.Status)
}

func mode(c api.Call) string {
	if c.Async {
		return "async"
	}
	return "sync"
}

// duration formats a call's duration in milliseconds, "" when it has none yet.
func duration(c api.Call) string {
	switch {
	case c.DurationMS <= 0 && c.FinishedAt.IsZero():
		return ""
	case c.DurationMS < 10:
		return fmt.Sprintf("%.1f ms", c.DurationMS)
	}
	return fmt.Sprintf("%.0f ms", c.DurationMS)
}

// orNone shows 0, which the API uses for "not known", as an empty cell.
func orNone(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// truncate cuts s to at most n runes, marking the cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-3]) + "..."
}

// versionCell is the version that served a call, with the alias it came through: "4 (live)".
func versionCell(c api.Call) string {
	v := orNone(c.Version)
	if c.Alias != "" {
		v = strings.TrimSpace(v + " (" + c.Alias + ")")
	}
	return v
}
