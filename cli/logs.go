package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/cli/output"
)

// logTimeFormat is how text output shows a line's time: UTC, to the millisecond.
const logTimeFormat = "2006-01-02T15:04:05.000Z07:00"

type logsFlags struct {
	r      remote
	format output.Format
	follow bool
	raw    bool
	call   string
	tail   int
	since  string
}

func (a *app) logsCmd() *cobra.Command {
	var fl logsFlags
	cmd := &cobra.Command{
		Use:   "logs NAME",
		Short: "Show what a function's instances printed",
		Long: `Show what a function's instances wrote to stdout and stderr, oldest first, one entry each:

  TIME INSTANCE [CALL] TEXT

CALL is the end of the id of the call the instance was serving (the Hearth-Call-Id header of
its answer), or dashes when that is not known. A message of several lines (a Python traceback,
a Java stack trace, a Go panic) is one entry: its other lines follow the first, indented to
where its text starts. The server keeps the recent output of each
function in memory (--log-buffer), so logs do not survive a server restart.`,
		Example: `  hearth logs hello
  hearth logs hello -f
  hearth logs hello --call 5e6f7a8b --tail -1
  hearth logs hello --since 10m -o json`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runLogs(cmd.Context(), cmd, args[0], fl)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&fl.follow, "follow", "f", false, "keep printing new lines as they come, until interrupted")
	f.StringVar(&fl.call, "call", "", "only the lines of one call: its id, or the end of it as shown in brackets")
	f.IntVar(&fl.tail, "tail", api.DefaultLogTail, "how many of the last lines to show (-1: all the server kept)")
	f.StringVar(&fl.since, "since", "", "only lines since a time (RFC 3339) or a duration ago (e.g. 10m)")
	f.BoolVar(&fl.raw, "raw", false, "print only the text of each entry, as it was written")
	f.VarP(&fl.format, "output", "o", "output format: text or json (one JSON object per line)")
	cmd.ValidArgsFunction = a.completeFunctionArg
	fl.r.addFlag(cmd)
	return cmd
}

func (a *app) runLogs(ctx context.Context, cmd *cobra.Command, name string, fl logsFlags) error {
	q := api.LogQuery{Follow: fl.follow, CallID: fl.call, Tail: fl.tail}
	if fl.since != "" {
		since, err := parseSince(fl.since, a.opts.Now())
		if err != nil {
			return usageErrorf("--since %q: %v", fl.since, err)
		}
		q.Since = since
	}
	c, err := a.client(fl.r)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	emit := func(l api.LogLine) error { return writeLogLine(out, l, fl.raw) }
	if fl.format == output.JSON {
		enc := json.NewEncoder(out)
		enc.SetEscapeHTML(false)
		emit = func(l api.LogLine) error { return enc.Encode(l) }
	}
	err = c.Logs(ctx, name, q, emit)
	if fl.follow && errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return nil // interrupting is how a follow ends
	}
	return err
}

// writeLogLine writes l as "TIME INSTANCE [CALL] TEXT", or only TEXT when raw. The further
// lines of a multi-line entry are indented to where its text starts, as journalctl does, so
// that a stack trace keeps its shape and reads as one message under one prefix.
func writeLogLine(w io.Writer, l api.LogLine, raw bool) error {
	if raw {
		_, err := fmt.Fprintln(w, l.Line)
		return err
	}
	// The end of the id: its start is the time the call was made, the same for nearby calls.
	call := "--------"
	if l.CallID != "" {
		call = l.CallID[max(0, len(l.CallID)-8):]
	}
	prefix := fmt.Sprintf("%s %s [%s] ", l.Time.UTC().Format(logTimeFormat), l.Instance, call)
	first, rest, multi := strings.Cut(l.Line, "\n")
	var b strings.Builder
	b.WriteString(prefix)
	b.WriteString(first)
	b.WriteByte('\n')
	if multi {
		indent := strings.Repeat(" ", len(prefix))
		for line := range strings.SplitSeq(rest, "\n") {
			if line != "" { // a blank line of a trace stays blank, without trailing spaces
				b.WriteString(indent)
				b.WriteString(line)
			}
			b.WriteByte('\n')
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// parseSince reads an RFC 3339 time, or a duration before now.
func parseSince(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return time.Time{}, errors.New("the duration must not be negative")
		}
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, errors.New("want a time such as 2025-06-01T12:00:00Z or a duration such as 10m")
	}
	return t, nil
}
