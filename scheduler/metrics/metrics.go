package metrics

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hearthfn/hearth/scheduler/pool"
)

// Metrics records what the scheduler does and serves it in the Prometheus text format. It is
// safe for concurrent use. Each Metrics has its own registry: nothing is global.
type Metrics struct {
	reg *prometheus.Registry
	log *slog.Logger

	calls        *prometheus.CounterVec   // function, outcome
	callDuration *prometheus.HistogramVec // function
	coldStarts   *prometheus.CounterVec   // function, kind
	coldWait     *prometheus.HistogramVec // kind
}

var _ pool.Observer = (*Metrics)(nil)

// New returns metrics on a fresh registry holding the call and cold-start metrics and the Go
// runtime and process collectors. The pool's gauges come with CollectPool.
func New(log *slog.Logger) *Metrics {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		log: log,
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hearth_calls_total",
			Help: "Calls to functions, by how they ended at the platform level (ok: an instance answered, with any status).",
		}, []string{"function", "outcome"}),
		callDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "hearth_call_duration_seconds",
			Help: "Time from a call's arrival to the end of its answer, cold start included, for calls that reached an instance or failed on one.",
			// 0.1 ms to ~93 s.
			Buckets: prometheus.ExponentialBuckets(0.0001, 2.5, 16),
		}, []string{"function"}),
		coldStarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hearth_cold_starts_total",
			Help: "Calls that waited for an instance to start (kind new) or resume from pause (kind resumed).",
		}, []string{"function", "kind"}),
		coldWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "hearth_cold_start_wait_seconds",
			Help: "How long a call waited for an instance to start or resume.",
			// 1 ms to ~65 s.
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 17),
		}, []string{"kind"}),
	}
	m.reg.MustRegister(m.calls, m.callDuration, m.coldStarts, m.coldWait,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// CollectPool adds the pool's gauges (instances, queue depth, memory), read from src at each
// scrape. It fails if the pool's gauges are registered already.
func (m *Metrics) CollectPool(src StatsSource) error {
	return m.reg.Register(newPoolCollector(src))
}

// Registry is where the metrics live, for other parts of the server to add theirs.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry's metrics (GET /metrics).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(m.log.Handler(), slog.LevelWarn),
		// A collector that fails leaves its metrics out; the others are still served.
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      m.reg,
	})
}

// CallDone counts one call to function that ended with outcome (one of the router's Outcome
// values) after took. The router calls it once per call, after the answer is written.
func (m *Metrics) CallDone(function, outcome string, took time.Duration) {
	m.calls.WithLabelValues(function, outcome).Inc()
	if timed(outcome) {
		m.callDuration.WithLabelValues(function).Observe(took.Seconds())
	}
}

// Forget drops a deleted function's series, so that the metrics hold the functions that exist
// (and those deleted since the last scrape did not see go), not every function there ever
// was: a server that deploys and deletes functions all day keeps its memory and its scrapes
// the size of what it runs. A function deployed again under the name counts from zero.
func (m *Metrics) Forget(function string) {
	only := prometheus.Labels{"function": function}
	m.calls.DeletePartialMatch(only)
	m.callDuration.DeletePartialMatch(only)
	m.coldStarts.DeletePartialMatch(only)
}

// timed says whether a call with this outcome goes into the duration histogram: calls that
// reached an instance, or failed starting or running one. Refusals (not_found, too_large,
// queue_full, unavailable) and callers that went away would only blur the latency.
func timed(outcome string) bool {
	switch outcome {
	case "ok", "handler_error", "timeout", "instance_failed":
		return true
	}
	return false
}

// ColdStart implements pool.Observer: it counts a call that waited for an instance to start or
// resume. A warm call (kind pool.Warm) is not a cold start and is ignored.
func (m *Metrics) ColdStart(function string, kind pool.ColdKind, took time.Duration) {
	if kind == pool.Warm {
		return
	}
	m.coldStarts.WithLabelValues(function, string(kind)).Inc()
	m.coldWait.WithLabelValues(string(kind)).Observe(took.Seconds())
}
