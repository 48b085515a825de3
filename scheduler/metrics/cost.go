package metrics

import (
	"sort"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hearthfn/hearth/api"
)

// CostSource is what the cost metrics are read from; *pool.Pool is one.
type CostSource interface {
	Costs() map[string]api.FunctionCost
}

// costStates are the memory states of hearth_function_memory_seconds_total.
var costStates = [...]string{"warm", "busy", "paused"}

// costCollector reads the pool's cost accounts at scrape time: the pool keeps the integrals, so
// that the call path only adds to them (scheduler/pool/cost.go).
type costCollector struct {
	src       CostSource
	memory    *prometheus.Desc
	avoided   *prometheus.Desc
	keepAlive *prometheus.Desc
}

var _ prometheus.Collector = (*costCollector)(nil)

// CollectCost adds the per-function cost metrics, read from src at each scrape: memory-seconds
// by state, cold starts avoided by keep-alive and the keep-alive timeouts in force. It fails if
// they are registered already.
func (m *Metrics) CollectCost(src CostSource) error {
	return m.reg.Register(&costCollector{
		src: src,
		memory: prometheus.NewDesc("hearth_function_memory_seconds_total",
			"Memory reserved by a function's instances integrated over time, in MB-seconds (the memory setting times "+
				"seconds), by state: warm (ready, no call in flight), busy (ready, serving calls), paused. Counted since "+
				"the server started.", []string{"function", "state"}, nil),
		avoided: prometheus.NewDesc("hearth_cold_starts_avoided_total",
			"Calls that keep-alive spared a new start: calls that resumed a paused instance, or took a ready one idle "+
				"for at least 1 s.", []string{"function"}, nil),
		keepAlive: prometheus.NewDesc("hearth_function_keepalive_seconds",
			"The keep-alive settings in force for a function, by setting (idle_timeout, pause_timeout; pre_warm and "+
				"keep_alive when learned) and source (configured or learned).", []string{"function", "setting", "source"}, nil),
	})
}

// Describe implements prometheus.Collector.
func (c *costCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.memory
	ch <- c.avoided
	ch <- c.keepAlive
}

// Collect implements prometheus.Collector.
func (c *costCollector) Collect(ch chan<- prometheus.Metric) {
	costs := c.src.Costs()
	names := make([]string, 0, len(costs))
	for name := range costs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fc := costs[name]
		t := fc.Total
		for i, v := range [...]float64{t.WarmMBSeconds, t.BusyMBSeconds, t.PausedMBSeconds} {
			ch <- prometheus.MustNewConstMetric(c.memory, prometheus.CounterValue, v, name, costStates[i])
		}
		ch <- prometheus.MustNewConstMetric(c.avoided, prometheus.CounterValue, float64(t.ColdStartsAvoided), name)
		ka := fc.KeepAlive
		ch <- prometheus.MustNewConstMetric(c.keepAlive, prometheus.GaugeValue, ka.IdleTimeout.D().Seconds(), name,
			"idle_timeout", api.KeepAliveConfigured)
		if ka.Source == api.KeepAliveLearned {
			ch <- prometheus.MustNewConstMetric(c.keepAlive, prometheus.GaugeValue, ka.PreWarm.D().Seconds(), name,
				"pre_warm", api.KeepAliveLearned)
			ch <- prometheus.MustNewConstMetric(c.keepAlive, prometheus.GaugeValue, ka.Window.D().Seconds(), name,
				"keep_alive", api.KeepAliveLearned)
		} else {
			ch <- prometheus.MustNewConstMetric(c.keepAlive, prometheus.GaugeValue, ka.PauseTimeout.D().Seconds(), name,
				"pause_timeout", api.KeepAliveConfigured)
		}
	}
}
