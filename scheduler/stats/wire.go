package stats

import (
	"time"

	"github.com/hearthfn/hearth/api"
)

// The bodies of GET /v1/functions/{name}/stats and GET /v1/overview (docs/api.md). They depend
// on api and time only, so that they can move to api/ as they are when a client needs them.

// Series is the body of GET /v1/functions/{name}/stats: a point per step from Since, the start
// of the first, to Until, the time of the answer, which the last point (the step in progress)
// reaches.
type Series struct {
	Function string       `json:"function"`
	Since    time.Time    `json:"since"`
	Until    time.Time    `json:"until"`
	Step     api.Duration `json:"step"`
	Points   []Point      `json:"points"`
}

// Point is one step of a Series: the calls created in [T, T+step). The quantiles are of the
// durations of the calls that reached an instance (api.Call.DurationMS), 0 when there are none.
type Point struct {
	T           time.Time `json:"t"`
	Calls       uint64    `json:"calls"`
	Errors      uint64    `json:"errors"`
	ColdNew     uint64    `json:"cold_new"`
	ColdResumed uint64    `json:"cold_resumed"`
	P50MS       float64   `json:"p50_ms"`
	P90MS       float64   `json:"p90_ms"`
	P99MS       float64   `json:"p99_ms"`
}

// Overview is the body of GET /v1/overview.
type Overview struct {
	GeneratedAt time.Time         `json:"generated_at"`
	Functions   []FunctionSummary `json:"functions"`
	// Nodes is absent for a token that may not read nodes.
	Nodes []api.Node `json:"nodes,omitzero"`
	// RecentFailures are the newest failed calls (by creation), newest first, without results.
	RecentFailures []api.Call `json:"recent_failures"`
}

// FunctionSummary is one function in the Overview. Rates and quantiles are over the last five
// minutes, cold starts over the last hour.
type FunctionSummary struct {
	Name    string `json:"name"`
	Version int    `json:"version"`
	Runtime string `json:"runtime"`
	Public  bool   `json:"public"`
	// State is "failing", "starting", "ready" or "idle" (doc.go says when).
	State        string         `json:"state"`
	CallsPerMin  float64        `json:"calls_per_min"`
	ErrorRate    float64        `json:"error_rate"`
	P50MS        float64        `json:"p50_ms"`
	P99MS        float64        `json:"p99_ms"`
	Instances    InstanceCounts `json:"instances"`
	ColdStarts1h uint64         `json:"cold_starts_1h"`
}

// InstanceCounts are a function's instances by state: Starting counts those starting or
// resuming, Paused those paused or pausing; draining ones are not counted.
type InstanceCounts struct {
	Ready    int `json:"ready"`
	Busy     int `json:"busy"`
	Paused   int `json:"paused"`
	Starting int `json:"starting"`
}

// The states of a FunctionSummary.
const (
	StateFailing  = "failing"
	StateStarting = "starting"
	StateReady    = "ready"
	StateIdle     = "idle"
)
