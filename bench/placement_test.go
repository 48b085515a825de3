package main

import "testing"

// TestPlacementRow runs a small placement row: every decision is timed and the goal measured.
func TestPlacementRow(t *testing.T) {
	s := placementSetup{nodes: 20, functions: 100, warmup: 500, decisions: 1000, live: 400, seed: 1}
	r := runPlacement(s)
	if r.Kind != kindPlacement || r.Hearth.N != s.decisions {
		t.Fatalf("row %+v: want %d timed decisions", r, s.decisions)
	}
	if r.Hearth.MinMS <= 0 || r.Hearth.P50MS < r.Hearth.MinMS || r.Hearth.P99MS < r.Hearth.P50MS || r.Hearth.RPS <= 0 {
		t.Errorf("figures out of order: %+v", r.Hearth)
	}
	if len(r.Goals) != 1 || r.Goals[0].Met == nil {
		t.Errorf("goal not measured: %+v", r.Goals)
	}
}
