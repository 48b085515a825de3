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
// runs the periodic work: Reap (idle policy, min_instances), the health check of every node
// (health.go: replace idle instances that died behind the pool's back, resume ones paused
// behind its back, remove containers it does not know, and keep starts and calls off a node
// whose engine is unreachable) and RefreshNode (capabilities, capacity, images).
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
// instances of other functions makes room, and the start evicts there only: paused ones first,
// then ready ones beyond their function's min_instances, least recently used first; if no node
// would have room even then, the call waits in the queue for room or its deadline.
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
// be reached (driver.ErrUnavailable from a listing or a start) takes no new instance and its
// instances take no call until two listings in a row work again, without failing calls that
// other nodes can serve. A call fails fast with driver.ErrUnavailable only when no node can
// take an instance of its function and none of its instances may free a slot. A node's first
// listing (in the background from AddNode) comes before any start there.
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
