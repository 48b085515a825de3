package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

func printReport(w io.Writer, rep report) {
	nomadOn := ""
	if rep.Machine.Nomad != "" {
		nomadOn = ", Nomad " + rep.Machine.Nomad
	}
	fmt.Fprintf(w, "\nhearth vs the floors, %s; %d CPUs, Docker %s%s (times in ms: min / median / p99)\n\n",
		rep.When.Format("2006-01-02 15:04 UTC"), rep.Machine.CPUs, rep.Machine.Docker, nomadOn)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FUNCTION\tMEASUREMENT\tHEARTH\tFLOOR\tHEARTH/FLOOR (median)\tGOAL\tMET")
	for _, r := range rep.Rows {
		var gs []goalResult
		if r.Kind != kindWarm16 { // c16's goal is on its throughput line
			gs = r.Goals
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", functionCell(r), r.Name, cell(r.Hearth), cell(r.Floor),
			ratio(r.Hearth, r.Floor), goalText(gs, 0), goalMet(gs, 0))
		for i := 1; i < len(gs); i++ {
			fmt.Fprintf(tw, "\t\t\t\t\t%s\t%s\n", goalText(gs, i), goalMet(gs, i))
		}
		if r.Paired != nil {
			fmt.Fprintf(tw, "\t  hearth - floor, pair by pair\t%s\t\t\t\t\n", cell(*r.Paired))
		}
		if r.FreezerFloor != nil {
			fmt.Fprintf(tw, "\t  floor of the freezer: raw cgroup thaw + call\t\t%s\t%s\t\t\n", cell(*r.FreezerFloor), ratio(r.Hearth, *r.FreezerFloor))
		}
		if r.Kind == kindPlacement {
			fmt.Fprintf(tw, "\t  decisions per second\t%.0f\t\t\t\t\n", r.Hearth.RPS)
		}
		if r.Kind == kindWarm16 {
			fmt.Fprintf(tw, "\t  throughput (req/s)\t%.0f\t%.0f\t%.2fx\t%s\t%s\n", r.Hearth.RPS, r.Floor.RPS,
				r.Hearth.RPS/r.Floor.RPS, goalText(r.Goals, 0), goalMet(r.Goals, 0))
			for i := 1; i < len(r.Goals); i++ {
				fmt.Fprintf(tw, "\t\t\t\t\t%s\t%s\n", goalText(r.Goals, i), goalMet(r.Goals, i))
			}
		}
	}
	tw.Flush()
	printHop(w, rep.Rows)
	printCPU(w, rep.Rows)
	printDensity(w, rep.Rows)
	printKeepAlive(w, rep.KeepAlive)
	printFullNode(w, rep.FullNode)
	fmt.Fprintln(w, "\nfloors: warm = direct HTTP call to a container of the same image and settings that the bench")
	fmt.Fprintln(w, "  started and whose output nobody follows (same keep-alive client; the bare proxy calls it too);")
	fmt.Fprintln(w, "  first call = Docker API create + start, ready polled every 1 ms, one call;")
	fmt.Fprintln(w, "  paused = Docker API unpause of a container the bench paused, one call; the freezer's")
	fmt.Fprintln(w, "  floor = a cgroup freezer thaw of a container the bench froze itself, one call.")
	for _, r := range rep.Rows {
		if r.Driver == clusterDriver {
			printClusterFloors(w)
			break
		}
	}
	if rep.NomadPhases != nil {
		fmt.Fprintln(w, "  on nomad: warm = direct HTTP call to the allocation's port; first call = the same job")
		fmt.Fprintln(w, "  registered through the Nomad API until its allocation runs, ready polled every 1 ms, one call;")
		fmt.Fprintln(w, "  both samples of a pair begin at the same point of the Nomad client's report cycle, the pairs")
		fmt.Fprintln(w, "  at points spread over it: the goal is on the median of the pairs' differences.")
		printPhases(w, *rep.NomadPhases)
	}

	if len(rep.Runtimes) > 0 {
		fmt.Fprintf(w, "\nruntimes: image size, first build and time to ready (first call with no instance)\n\n")
		tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "RUNTIME\tIMAGE\tFIRST BUILD\tTIME TO READY + CALL (min / median / p99 ms)")
		for _, r := range rep.Runtimes {
			fmt.Fprintf(tw, "%s\t%.1f MB\t%.1f s\t%s\n", r.Runtime, float64(r.ImageBytes)/1e6, r.BuildMS/1000, cell(r.ColdStart))
		}
		tw.Flush()
	}
	fmt.Fprintf(w, "\nwall time %.0f s\n", rep.WallSeconds)
}

func goalText(gs []goalResult, i int) string {
	if i >= len(gs) {
		return ""
	}
	return gs[i].Goal
}

func goalMet(gs []goalResult, i int) string {
	if i >= len(gs) {
		return ""
	}
	return verdict(gs[i])
}

func cell(s summary) string {
	if s.N == 0 {
		if s.Note != "" {
			return s.Note
		}
		return "-"
	}
	return fmt.Sprintf("%s / %s / %s", ms(s.MinMS), ms(s.P50MS), ms(s.P99MS))
}

func ms(v float64) string {
	if v < 10 {
		return fmt.Sprintf("%.3f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

func ratio(h, f summary) string {
	if h.N == 0 || f.N == 0 || f.P50MS == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx (%s)", h.P50MS/f.P50MS, signedMS(h.P50MS-f.P50MS))
}

// printHop shows the warm rows beside a bare reverse proxy to the same instance: how much of
// hearth's gap to the direct call is the extra HTTP hop itself.
func printHop(w io.Writer, rows []row) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	header := false
	for _, r := range rows {
		if r.BareProxy == nil {
			continue
		}
		if !header {
			fmt.Fprintf(w, "\nthe extra hop: a bare Go reverse proxy (net/http/httputil, own process) to the same instance\n\n")
			fmt.Fprintln(tw, "FUNCTION\tMEASUREMENT\tDIRECT (median / p99, req/s)\tBARE PROXY\tHEARTH\tCPU PER CALL (proxy / hearth)")
			header = true
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%.0f / %.0f µs\n", functionCell(r), r.Name, hop(r.Floor), hop(*r.BareProxy),
			hop(r.Hearth), r.ProxyCPUPerCallUS, r.HearthCPUPerCallUS)
	}
	tw.Flush()
}

func hop(s summary) string {
	return fmt.Sprintf("%s / %s, %.0f", ms(s.P50MS), ms(s.P99MS), s.RPS)
}

// functionCell names a row's function, and the driver when it is not Docker.
func functionCell(r row) string {
	if r.Driver != "" && r.Driver != "docker" {
		return r.Function + " on " + r.Driver
	}
	return r.Function
}

// printPhases shows where the time of the Nomad cold starts went, step by step, on both sides.
func printPhases(w io.Writer, p nomadPhaseReport) {
	fmt.Fprintf(w, "\nnomad cold start, step by step (median ms of each step, from Nomad's and Docker's timestamps;\n")
	fmt.Fprintf(w, "offset: when the sample began after the client's last report)\n\n")
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprint(tw, "SIDE\tOFFSET")
	for _, s := range phaseSteps {
		fmt.Fprintf(tw, "\t%s", strings.ToUpper(s.name))
	}
	fmt.Fprintln(tw, "\tTOTAL")
	for _, side := range []struct {
		name string
		ps   []nomadPhases
	}{{"hearth", p.Hearth}, {"floor", p.Floor}} {
		fmt.Fprintf(tw, "%s\t%.0f", side.name, medianOf(side.ps, func(p nomadPhases) float64 { return p.Offset }))
		for _, s := range phaseSteps {
			fmt.Fprintf(tw, "\t%.1f", medianOf(side.ps, s.of))
		}
		fmt.Fprintf(tw, "\t%.1f\n", medianOf(side.ps, func(p nomadPhases) float64 { return p.Answered }))
	}
	tw.Flush()
	fmt.Fprintf(w, "  (the floor's Start returned %.1f ms after the report that the job runs, median)\n",
		medianOf(p.Floor, func(p nomadPhases) float64 { return p.StartReturned - p.Reported }))
}
