package main

import "fmt"

// goal is one of the warm pool's targets for hearth against a floor (issue 4). Goals are
// measured and reported, never asserted: a missed goal does not fail the run.
type goal struct {
	text string
	// measure returns the figure compared with limit, and false when a side has no figure.
	measure func(r row) (float64, bool)
	limit   float64
	// atLeast: met when the figure is at least limit; otherwise when it is at most limit.
	atLeast bool
	format  func(float64) string
}

// goalResult is a goal as measured by one run.
type goalResult struct {
	Goal     string  `json:"goal"`
	Value    float64 `json:"value"`
	Measured string  `json:"measured"`
	// Met is null when either side was not measured.
	Met *bool `json:"met"`
}

var goals = map[kind][]goal{
	kindWarm1: {
		{text: "median within 0.2 ms of direct", measure: diff(func(s summary) float64 { return s.P50MS }), limit: 0.2, format: signedMS},
		{text: "p99 within 1 ms of direct", measure: diff(func(s summary) float64 { return s.P99MS }), limit: 1, format: signedMS},
	},
	kindWarm16: {
		{text: "throughput >= 80% of direct", measure: throughputShare, limit: 0.8, atLeast: true, format: percent},
		// Issue 14: the proxy hearth is must cost no more than a bare one, and all its processes
		// together (server, driver plugin, dockerd's work for them) under 80 µs of CPU a call.
		{text: "throughput >= bare proxy's", measure: proxyShare, limit: 1, atLeast: true, format: percent},
		{text: "all hearth CPU per call < 80 µs", measure: hearthCPU, limit: 80, format: micros},
	},
	// Issue 14: idle paused instances per GiB, containers plus hearth's own cost, against raw Docker.
	kindDensity: {{text: "instances per GiB >= 0.8 x raw Docker", measure: densityShare, limit: 0.8, atLeast: true, format: times}},
	kindCold: {
		{text: "median within 50 ms of raw Docker", measure: diff(func(s summary) float64 { return s.P50MS }), limit: 50, format: signedMS},
		// Issue 14: instances prepared ahead (agent/driver/docker/prepare.go) go below the floor.
		{text: "median <= 0.5 x raw create+start+ready+call", measure: coldShare, limit: 0.5, format: times},
	},
	// On Nomad, when the client reports decides up to a second of a cold start, and the samples
	// spread over its report cycle on purpose (nomadcold.go): hearth and the floor are compared
	// pair by pair, each pair at the same point of the cycle.
	kindNomadCold: {
		{text: "median within 50 ms of the Nomad floor (paired)", measure: pairedMedian, limit: 50, format: signedMS},
	},
	// Issue 11: the router reaches an instance on another engine at its published port.
	kindClusterWarm: {
		{text: "median within 0.3 ms of direct", measure: diff(func(s summary) float64 { return s.P50MS }), limit: 0.3, format: signedMS},
	},
	kindPaused: {
		{text: "median within 10 ms of raw unpause+call", measure: diff(func(s summary) float64 { return s.P50MS }), limit: 10, format: signedMS},
		// Issue 14: resume through the cgroup freezer (pause.go, agent/driver/docker/freezer.go).
		{text: "median <= 0.3 x raw unpause+call", measure: medianRatio, limit: 0.3, format: times},
	},
}

// evaluate measures a row's goals.
func evaluate(r row) []goalResult {
	var out []goalResult
	for _, g := range goals[r.Kind] {
		res := goalResult{Goal: g.text, Measured: "not measured"}
		if v, ok := g.measure(r); ok {
			met := v <= g.limit
			if g.atLeast {
				met = v >= g.limit
			}
			res.Value, res.Measured, res.Met = v, g.format(v), &met
		}
		out = append(out, res)
	}
	return out
}

// diff measures hearth's figure minus the floor's, in ms.
func diff(stat func(summary) float64) func(r row) (float64, bool) {
	return func(r row) (float64, bool) {
		if r.Hearth.N == 0 || r.Floor.N == 0 {
			return 0, false
		}
		return stat(r.Hearth) - stat(r.Floor), true
	}
}

// pairedMedian measures the median of hearth's time minus the floor's over pairs of samples.
func pairedMedian(r row) (float64, bool) {
	if r.Paired == nil || r.Paired.N == 0 {
		return 0, false
	}
	return r.Paired.P50MS, true
}

// throughputShare measures hearth's throughput as a share of the floor's.
func throughputShare(r row) (float64, bool) {
	if r.Hearth.RPS == 0 || r.Floor.RPS == 0 {
		return 0, false
	}
	return r.Hearth.RPS / r.Floor.RPS, true
}

func signedMS(v float64) string {
	if v >= 0 {
		return "+" + ms(v) + " ms"
	}
	return "-" + ms(-v) + " ms"
}

func percent(v float64) string { return fmt.Sprintf("%.0f%%", v*100) }

// verdict is a goal's MET cell.
func verdict(g goalResult) string {
	switch {
	case g.Met == nil:
		return "not measured"
	case *g.Met:
		return "met (" + g.Measured + ")"
	default:
		return "NOT MET (" + g.Measured + ")"
	}
}
