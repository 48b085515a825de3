package metrics_test

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/metrics"
)

type fakeCosts map[string]api.FunctionCost

func (f fakeCosts) Costs() map[string]api.FunctionCost { return f }

func TestCostMetrics(t *testing.T) {
	m := metrics.New(nil)
	src := fakeCosts{
		"a": {Total: api.CostWindow{WarmMBSeconds: 1280, BusyMBSeconds: 256, PausedMBSeconds: 2560, ColdStartsAvoided: 3},
			KeepAlive: api.KeepAlive{Source: api.KeepAliveConfigured, IdleTimeout: api.Duration(30 * time.Second),
				PauseTimeout: api.Duration(10 * time.Minute)}},
		"b": {KeepAlive: api.KeepAlive{Source: api.KeepAliveLearned, IdleTimeout: api.Duration(time.Second),
			PreWarm: api.Duration(20 * time.Second), Window: api.Duration(90 * time.Second)}},
	}
	if err := m.CollectCost(src); err != nil {
		t.Fatal(err)
	}
	if err := m.CollectCost(src); err == nil {
		t.Fatal("registered the cost metrics twice")
	}
	want := `
# HELP hearth_cold_starts_avoided_total Calls that keep-alive spared a new start: calls that resumed a paused instance, or took a ready one idle for at least 1 s.
# TYPE hearth_cold_starts_avoided_total counter
hearth_cold_starts_avoided_total{function="a"} 3
hearth_cold_starts_avoided_total{function="b"} 0
# HELP hearth_function_keepalive_seconds The keep-alive settings in force for a function, by setting (idle_timeout, pause_timeout; pre_warm and keep_alive when learned) and source (configured or learned).
# TYPE hearth_function_keepalive_seconds gauge
hearth_function_keepalive_seconds{function="a",setting="idle_timeout",source="configured"} 30
hearth_function_keepalive_seconds{function="a",setting="pause_timeout",source="configured"} 600
hearth_function_keepalive_seconds{function="b",setting="idle_timeout",source="configured"} 1
hearth_function_keepalive_seconds{function="b",setting="keep_alive",source="learned"} 90
hearth_function_keepalive_seconds{function="b",setting="pre_warm",source="learned"} 20
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want),
		"hearth_cold_starts_avoided_total", "hearth_function_keepalive_seconds"); err != nil {
		t.Fatal(err)
	}
	mf := gather(t, m, "hearth_function_memory_seconds_total")
	got := map[string]float64{}
	for _, s := range mf.GetMetric() {
		got[label(s.GetLabel(), "function")+"/"+label(s.GetLabel(), "state")] = s.GetCounter().GetValue()
	}
	for k, v := range map[string]float64{"a/warm": 1280, "a/busy": 256, "a/paused": 2560, "b/warm": 0} {
		if got[k] != v {
			t.Fatalf("memory-seconds %s = %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
}
