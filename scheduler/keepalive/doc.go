// Package keepalive learns, per function, how long to keep an idle instance: the
// hybrid-histogram policy of "Serverless in the Wild" (Shahrad et al., USENIX ATC 2020), scaled
// down from minutes to seconds.
//
// Each function keeps a range-limited histogram of its idle times: the time from the end of
// its last call (when no other call was in flight) to the arrival of the next one. From it
// come two windows, both measured from the end of the last call:
//
//   - PreWarm, the 5th percentile less a margin: until then an instance is unlikely to be
//     needed, so none is kept; at PreWarm one is started ahead of the call.
//   - KeepAlive, the 99th percentile plus a margin: past it the next call is unlikely to come
//     soon, so the function's instances are stopped.
//
// The paper's buckets are minutes over four hours; here they are seconds (Config.Bucket,
// default 2 s) over an hour (Config.Range), because hearth's fixed timeouts are tens of
// seconds to minutes and its cold starts under a second. Where the paper falls back (too few
// idle times, too many beyond the range, a histogram too flat to be representative by its
// coefficient of variation), Windows returns an error (ErrTooFewSamples, ErrOutOfBounds,
// ErrNotRepresentative) and the caller keeps its fixed timeouts: the paper's ARIMA forecast for
// out-of-bounds functions is left out on purpose, the operator's timeouts being the simpler,
// known behaviour.
//
// The package is pure: no clock, no locks. The pool (scheduler/pool) owns one Histogram per
// function under its own lock.
package keepalive
