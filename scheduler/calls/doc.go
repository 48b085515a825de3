// Package calls keeps the calls' side of the scheduler off the invoke hot path: the Recorder
// writes call records to the store in batches and prunes old ones, and the Runner runs async
// calls from the durable queue.
//
// An async call is stored (queued) before the caller gets its 202. The Runner claims due calls,
// replays each through the router's Invoke (so it runs under the same pool limits, timeout and
// metrics as a sync call) and then either finishes it with its result or, on an infrastructure
// failure (no instance, instance died, engine away, queue full), puts it back with exponential
// backoff until its attempts are spent. A handler error or a timeout is final: the handler ran.
// A process that dies while a call runs leaves it running in the store; the next Runner queues
// it again at start. Delivery is therefore at least once.
//
// A finished call with a callback URL is POSTed there through the client in RunnerConfig, which
// the server makes with scheduler/outbound so that a caller cannot aim it at the server's own
// or private addresses; a refused address is not tried again, and a retry's pause ends when the
// runner stops.
//
// Where to read next: scheduler/router (accept, RunAsync), scheduler/store (CallStore),
// scheduler/outbound (the callback policy).
package calls
