package metrics_test

import (
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/hearthfn/hearth/scheduler/metrics"
)

// gather returns the metric family called name, failing the test when there is none.
func gather(t *testing.T, m *metrics.Metrics, name string) *dto.MetricFamily {
	t.Helper()
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf
		}
	}
	t.Fatalf("no metric %s gathered", name)
	return nil
}

func label(pairs []*dto.LabelPair, name string) string {
	for _, p := range pairs {
		if p.GetName() == name {
			return p.GetValue()
		}
	}
	return ""
}
