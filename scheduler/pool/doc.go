// Package pool is hearth's warm pool: it keeps each function's instances and decides which one
// takes a call, when an instance starts, when an idle one is paused and when it is stopped.
//
// # Routing
//
// A call asks for a lease (Acquire). It gets, in order: a ready instance of the function's
// current version with a free slot (the fewest calls in flight, most recently used among
// equals); else it joins the function's queue (bounded by `queue`: full → ErrQueueFull) while
// the pool resumes a paused instance or starts a new one under `max_instances`; else it waits
// for a slot to free up, until its deadline. Instances already starting or resuming count as
// supply, one per `concurrency` waiting calls, so one waiting call never causes two starts and a
// burst does not start a herd. The lease is released exactly once with the call's outcome.
//
// # States
//
//	                  start ok              acquire
//	┌──────────┐  ───────────────▶ ┌───────┐ ──────────▶ ┌──────┐
//	│ starting │                   │ ready │ ◀────────── │ busy │ ── failed / timed out ─┐
//	└──────────┘  ┌──────────────▶ └───────┘  release    └──────┘                        │
//	  │ start     │ resumed           │ idle_timeout (driver can pause)                   │
//	  │ failed    │                   ▼                                                   ▼
//	  ▼       ┌──────────┐ call  ┌────────┐ pause_timeout, or evicted   ┌─────────┐  replaced
//	(gone)    │ resuming │ ◀──── │ paused │ ──────────────────────────▶ │ stopped │ by a new
//	          └──────────┘       └────────┘                             └─────────┘ instance
//	                                                                         ▲
//	ready ── idle_timeout (driver cannot pause), or evicted, or died ────────┘
//
// "busy" is ready with calls in flight; "pausing" sits between ready and paused while the
// driver freezes the instance. A new version (Apply) or Remove marks older instances draining:
// they take no new calls and stop after their last one. A settings-only change (same image,
// environment and resources) carries the warm instances over to the new version instead.
//
// # Policy and actions
//
// policy.go holds the decisions as pure functions of the settings, the instances' states and
// the clock (planIdle, planDemand, planEvict) with table tests on a fixed clock. actions.go
// carries them out through the node agent: each action changes state under the pool's lock,
// talks to the node in the background, and wakes the function's waiters when it settles.
// upkeep.go runs the periodic work: Reap (idle policy, min_instances), CheckHealth (health.go:
// replace idle instances that died behind the pool's back, resume ones paused behind its back,
// remove containers it does not know, and fail calls fast while the engine is unreachable) and
// RefreshNode (capabilities, capacity).
//
// # Failing starts
//
// A function whose starts fail backs off (backoff.go): after n failed starts in a row no start
// is tried for 200 ms doubling up to 5 s, and a call with no instance to wait for fails at once
// with the last start's error, so a crashing image costs one container per backoff rather than
// one per call. A start that works, a new version, or the engine coming back ends it.
//
// # Capacity
//
// Every instance reserves its function's memory and CPU from the node's allocatable resources
// (or Config.Capacity) from its start until the node has removed it. A function whose one
// instance can never fit fails at once with ErrNoCapacity. When the node is full, a call's start
// evicts idle instances of other functions, paused ones first, then ready ones beyond their
// function's min_instances, least recently used first; if even that would not make room, the
// call waits in the queue for room or its deadline.
//
// Where to read next: scheduler/router (the caller on the invoke path), agent (what the pool
// drives), scheduler/registry (which calls Apply and Remove).
package pool
