package pool

import (
	"time"

	"github.com/hearthfn/hearth/agent/instance"
)

// ColdKind says how a call's instance came to take it.
type ColdKind string

const (
	// Warm: the call got an instance that was ready.
	Warm ColdKind = ""
	// ColdNew: the call waited for a new instance to start.
	ColdNew ColdKind = "new"
	// ColdResumed: the call waited for a paused instance to resume.
	ColdResumed ColdKind = "resumed"
)

// Observer hears what the pool does, for metrics and call records. Its methods are called
// outside the pool's lock and must not block.
type Observer interface {
	// ColdStart reports a call that waited for an instance to start or resume; took is how long
	// the call waited.
	ColdStart(function string, kind ColdKind, took time.Duration)
}

// Stats is a snapshot of the whole pool, for metrics.
type Stats struct {
	Functions []FunctionStats
	// Reserved is what live instances (any state but gone) reserve on the nodes that are not
	// down, in all.
	Reserved instance.Resources
	// Capacity is what the pool may reserve on those nodes in all; zero fields mean unlimited
	// (on some node at least).
	Capacity instance.Resources
}

// FunctionStats is one function's part of Stats.
type FunctionStats struct {
	Function string
	// Instances counts instances by state as the API reports it: "starting", "ready", "busy",
	// "pausing", "paused", "resuming", "draining".
	Instances map[string]int
	// Queued is the number of calls waiting for a slot.
	Queued int
}
