// Package metrics exports the scheduler's Prometheus metrics: calls by function and outcome,
// call latency, cold starts by kind, and the pool's instances, queues and memory.
//
// Two kinds of source feed it. Events are pushed on the paths that cause them: the router calls
// CallDone once per call (it satisfies router.CallObserver) and the pool calls ColdStart (it
// satisfies pool.Observer); both are a counter increment and a histogram observation, with no
// lock of hearth's own. State is pulled: the pool's gauges are read from pool.Stats when
// Prometheus scrapes (CollectPool), so nothing on the call path keeps them up to date.
//
// Every Metrics has its own registry, made by the server; there is no global state. Metric
// names, labels and meanings are listed for operators in docs/operator/metrics.md.
//
// Where to read next: scheduler/router (the outcomes), scheduler/pool/observe.go (Observer and
// Stats), scheduler/server (the wiring), scheduler/httpapi (GET /metrics).
package metrics
