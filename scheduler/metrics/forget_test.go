package metrics_test

import (
	"testing"
	"time"

	"github.com/hearthfn/hearth/scheduler/metrics"
	"github.com/hearthfn/hearth/scheduler/pool"
)

// A deleted function's series go; the others stay.
func TestForgetDropsADeletedFunctionsSeries(t *testing.T) {
	m := metrics.New(nil)
	for _, fn := range []string{"gone", "kept"} {
		m.CallDone(fn, "ok", time.Millisecond)
		m.CallDone(fn, "timeout", time.Second)
		m.ColdStart(fn, pool.ColdNew, time.Millisecond)
	}
	m.Forget("gone")
	for _, name := range []string{"hearth_calls_total", "hearth_call_duration_seconds", "hearth_cold_starts_total"} {
		for _, s := range gather(t, m, name).GetMetric() {
			if fn := label(s.GetLabel(), "function"); fn != "kept" {
				t.Errorf("%s still has a series of %q", name, fn)
			}
		}
	}
	if n := len(gather(t, m, "hearth_calls_total").GetMetric()); n != 2 {
		t.Errorf("hearth_calls_total has %d series, want kept's 2", n)
	}
}
