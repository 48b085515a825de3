// Package pool keeps each function's instances and hands them to calls.
//
// A call asks for a lease (Acquire): the pool gives it a ready instance of the function's current
// version with a free concurrency slot, fewest calls in flight first. When there is none, the
// call waits in the function's queue while the pool starts an instance through the node agent;
// one start is made per `concurrency` waiting calls, never one per call, so a burst does not
// start a herd. The lease is released exactly once with the call's outcome; a failed or
// timed-out call takes its instance out of service.
//
// Instance states as the pool sees them:
//
//	            start ok                 release (last call)
//	starting ─────────────▶ ready ◀───────────────────────── busy
//	    │                    │  └──────── acquire ─────────▶  │
//	    │ start failed       │ idle_timeout                   │ outcome failed / timed out
//	    ▼                    ▼                                ▼
//	  (gone)              stopping ──────▶ (gone) ◀────── stopping
//
//	A new version (Apply) or Remove marks older instances draining: they take no new calls
//	and stop as soon as their last call is released.
//
// Pausing idle instances, adaptive timeouts and node capacity come with the warm-pool work; the
// states above are the ones in force now.
//
// Where to read next: scheduler/router (the caller on the invoke path), agent (what the pool
// drives), scheduler/registry (which calls Apply and Remove).
package pool
