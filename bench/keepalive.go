package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/hearthfn/hearth/bench/trace"
	"github.com/hearthfn/hearth/scheduler/pool"
)

// The keep-alive section (issue 14): a synthetic trace shaped like the Azure Functions 2019
// trace (bench/trace, seeded) replayed through the real pool on a fake clock and a node whose
// operations take no time (pool.Replay), once per keep-alive policy. No Docker, no server.

// keepalivePolicy is one policy of the section.
type keepalivePolicy struct {
	Name   string         `json:"name"`
	Result pool.SimResult `json:"result"`
	// ColdPct is the share of calls that waited for a new instance; ResumedPct for a paused one.
	ColdPct    float64 `json:"cold_pct"`
	ResumedPct float64 `json:"resumed_pct"`
	// IdleGBSeconds is the memory held by instances without a call in flight, over the trace.
	IdleGBSeconds float64 `json:"idle_gb_seconds"`
	WallSeconds   float64 `json:"wall_seconds"`
}

// keepaliveReport is the section's figures.
type keepaliveReport struct {
	Trace     trace.Config      `json:"trace"`
	Functions int               `json:"functions"`
	Calls     int               `json:"calls"`
	Policies  []keepalivePolicy `json:"policies"`
	Goals     []goalResult      `json:"goals"`
}

// keepalivePolicies are the policies compared: today's fixed timeouts (func.yaml defaults),
// Fn's (pause after 50 ms idle, stop after 30 s), and the learned one (over the defaults).
var keepalivePolicies = []struct {
	name string
	pol  pool.SimPolicy
}{
	{"fixed (idle 30s, pause 5m)", pool.SimPolicy{IdleTimeout: 30 * time.Second, PauseTimeout: 5 * time.Minute}},
	{"Fn (pause 50ms, stop 30s)", pool.SimPolicy{IdleTimeout: 50 * time.Millisecond, PauseTimeout: 30 * time.Second}},
	{"learned (hybrid histogram)", pool.SimPolicy{IdleTimeout: 30 * time.Second, PauseTimeout: 5 * time.Minute, Learned: true}},
}

// keepaliveSection replays the default trace under each policy.
func keepaliveSection(ctx context.Context) (*keepaliveReport, error) {
	tc := trace.DefaultConfig()
	tr := trace.Generate(tc)
	fns := make([]pool.SimFunction, len(tr.Functions))
	for i, f := range tr.Functions {
		fns[i] = pool.SimFunction{Name: f.Name, MemoryMB: f.MemoryMB}
	}
	calls := make([]pool.SimCall, len(tr.Calls))
	for i, c := range tr.Calls {
		calls[i] = pool.SimCall{Function: c.Function, At: c.At, Duration: c.Duration}
	}
	rep := &keepaliveReport{Trace: tc, Functions: len(fns), Calls: len(calls)}
	for _, kp := range keepalivePolicies {
		begin := time.Now()
		res, err := pool.Replay(ctx, kp.pol, fns, calls)
		if err != nil {
			return nil, fmt.Errorf("replay %s: %w", kp.name, err)
		}
		rep.Policies = append(rep.Policies, keepalivePolicy{Name: kp.name, Result: res,
			ColdPct: pct(res.ColdNew, res.Calls), ResumedPct: pct(res.ColdResumed, res.Calls),
			IdleGBSeconds: res.IdleMBSeconds / 1024, WallSeconds: time.Since(begin).Seconds()})
	}
	rep.Goals = keepaliveGoals(rep.Policies[0], rep.Policies[len(rep.Policies)-1])
	return rep, nil
}

func pct(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return 100 * float64(n) / float64(of)
}

// keepaliveGoals are issue 14's: the learned policy takes at most half the fixed policy's cold
// starts, at no more idle memory-time.
func keepaliveGoals(fixed, learned keepalivePolicy) []goalResult {
	cold := learned.ColdPct / fixed.ColdPct
	mem := learned.IdleGBSeconds / fixed.IdleGBSeconds
	coldMet, memMet := cold <= 0.5, mem <= 1
	return []goalResult{
		{Goal: "cold starts <= 0.5 x fixed", Value: cold, Measured: fmt.Sprintf("%.2fx", cold), Met: &coldMet},
		{Goal: "idle memory-time <= fixed", Value: mem, Measured: fmt.Sprintf("%.2fx", mem), Met: &memMet},
	}
}

// printKeepAlive prints the section, when it was measured.
func printKeepAlive(w io.Writer, rep *keepaliveReport) {
	if rep == nil {
		return
	}
	fmt.Fprintf(w, "\nkeep-alive: a synthetic Azure-2019-shaped trace (seed %d, %d functions, %d calls over %s) replayed\n",
		rep.Trace.Seed, rep.Functions, rep.Calls, rep.Trace.Duration)
	fmt.Fprintf(w, "through the pool on a fake clock and an instant node\n\n")
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "POLICY\tCOLD STARTS (new)\tRESUMES\tIDLE MEMORY (GB-s)\tSTARTS\tREPLAY")
	for _, p := range rep.Policies {
		fmt.Fprintf(tw, "%s\t%.2f%% (%d)\t%.2f%%\t%.0f\t%d\t%.1f s\n", p.Name, p.ColdPct, p.Result.ColdNew, p.ResumedPct,
			p.IdleGBSeconds, p.Result.Starts, p.WallSeconds)
	}
	tw.Flush()
	for _, g := range rep.Goals {
		fmt.Fprintf(w, "  goal: learned %s: %s\n", g.Goal, verdict(g))
	}
}
