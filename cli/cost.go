package cli

import (
	"fmt"
	"io"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/cli/output"
)

// writeCost writes a function's cost block after a blank line: memory held warm, busy and
// paused, calls, cold starts taken and avoided, over the last hour and since the server began
// counting, then the keep-alive in force. Nothing is written when the server keeps no cost.
func writeCost(w io.Writer, c *api.FunctionCost, now time.Time) error {
	if c == nil {
		return nil
	}
	fmt.Fprintln(w)
	t := output.NewTable(w, "cost", "last hour", "since "+output.Ago(now, c.Total.From))
	h, s := c.LastHour, c.Total
	t.Row("memory warm (ready, idle)", memSeconds(h.WarmMBSeconds), memSeconds(s.WarmMBSeconds))
	t.Row("memory busy (serving calls)", memSeconds(h.BusyMBSeconds), memSeconds(s.BusyMBSeconds))
	t.Row("memory paused", memSeconds(h.PausedMBSeconds), memSeconds(s.PausedMBSeconds))
	t.Row("calls", h.Calls, s.Calls)
	t.Row("cold starts, new", h.ColdStartsNew, s.ColdStartsNew)
	t.Row("cold starts, resumed", h.ColdStartsResumed, s.ColdStartsResumed)
	t.Row("cold starts avoided by keep-alive", h.ColdStartsAvoided, s.ColdStartsAvoided)
	if err := t.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, "Keep-alive: "+keepAliveLine(c.KeepAlive))
	return err
}

// memSeconds shows MB-seconds in GB-seconds (1 GB = 1000 MB, as the memory setting counts a
// MB), or MB-seconds while below one GB-second so that small figures do not read as zero.
func memSeconds(mbs float64) string {
	if mbs < 1000 {
		return fmt.Sprintf("%.0f MB-s", mbs)
	}
	return fmt.Sprintf("%.2f GB-s", mbs/1000)
}

// keepAliveLine says what decides when the function's idle instances pause and stop.
func keepAliveLine(k api.KeepAlive) string {
	if k.Source == api.KeepAliveLearned {
		return fmt.Sprintf("learned from %d idle times: after a call, none kept until %s, one kept until %s; "+
			"a ready one pauses after idle_timeout %s", k.Samples, k.PreWarm, k.Window, k.IdleTimeout)
	}
	line := fmt.Sprintf("configured: pause after idle_timeout %s, stop after pause_timeout %s", k.IdleTimeout, k.PauseTimeout)
	if k.Why != "" {
		line += fmt.Sprintf(" (not learned from %d idle times: %s)", k.Samples, k.Why)
	}
	return line
}
