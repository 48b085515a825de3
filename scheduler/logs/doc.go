// Package logs keeps what functions write to stdout and stderr, for `hearth logs`.
//
// The Collector follows each instance from the moment the pool has started it
// (pool.Config.OnStarted → Started) until the instance is gone (OnStopped → Stopped): one
// following stream per output stream, through the node (agent.Agent.Logs), with the engine's
// timestamp on every line. A stream that breaks is opened again from the last line's time.
//
// # Entries
//
// A message of several lines (a Python traceback, a Java stack trace, a Go panic) is kept as one
// entry, its text holding the line breaks: a joiner per stream adds to an entry each line that
// continues it (starts with whitespace, or is one of a few known lines of a trace: see joins)
// and was written within Config.JoinWindow (50 ms) of the line before, by the engine's
// timestamps. An entry is bounded (200 lines, 64 KiB) and is handed to the ring when a line that
// does not continue it comes, or once the window has passed without more, so a lone line waits
// at most that long.
//
// Each function has a ring of its most recent entries, bounded in bytes and in entries, in memory:
// logs do not survive a server restart, and a deleted function's go with it (Forget). Every
// entry carries its (first line's) time, instance, stream and, when known, the call it belongs to.
//
// # Calls
//
// A line that names a call the instance ran, as the shims write it (call_id=ID), is that call's.
// Other lines are matched by time: the router reports each call's start and end on its instance
// (CallTracker), and a line written within exactly one call's [start, end] on that instance
// belongs to that call. A line stamped just after a call ended, when no call was running, is
// taken as the call's that ended last, unless another call overlapped it (the engine stamps a
// line when it reads it, and the shims log a call once its answer has left). With concurrency 1
// every line a handler prints is tagged; with overlapping calls on one instance, lines written
// while several ran are left untagged unless they name their call.
//
// # Reading
//
// Lines returns the last lines a query selects with a cursor; After returns what came after a
// cursor and a channel that is closed when more may have come, which is how the API follows.
//
// Where to read next: scheduler/httpapi/logs.go (GET /v1/functions/{name}/logs),
// scheduler/server (the wiring), scheduler/router (which reports calls).
package logs
