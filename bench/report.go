package main

import (
	"fmt"
	"io"
	"text/tabwriter"
)

func printReport(w io.Writer, rep report) {
	fmt.Fprintf(w, "\nhearth vs the floors (ms; min / median / p99), %s\n\n", rep.When.Format("2006-01-02 15:04 UTC"))
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MEASUREMENT\tHEARTH\tFLOOR\tRATIO (median)\tFLOOR IS")
	for _, r := range rep.Rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Name, cell(r.Hearth), cell(r.Floor), ratio(r.Hearth, r.Floor), r.FloorName)
		if r.Hearth.RPS > 0 && r.Floor.RPS > 0 {
			fmt.Fprintf(tw, "  throughput (req/s)\t%.0f\t%.0f\t%.2f\t\n", r.Hearth.RPS, r.Floor.RPS, r.Hearth.RPS/r.Floor.RPS)
		}
	}
	tw.Flush()
	if len(rep.Runtimes) == 0 {
		return
	}
	fmt.Fprintf(w, "\nruntimes: image size and time to ready (first call with no instance)\n\n")
	tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUNTIME\tIMAGE\tFIRST BUILD\tCOLD START (min / median / p99 ms)")
	for _, r := range rep.Runtimes {
		fmt.Fprintf(tw, "%s\t%.1f MB\t%.1f s\t%s\n", r.Runtime, float64(r.ImageBytes)/1e6, r.BuildMS/1000, cell(r.ColdStart))
	}
	tw.Flush()
}

func cell(s summary) string {
	if s.N == 0 {
		if s.Note != "" {
			return "(" + s.Note + ")"
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
	return fmt.Sprintf("%.2fx (+%s ms)", h.P50MS/f.P50MS, ms(h.P50MS-f.P50MS))
}
