package api

import "time"

// FunctionCost is what keeping a function's instances costs, and what that bought, as the
// server has counted it since it started (counts are not kept across server restarts). It is
// in GET /v1/functions/{name} ("cost") and GET /v1/functions/{name}/cost.
//
// Memory is counted as the function's memory setting (MB) times the seconds an instance spent
// in a state, so it is what the pool reserves on the node, not what the process touched.
// Memory of instances that are starting or stopping is not counted: that time is the cold start
// itself, or the end of the instance, not keep-alive.
type FunctionCost struct {
	// Total counts from Since (the server's start, or the function's first deploy after it).
	Total CostWindow `json:"total"`
	// LastHour counts the current minute and the 59 before it (so from 59 to 60 minutes), or
	// from Since when that is later.
	LastHour CostWindow `json:"last_hour"`
	// KeepAlive is the idle and pause timeouts the pool applies to the function now.
	KeepAlive KeepAlive `json:"keep_alive"`
}

// CostWindow is a function's cost over one window of time.
type CostWindow struct {
	// From is when the window begins; it ends at the time of the answer.
	From time.Time `json:"from"`
	// WarmMBSeconds is memory held by ready instances with no call in flight: the price of
	// keeping instances warm. BusyMBSeconds is memory of ready instances while they serve calls.
	// PausedMBSeconds is memory reserved by paused instances (frozen: no CPU, memory kept).
	WarmMBSeconds   float64 `json:"warm_mb_seconds"`
	BusyMBSeconds   float64 `json:"busy_mb_seconds"`
	PausedMBSeconds float64 `json:"paused_mb_seconds"`
	// Calls counts calls that took an instance.
	Calls int64 `json:"calls"`
	// ColdStartsNew counts calls that waited for a new instance to start; ColdStartsResumed
	// calls that waited for a paused instance to resume (a cheaper cold start).
	ColdStartsNew     int64 `json:"cold_starts_new"`
	ColdStartsResumed int64 `json:"cold_starts_resumed"`
	// ColdStartsAvoided counts calls that keep-alive spared a new start: calls that resumed a
	// paused instance, and calls that took a ready instance that had had no call in flight for
	// at least AvoidedAfterIdle. A resumed call is counted both here (no new start) and in
	// ColdStartsResumed (it still waited for the resume).
	ColdStartsAvoided int64 `json:"cold_starts_avoided"`
}

// AvoidedAfterIdle is how long a ready instance must have been idle for the call that takes it
// to count as a cold start avoided by keep-alive. Calls that follow each other closer than this
// (a burst, a steady stream) would find the instance even on a platform that stops instances
// soon after their last call, so they are not credited to keep-alive.
const AvoidedAfterIdle = time.Second

// KeepAlive is what decides when a function's idle instances are paused and stopped.
//
// With Source "configured", a ready instance idle for IdleTimeout is paused, and a paused one
// stopped after PauseTimeout (func.yaml or the defaults). With Source "learned", the pool has
// learned the function's idle times between calls (scheduler/keepalive: the hybrid histogram of
// "Serverless in the Wild"): counted from the end of its last call, no instance is kept before
// PreWarm (one is started ahead at PreWarm when none is left), one is kept until Window, and
// every instance stops at Window; IdleTimeout still says when a ready one is paused.
type KeepAlive struct {
	Source       string   `json:"source"`
	IdleTimeout  Duration `json:"idle_timeout"`
	PauseTimeout Duration `json:"pause_timeout"`
	// PreWarm and Window are the learned windows (Source "learned" only).
	PreWarm Duration `json:"pre_warm,omitempty"`
	Window  Duration `json:"keep_alive,omitempty"`
	// Samples is how many idle times the pool has observed for the function.
	Samples int `json:"samples"`
	// Why says why the configured timeouts apply, when a learning policy runs but has nothing
	// to say yet (too few samples, min_instances, a server setting).
	Why string `json:"why,omitempty"`
}

// KeepAlive sources.
const (
	KeepAliveConfigured = "configured"
	KeepAliveLearned    = "learned"
)
