// Package pool is hearth's warm pool: it keeps each function's instances, on every node, and
// decides which one takes a call, when an instance starts and on which node, when an idle one is
// paused and when it is stopped.
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
// the clock (planIdle, planDemand, planEvict) with table tests on a fixed clock; where a new
// instance goes is scheduler/placer's pure decision, fed by place.go. actions.go carries them
// out through the instance's node agent: each action changes state under the pool's lock, talks
// to the node in the background, and wakes the function's waiters when it settles. upkeep.go
// runs the periodic work: Reap (idle policy, min_instances, for the functions whose upkeep is
// due: due.go), the health check of the nodes it
// must list (health.go: replace idle instances that died behind the pool's back, resume ones
// paused behind its back, remove containers it does not know, and keep starts and calls off a
// node whose engine is unreachable) and RefreshNode (capabilities, capacity, images).
//
// # Following the nodes' events
//
// A node whose agent reports its instances' changes as the engine makes them (agent.Watcher:
// Docker's events, Nomad's blocking queries, a remote agent's events) is not listed on a timer
// (watch.go). From AddNode until its handle changes, it is lost, disconnected or the pool shuts
// down, a goroutine follows its stream: each Resync (the stream opened, or opened again) lists
// the node once (CheckNode: adoption, orphans, the unreachable rules); each event after it is
// applied to the one instance it names, found by function and id: an idle instance that
// exited or is gone is replaced, a ready one paused behind the pool's back is resumed, and
// events about instances the pool is acting on itself, or does not know, change nothing. A
// stream that fails with driver.ErrUnavailable makes the node unreachable; one that fails
// otherwise is opened again a health interval later; driver.ErrNotSupported leaves the node to
// the health tick, which lists every HealthInterval only the nodes that are not followed this
// way or whose engine is unreachable.
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
// Every instance reserves its function's memory and CPU from its node's allocatable resources
// (capped by Config.Capacity) from its start until the node has removed it. A function whose one
// instance fits on no node, even empty (or whose constraints no node carries), fails at once
// with ErrNoCapacity. When every node is full, the placer picks a node where evicting idle
// instances of other functions makes room, and the start evicts there only (place.go), by value
// (planEvict: the memory that would wait longest for its function's next call goes first):
// paused instances, and ready ones beyond their function's min_instances; never one of a
// function with calls waiting (they are about to take or resume it). The start claims the room
// it needs at once, first from stops already under way that no other start claimed, then from
// its own victims, and waits for those stops alone before it starts: a victim is stopped once,
// concurrent cold starts do not take each other's room, and none waits behind unrelated stops,
// pauses or starts. If no node would have room even then, the call waits in the queue for room
// or its deadline.
//
// # Bookkeeping
//
// The pool's work per call and per tick does not grow with the number of functions or
// instances: a call looks up its function and picks among that function's instances; Reap
// visits only the functions whose upkeep is due, queued by due time (due.go: upkeep computes a
// function's next due time from its instances, any change that could bring it forward wakes it
// for the next tick, and a safety net visits each at least every minute, spread out);
// placement looks at the nodes and the function's own instances, and at one node's idle
// instances only when it must evict there (each node indexes its instances, stops and prepared
// instances: nodeBook); a freed room wakes only the functions with calls waiting.
//
// # Prepared instances
//
// After a start, the function's next instance is prepared on that node (prepare.go: created,
// its network sandbox running), so that the next start there only starts it. Each node keeps at
// most Config.PreparedPerNode (32) of them, for the functions called most recently there; and
// they are the first thing eviction removes: a start that must evict on a node discards there,
// with its victims, the prepared instances of functions called no more recently than they.
//
// # Nodes
//
// The pool starts with no node; the node registry (scheduler/nodes) tells it of each, and the
// server adds its in-process node (--dev) the same way (nodes.go):
//
//	                 DrainNode(true)
//	AddNode ─▶ ┌───────┐ ──────────────▶ ┌──────────┐  no new instances there; idle ones
//	           │ ready │                 │ draining │  stop at once, busy ones after their
//	           └───────┘ ◀────────────── └──────────┘  last call
//	            ▲   │     DrainNode(false)     │
//	            │   │ NodeDisconnected         │ NodeDisconnected
//	            │   ▼                          ▼
//	    AddNode │ ┌──────────────┐  its instances keep serving (the router reaches them
//	            │ │ disconnected │  directly), no new ones; AddNode (the agent reconnects)
//	            │ └──────────────┘  makes it ready, or draining when drained
//	            │   │ NodeLost, from any state (RemoveNode: NodeLost, then forget the node)
//	            │   ▼
//	            │ ┌──────┐  its instances left the pool at once, unstopped (the node cannot
//	            └─│ down │  be reached); when it is back, what it still runs is orphaned
//	              └──────┘
//
// A new instance goes where placer.Place says among the ready nodes, given each node's
// capacity, reservations, evictable idle instances, labels (func.yaml constraints), images
// (from its Info, and those of the instances started there) and the function's instances there
// (spread); the instance records the node and the placer's reason (`hearth inspect`). Apart
// from that, the node's state is orthogonal to the health check's: a node whose engine cannot
// be reached (driver.ErrUnavailable from a listing, a start or its event stream) takes no new
// instance and its instances take no call until two listings in a row work again, without
// failing calls that other nodes can serve. A call fails fast with driver.ErrUnavailable only
// when no node can take an instance of its function and none of its instances may free a
// slot. A node's first listing (in the background from AddNode, or upon its event stream's
// first Resync) comes before any start there.
//
// # Restarts
//
// A server that exits calls Shutdown(true) (Config.KeepOnShutdown): every instance keeps
// running. The next pool adopts them (adopt.go): the first listing of each node that works
// since the pool was made takes over the containers labelled with a known function's current
// version, running ones ready and paused ones paused, and stops the others. So the server must
// Apply every function (restore its registry) before it adds nodes. After a node was lost its
// containers are not adopted: they are orphans, removed once the node is back.
//
// Where to read next: scheduler/router (the caller on the invoke path), agent (what the pool
// drives), scheduler/registry (which calls Apply and Remove).
package pool
