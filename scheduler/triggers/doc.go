// Package triggers runs functions' cron triggers (func.yaml `triggers`, docs/user/triggers.md).
//
// The Scheduler is told every function's current spec: the server wraps the pool the registry
// drives (scheduler/server), so every deploy, configuration change, rollback, delete and the
// start's Restore reach it the way they reach the pool. For each cron trigger it keeps the next
// scheduled time; when one comes, it enqueues an async call exactly as a caller's
// `Hearth-Async: true` invoke would (the router's AsyncQueue, i.e. scheduler/calls' Runner), so
// the firing gets a call record, retries and a place in `hearth calls`. The record's Trigger
// says "cron/<name>", and the request carries the Hearth-Trigger header.
//
// Per function and trigger the store keeps when the trigger was registered, the scheduled time
// it last fired for and that call's id. A server that was down (or whose clock jumped forward)
// has missed scheduled times: it fires once for all of them, marks that call
// "cron/<name> (catch-up of N)" and logs it, rather than firing N times or not at all. Nothing
// before the trigger was registered, or before its function's current version was deployed, is
// ever missed. A trigger whose schedule or timezone changes starts afresh.
//
// Time comes from a Clock, so the tests drive the schedule with a fake one and never sleep.
//
// Where to read next: runtimes/funcfile/triggers.go (what a schedule may be, ParseSchedule),
// scheduler/calls (the async runner), scheduler/store/triggers.go (the persisted state).
package triggers
