package metrics_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/scheduler/metrics"
	"github.com/hearthfn/hearth/scheduler/pool"
)

type fakeStats struct{ st pool.Stats }

func (f *fakeStats) Stats() pool.Stats { return f.st }

func TestCallDoneCountsByFunctionAndOutcome(t *testing.T) {
	m := metrics.New(nil)
	m.CallDone("a", "ok", 2*time.Millisecond)
	m.CallDone("a", "ok", 3*time.Millisecond)
	m.CallDone("a", "queue_full", time.Microsecond)
	m.CallDone("b", "timeout", time.Second)

	want := `
# HELP hearth_calls_total Calls to functions, by how they ended at the platform level (ok: an instance answered, with any status).
# TYPE hearth_calls_total counter
hearth_calls_total{function="a",outcome="ok"} 2
hearth_calls_total{function="a",outcome="queue_full"} 1
hearth_calls_total{function="b",outcome="timeout"} 1
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "hearth_calls_total"); err != nil {
		t.Fatal(err)
	}
}

func TestCallDurationLeavesOutRefusals(t *testing.T) {
	m := metrics.New(nil)
	m.CallDone("a", "ok", 2*time.Millisecond)
	m.CallDone("a", "handler_error", 4*time.Millisecond)
	m.CallDone("a", "queue_full", time.Microsecond)
	m.CallDone("a", "canceled", time.Second)

	mf := gather(t, m, "hearth_call_duration_seconds")
	h := mf.GetMetric()[0].GetHistogram()
	if got := label(mf.GetMetric()[0].GetLabel(), "function"); got != "a" {
		t.Fatalf("function label %q, want a", got)
	}
	if h.GetSampleCount() != 2 {
		t.Fatalf("histogram has %d samples, want 2 (ok and handler_error only)", h.GetSampleCount())
	}
	if s := h.GetSampleSum(); s < 0.0059 || s > 0.0061 {
		t.Fatalf("histogram sum %v, want 0.006", s)
	}
	b := h.GetBucket()
	if b[0].GetUpperBound() != 0.0001 || b[len(b)-1].GetUpperBound() < 60 {
		t.Fatalf("buckets run from %v to %v, want 0.1 ms to at least 60 s", b[0].GetUpperBound(), b[len(b)-1].GetUpperBound())
	}
}

func TestColdStartByKind(t *testing.T) {
	m := metrics.New(nil)
	var _ pool.Observer = m
	m.ColdStart("a", pool.ColdNew, 800*time.Millisecond)
	m.ColdStart("a", pool.ColdResumed, 20*time.Millisecond)
	m.ColdStart("a", pool.ColdResumed, 30*time.Millisecond)
	m.ColdStart("a", pool.Warm, 0) // not a cold start

	want := `
# HELP hearth_cold_starts_total Calls that waited for an instance to start (kind new) or resume from pause (kind resumed).
# TYPE hearth_cold_starts_total counter
hearth_cold_starts_total{function="a",kind="new"} 1
hearth_cold_starts_total{function="a",kind="resumed"} 2
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "hearth_cold_starts_total"); err != nil {
		t.Fatal(err)
	}
	for _, met := range gather(t, m, "hearth_cold_start_wait_seconds").GetMetric() {
		h := met.GetHistogram()
		switch kind := label(met.GetLabel(), "kind"); kind {
		case "new":
			if h.GetSampleCount() != 1 || h.GetSampleSum() != 0.8 {
				t.Errorf("new: %d samples summing to %v, want 1 and 0.8", h.GetSampleCount(), h.GetSampleSum())
			}
		case "resumed":
			if h.GetSampleCount() != 2 || h.GetSampleSum() != 0.05 {
				t.Errorf("resumed: %d samples summing to %v, want 2 and 0.05", h.GetSampleCount(), h.GetSampleSum())
			}
		default:
			t.Errorf("unexpected kind %q", kind)
		}
	}
}

func TestPoolGaugesReadAtScrape(t *testing.T) {
	src := &fakeStats{st: pool.Stats{
		Functions: []pool.FunctionStats{
			{Function: "a", Instances: map[string]int{"ready": 2, "busy": 1, "paused": 3}, Queued: 4},
			{Function: "b", Instances: map[string]int{"stopping": 1}},
		},
		Reserved: instance.Resources{MemoryMB: 384},
		Capacity: instance.Resources{MemoryMB: 1024},
	}}
	m := metrics.New(nil)
	if err := m.CollectPool(src); err != nil {
		t.Fatal(err)
	}
	if err := m.CollectPool(src); err == nil {
		t.Fatal("registering the pool's gauges twice did not fail")
	}
	want := `
# HELP hearth_pool_memory_capacity_bytes Memory the pool may reserve in all; absent when unlimited.
# TYPE hearth_pool_memory_capacity_bytes gauge
hearth_pool_memory_capacity_bytes 1.073741824e+09
# HELP hearth_pool_memory_reserved_bytes Memory reserved on the node by live instances.
# TYPE hearth_pool_memory_reserved_bytes gauge
hearth_pool_memory_reserved_bytes 4.02653184e+08
# HELP hearth_queue_depth Calls waiting for a free instance slot, by function.
# TYPE hearth_queue_depth gauge
hearth_queue_depth{function="a"} 4
hearth_queue_depth{function="b"} 0
`
	names := []string{"hearth_pool_memory_capacity_bytes", "hearth_pool_memory_reserved_bytes", "hearth_queue_depth"}
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), names...); err != nil {
		t.Fatal(err)
	}

	got := map[string]float64{}
	for _, met := range gather(t, m, "hearth_instances").GetMetric() {
		got[label(met.GetLabel(), "function")+"/"+label(met.GetLabel(), "state")] = met.GetGauge().GetValue()
	}
	for key, v := range map[string]float64{
		"a/ready": 2, "a/busy": 1, "a/paused": 3, "a/starting": 0, "a/draining": 0,
		"b/stopping": 1, "b/ready": 0,
	} {
		if n, ok := got[key]; !ok || n != v {
			t.Errorf("hearth_instances %s = %v (present %v), want %v", key, n, ok, v)
		}
	}
	if len(got) != 2*7+1 {
		t.Errorf("%d instance series, want every known state per function plus b's stopping: %v", len(got), got)
	}

	// The gauges follow the pool; an unlimited pool has no capacity series.
	src.st = pool.Stats{Functions: []pool.FunctionStats{{Function: "a", Queued: 1}}}
	if n := testutil.CollectAndCount(m.Registry(), "hearth_pool_memory_capacity_bytes"); n != 0 {
		t.Errorf("capacity reported for an unlimited pool (%d series)", n)
	}
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(`
# HELP hearth_queue_depth Calls waiting for a free instance slot, by function.
# TYPE hearth_queue_depth gauge
hearth_queue_depth{function="a"} 1
`), "hearth_queue_depth"); err != nil {
		t.Fatal(err)
	}
}

func TestHandlerServesTextFormat(t *testing.T) {
	m := metrics.New(nil)
	if err := m.CollectPool(&fakeStats{}); err != nil {
		t.Fatal(err)
	}
	m.CallDone("a", "ok", time.Millisecond)
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, body)
	}
	for _, want := range []string{
		`hearth_calls_total{function="a",outcome="ok"} 1`,
		`hearth_call_duration_seconds_bucket{function="a",le="0.0015625"} 1`,
		"hearth_pool_memory_reserved_bytes 0",
		"go_goroutines ",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func BenchmarkCallDone(b *testing.B) {
	m := metrics.New(nil)
	b.ReportAllocs()
	for b.Loop() {
		m.CallDone("some-function", "ok", time.Millisecond)
	}
}
