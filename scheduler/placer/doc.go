// Package placer picks the node for one new function instance. It is pure: the caller (the
// pool, scheduler/pool) hands it a snapshot of the nodes as seen for one demand, and it returns
// a decision and the reason for it, or an error that says why every node was passed over. It
// keeps no state, does no I/O and reads no clock, so it is tested with tables and benchmarked
// alone.
//
// # Filters
//
// A node is passed over, for the first of these it fails, when:
//   - its state is not ready (draining, disconnected and down nodes take no new instances);
//   - it lacks one of the demand's constraints (a label with exactly that value);
//   - the demand needs pausing and the node's driver cannot pause;
//   - it is short of memory or CPU even after stopping the idle instances of other functions
//     there (Node.Evictable). A zero Allocatable field is unlimited; a zero demand field needs
//     none of that resource.
//
// A node where the instance fits as things are always beats one where it fits only after
// eviction: eviction stops instances that would have served a later call warm. Only when no
// node has room now does Place pick among the eviction nodes, and it says so (Decision.Evict);
// the pool then evicts on that node alone.
//
// # Score
//
// Among the nodes left, the highest score wins; equal scores go to the smallest node ID, so the
// same input always gives the same node.
//
//	score = - 10 × instances of this function on the node     spread
//	        +  6 if the node has the image                     image
//	        - (1.5 × memory share + 1 × CPU share              load, 0 to 3
//	           + 0.5 × n/(n+10) for n instances on the node)
//
// The shares are what the node reserves once the instance runs, over its allocatable (0 when
// unlimited, at most 1). The weights make the terms strict tiers, spread first, then the
// image, then the load, because each is worth more than everything after it:
//   - Spread: a function's instances on different nodes survive the loss of one node, and a
//     node's loss is the failure this cluster is built to ride out; the price of going to a
//     node without the image is one pull of seconds, once per node, after which that node has
//     it too. So one instance fewer on a node (10) outweighs the image and all the load (9).
//   - Image: with the spread equal, a node that has the image starts the instance in the time
//     of a container start (tens of ms) instead of a pull plus a start (seconds), while the
//     caller waits. So the image (6) outweighs all the load (3).
//   - Load: with both equal, the emptiest node, so that the next large instance finds room
//     without eviction. Memory weighs more than CPU because memory is a hard limit (an
//     instance over it is killed) while CPU is shared out; the instance count (which saturates,
//     half its weight at 10) separates nodes whose resources are unlimited and keeps the many
//     small instances of a node from crowding one engine.
//
// Decision.Score is this figure, for comparing decisions; Decision.Reason says the same in
// words: "has the image; 0 of the function's 2 instances here; 12% of memory reserved; 7
// instances on the node; best of 40 nodes with room".
//
// # Errors
//
// When every node is passed over, Place's error wraps ErrNoNode and counts the nodes by reason,
// e.g. "no node can run the instance: 3 nodes: 1 down, 1 draining, 1 lacks label zone=b", or
// "...: 2 nodes: 2 short of memory (needs 512 MB; most free 100 MB)" where "free" counts what
// eviction would give back. NeverFits answers a different question: can the instance fit on
// any node at all, even an empty one? When it cannot, waiting for room is pointless and the pool
// fails the call at once (no_capacity) with NeverFits' reason.
//
// # Cost
//
// Place walks the nodes once and allocates nothing per node; it builds the reason string for
// the winner only, and the error (which sorts and groups) only when nothing fits. 100 nodes
// take a few microseconds (BenchmarkPlace100Nodes; `make bench` reports p50/p99 per decision).
//
// Files: placer.go (types, filters, score), explain.go (the reason, the error, NeverFits).
package placer
