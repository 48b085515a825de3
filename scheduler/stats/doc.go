// Package stats keeps the dashboard's figures: per-function rollups of the finished calls of the
// last 24 hours, in memory, from which GET /v1/functions/{name}/stats and GET /v1/overview
// answer without touching the store. With 1,000 functions and 100,000 calls of the last day the
// overview takes about 1 ms and a day of one function's minutes about 0.15 ms, before JSON
// (bench_test.go; scheduler/httpapi/stats_test.go measures the whole answers).
//
// # Feed
//
// Every finished call is counted once, when the store has taken its record: the recorder's
// batches of sync calls (RecordCalls) and the async runner's finished calls (FinishAsync) go
// through Feed, which counts them on the recorder's and the runner's goroutines, so the invoke
// path pays nothing (router → Recorder.Record is unchanged). At start, Run backfills the calls
// of the last 24 hours that finished before the collector was made (store.CallStore.CallsSince,
// oldest first, in pages) while the feed counts the new ones: between them every stored call is
// counted once, and a restart does not blank the charts. Which functions exist comes from the
// registry (SetFunction on every pool Apply, RemoveFunction on delete, which drops the figures);
// instance counts from pool.Stats, nodes from the server's nodes API.
//
// A call is counted in the period of its creation (api.Call.CreatedAt), as call listings order
// calls; a long call therefore lands in a past period when it finishes. A call counts as an
// error (Failed) when its status is failed, timed_out or error, or, unless it was canceled, its
// HTTP status is 500 or above; canceled calls (the caller went away) count as calls only. Cold
// starts are calls whose Cold is "new" or "resumed". Durations are api.Call.DurationMS (from the
// lease of an instance to the end of the answer), of the calls that have one: a call that never
// reached an instance counts as a call and maybe an error, not in the percentiles.
//
// # Rollups and memory
//
// Each function has two rings of slots: one slot per minute for the last 24 hours (1440), and
// one per ten seconds for the last hour (360), which serves steps that are not whole minutes. A
// slot holds calls, errors, cold_new, cold_resumed and a histogram of 48 uint32 counts: 224
// bytes. A slot is made the first time one of its periods has calls. A ring holds its slots in
// a sorted slice (one pointer each) until it has an eighth of its periods' worth (180 and 45),
// then in an array of a pointer per period (11.25 KiB and 2.8 KiB) where each slot is reused in
// place as the ring comes round, so counting a call allocates nothing in the steady state;
// a sweep that leaves it fewer than half that many makes it a slice again.
//
// Memory per function: nothing but its name and metadata (about 350 bytes) until it is
// called; then 232 bytes per minute of the last day and per ten seconds of the last hour in
// which it was called (a function called once: under 0.5 KiB), up to the arrays' 14 KiB plus
// 224 bytes a slot for a busy one, plus up to 20 kept failures (a call record each, error cut
// at 1 KiB). A function called every ten seconds all day holds at most 14 KiB + 1800 × 224 B ≈
// 408 KiB; one called once every five minutes about 11.25 KiB + 300 × 224 B + 12 × 232 B ≈
// 80 KiB. Sweep (every 10 min from Run) frees the slots of periods that have left the window; a
// deleted function's figures go at once.
//
// # Percentiles
//
// The histogram's 48 buckets grow by the ratio r = (300000 / 0.05)^(1/48) ≈ 1.384 from 0.05 ms
// to 5 min. A percentile is the nearest-rank one (the ⌈q·n⌉-th shortest duration) read as the
// geometric middle of the bucket that holds it, so for durations between 0.05 ms and 5 min it
// is within a factor √r ≈ 1.177 of the true value: at most 15 % low or 17.7 % high. Durations
// under 0.05 ms read as 0.059 ms, over 5 min as 4.2 min. Merging slots adds counts, so a point
// of any step is as exact as one of a minute.
//
// # Queries
//
// since is a duration up to 24h or an RFC 3339 time no further back (default 1h); step is a
// whole number of ten seconds from 10s to 1h (default 1m), at most 1440 points. Steps of whole
// minutes read the minute ring; others (10s, 30s, 1m30s) the ten-second ring, so they need since
// of 1h or less: a 400 naming step says so. Points are aligned on multiples of step since the
// Unix epoch, the last being the step in progress; they are zero-filled, and percentiles are 0
// in a point without timed calls.
//
// The overview reads each function's last five minutes from the ten-second ring (the period in
// progress and the 29 before it) for calls_per_min (calls / 5), error_rate, p50 and p99, and
// the last hour from the minute ring (the minute in progress and the 59 before it) for
// cold_starts_1h. Its state is, in this order: "failing" when at least 5 calls of those five
// minutes were made and at least half of them were errors; "starting" when instances are
// starting or resuming and none is ready or busy; "ready" when any is ready, busy or paused
// (pausing counts as paused); else "idle". The pool's start backoff is not read: a function
// that backs off fails its calls, which makes it failing. Recent failures are the 20 newest
// errors (by creation) of the functions in scope, each function keeping its 20 newest.
//
// Where to read next: scheduler/httpapi/stats.go (the endpoints and the token's scope),
// scheduler/server/stats.go (the wiring), store.CallStore.CallsSince (the backfill).
package stats
