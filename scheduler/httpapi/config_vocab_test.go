package httpapi_test

import (
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/hearthfn/hearth/api"
)

// The settings are "memory" and "cpu", as in func.yaml; the old "memory_mb" and "cpu_milli"
// still work and earn a Warning header each.
func TestConfigureVocabulary(t *testing.T) {
	c := &configRegistry{fakeRegistry: &fakeRegistry{}, configure: func(string, api.ConfigPatch) (api.Function, error) {
		return sampleFunction("hello", 3), nil
	}}
	url := serveConfig(t, c)
	i64 := func(n int64) *int64 { return &n }
	for _, tt := range []struct {
		body     string
		want     api.ConfigPatch
		warnings []string
	}{
		{`{"memory":256,"cpu":"500m"}`, api.ConfigPatch{MemoryMB: i64(256), CPUMilli: i64(500)}, nil},
		{`{"cpu":"0.25"}`, api.ConfigPatch{CPUMilli: i64(250)}, nil},
		{`{"cpu":2}`, api.ConfigPatch{CPUMilli: i64(2000)}, nil},
		{`{"cpu":"0"}`, api.ConfigPatch{CPUMilli: i64(0)}, nil},
		{`{"cpu":0}`, api.ConfigPatch{CPUMilli: i64(0)}, nil},
		{`{"memory_mb":300}`, api.ConfigPatch{MemoryMB: i64(300)},
			[]string{`299 - "memory_mb is deprecated; use memory"`}},
		{`{"memory_mb":300,"cpu_milli":750}`, api.ConfigPatch{MemoryMB: i64(300), CPUMilli: i64(750)},
			[]string{`299 - "cpu_milli is deprecated; use cpu"`, `299 - "memory_mb is deprecated; use memory"`}},
	} {
		c.patches = nil
		resp := do(t, http.MethodPatch, url, strings.NewReader(tt.body))
		var fn api.Function
		warnings := resp.Header.Values("Warning")
		decodeJSON(t, resp, http.StatusOK, &fn)
		if len(c.patches) != 1 || !reflect.DeepEqual(c.patches[0], tt.want) {
			t.Errorf("%s: patches = %+v, want %+v", tt.body, c.patches, tt.want)
		}
		if !reflect.DeepEqual(warnings, tt.warnings) {
			t.Errorf("%s: Warning headers = %q, want %q", tt.body, warnings, tt.warnings)
		}
	}

	// A refused body with an old key still says the key is old.
	resp := do(t, http.MethodPatch, url, strings.NewReader(`{"memory_mb":"lots"}`))
	if w := resp.Header.Get("Warning"); !strings.Contains(w, "memory_mb is deprecated") {
		t.Errorf("Warning = %q, want the deprecation", w)
	}
	errorBody(t, resp, http.StatusBadRequest)
}
