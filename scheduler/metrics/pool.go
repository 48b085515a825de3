package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hearthfn/hearth/scheduler/pool"
)

// StatsSource is what the pool's gauges are read from; *pool.Pool is one.
type StatsSource interface {
	Stats() pool.Stats
}

// instanceStates are the states every function reports, at zero when it has no instance in
// them, so that a state emptying reads 0 rather than vanishing from the graphs. A state the pool
// reports beyond these is exported too.
var instanceStates = [...]string{"starting", "ready", "busy", "pausing", "paused", "resuming", "draining"}

// poolCollector reads the pool's state at scrape time: gauges that mirror a snapshot need no
// bookkeeping on the call path.
type poolCollector struct {
	src       StatsSource
	instances *prometheus.Desc
	queue     *prometheus.Desc
	reserved  *prometheus.Desc
	capacity  *prometheus.Desc
}

var _ prometheus.Collector = (*poolCollector)(nil)

func newPoolCollector(src StatsSource) *poolCollector {
	return &poolCollector{
		src: src,
		instances: prometheus.NewDesc("hearth_instances",
			"Instances of each function, by state.", []string{"function", "state"}, nil),
		queue: prometheus.NewDesc("hearth_queue_depth",
			"Calls waiting for a free instance slot, by function.", []string{"function"}, nil),
		reserved: prometheus.NewDesc("hearth_pool_memory_reserved_bytes",
			"Memory reserved on the node by live instances.", nil, nil),
		capacity: prometheus.NewDesc("hearth_pool_memory_capacity_bytes",
			"Memory the pool may reserve in all; absent when unlimited.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.instances
	ch <- c.queue
	ch <- c.reserved
	ch <- c.capacity
}

// Collect implements prometheus.Collector.
func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.src.Stats()
	for _, f := range st.Functions {
		for _, s := range instanceStates {
			ch <- prometheus.MustNewConstMetric(c.instances, prometheus.GaugeValue, float64(f.Instances[s]), f.Function, s)
		}
		for s, n := range f.Instances {
			if !knownState(s) {
				ch <- prometheus.MustNewConstMetric(c.instances, prometheus.GaugeValue, float64(n), f.Function, s)
			}
		}
		ch <- prometheus.MustNewConstMetric(c.queue, prometheus.GaugeValue, float64(f.Queued), f.Function)
	}
	ch <- prometheus.MustNewConstMetric(c.reserved, prometheus.GaugeValue, mib(st.Reserved.MemoryMB))
	if st.Capacity.MemoryMB > 0 {
		ch <- prometheus.MustNewConstMetric(c.capacity, prometheus.GaugeValue, mib(st.Capacity.MemoryMB))
	}
}

func knownState(s string) bool {
	for _, k := range instanceStates {
		if s == k {
			return true
		}
	}
	return false
}

func mib(n int64) float64 { return float64(n) * (1 << 20) }
