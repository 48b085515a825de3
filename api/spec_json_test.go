package api_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/hearthfn/hearth/api"
)

func TestParseCPU(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int64
	}{{"500m", 500}, {"1m", 1}, {"0.5", 500}, {"2", 2000}, {" 250m ", 250}, {"1.5", 1500}, {"0.001", 1}, {"1000", 1_000_000}} {
		got, err := api.ParseCPU(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseCPU(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"", "0", "0m", "-1", "-500m", "0.0005", "lots", "1.5m", "m", "1001", "1000001m", "NaN", "Inf"} {
		if got, err := api.ParseCPU(in); !errors.Is(err, api.ErrInvalidCPU) {
			t.Errorf("ParseCPU(%q) = %d, %v; want ErrInvalidCPU", in, got, err)
		}
	}
	// A setting may take the limit away; nothing else changes.
	for _, in := range []string{"0", "0m", "0.0"} {
		if got, err := api.ParseCPULimit(in); err != nil || got != 0 {
			t.Errorf("ParseCPULimit(%q) = %d, %v; want 0", in, got, err)
		}
	}
	if got, err := api.ParseCPULimit("250m"); err != nil || got != 250 {
		t.Errorf(`ParseCPULimit("250m") = %d, %v`, got, err)
	}
	if _, err := api.ParseCPULimit("-1"); !errors.Is(err, api.ErrInvalidCPU) {
		t.Errorf(`ParseCPULimit("-1") = %v, want ErrInvalidCPU`, err)
	}
}

func TestFormatCPU(t *testing.T) {
	for milli, want := range map[int64]string{0: "", 500: "500m", 1000: "1", 1500: "1500m", 2000: "2", 1: "1m"} {
		if got := api.FormatCPU(milli); got != want {
			t.Errorf("FormatCPU(%d) = %q, want %q", milli, got, want)
		}
		if milli == 0 {
			continue
		}
		if back, err := api.ParseCPU(api.FormatCPU(milli)); err != nil || back != milli {
			t.Errorf("ParseCPU(FormatCPU(%d)) = %d, %v", milli, back, err)
		}
	}
}

// The spec's JSON says "memory" and "cpu" as func.yaml does, never the Go field names or the
// old keys.
func TestFunctionSpecJSON(t *testing.T) {
	b, err := json.Marshal(api.FunctionSpec{Name: "hello", Runtime: "go", MemoryMB: 256, CPUMilli: 500})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m["memory"] != 256.0 || m["cpu"] != "500m" {
		t.Errorf("json %s: want memory 256 and cpu \"500m\"", b)
	}
	for _, k := range []string{"memory_mb", "cpu_milli", "MemoryMB", "CPUMilli"} {
		if _, ok := m[k]; ok {
			t.Errorf("json %s has %q", b, k)
		}
	}

	// No CPU limit: cpu is left out; memory is always there (0 = the default), as before.
	b, _ = json.Marshal(api.FunctionSpec{Name: "hello"})
	if s := string(b); strings.Contains(s, `"cpu"`) || !strings.Contains(s, `"memory":0`) {
		t.Errorf("json %s: want no cpu and memory 0", b)
	}

	// Inside a Version (and so a Function) the spec is written the same way.
	b, _ = json.Marshal(api.Function{Name: "hello", Version: api.Version{Spec: api.FunctionSpec{CPUMilli: 2000}}})
	if !strings.Contains(string(b), `"cpu":"2"`) {
		t.Errorf("function json %s: want cpu \"2\"", b)
	}
}

func TestFunctionSpecJSONRoundTrip(t *testing.T) {
	spec := api.FunctionSpec{Name: "hello", Runtime: "go", MemoryMB: 256, CPUMilli: 1500, Env: map[string]string{"A": "1"},
		Timeout: api.DefaultTimeout, Constraints: map[string]string{"zone": "a"}}
	b, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	var got api.FunctionSpec
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, spec) {
		t.Errorf("round trip = %+v, want %+v", got, spec)
	}
}

// Specs stored by earlier versions (SQLite rows) and sent by old clients say memory_mb and
// cpu_milli (millicores); they still read.
func TestFunctionSpecReadsOldSpelling(t *testing.T) {
	for _, tt := range []struct {
		json     string
		mem, cpu int64
	}{
		{`{"name":"hello","memory_mb":256,"cpu_milli":500}`, 256, 500},
		{`{"name":"hello","memory_mb":0,"cpu_milli":0}`, 0, 0},
		{`{"name":"hello","memory":512,"cpu":"0.5"}`, 512, 500},
		{`{"name":"hello","memory":512,"cpu":2}`, 512, 2000},
		{`{"name":"hello","cpu":""}`, 0, 0},
		// Both spellings: the new one wins.
		{`{"name":"hello","memory":512,"memory_mb":256,"cpu":"250m","cpu_milli":500}`, 512, 250},
	} {
		var s api.FunctionSpec
		if err := json.Unmarshal([]byte(tt.json), &s); err != nil {
			t.Errorf("%s: %v", tt.json, err)
			continue
		}
		if s.Name != "hello" || s.MemoryMB != tt.mem || s.CPUMilli != tt.cpu {
			t.Errorf("%s: name %q memory %d cpu %d, want hello, %d, %d", tt.json, s.Name, s.MemoryMB, s.CPUMilli, tt.mem, tt.cpu)
		}
	}
	var s api.FunctionSpec
	if err := json.Unmarshal([]byte(`{"cpu":"lots"}`), &s); !errors.Is(err, api.ErrInvalidCPU) {
		t.Errorf("cpu lots: %v, want ErrInvalidCPU", err)
	}
	// null leaves the spec as it was, as encoding/json does for a struct.
	s = api.FunctionSpec{Name: "kept", MemoryMB: 64}
	if err := json.Unmarshal([]byte(`null`), &s); err != nil || s.Name != "kept" || s.MemoryMB != 64 {
		t.Errorf("null: %+v, %v", s, err)
	}
}

func TestConfigPatchJSON(t *testing.T) {
	mem, cpu := int64(256), int64(250)
	b, err := json.Marshal(api.ConfigPatch{MemoryMB: &mem, CPUMilli: &cpu})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"memory":256,"cpu":"250m"}` {
		t.Errorf("json = %s", b)
	}
	zero := int64(0)
	if b, _ := json.Marshal(api.ConfigPatch{CPUMilli: &zero}); string(b) != `{"cpu":"0"}` {
		t.Errorf("no limit: json = %s, want cpu \"0\"", b)
	}
	for _, in := range []string{`{"memory":256,"cpu":"250m"}`, `{"memory_mb":256,"cpu_milli":250}`, `{"memory":256,"cpu":0.25}`} {
		var p api.ConfigPatch
		if err := json.Unmarshal([]byte(in), &p); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if p.MemoryMB == nil || *p.MemoryMB != 256 || p.CPUMilli == nil || *p.CPUMilli != 250 {
			t.Errorf("%s: %+v", in, p)
		}
	}
	var p api.ConfigPatch
	if err := json.Unmarshal([]byte(`{"queue":5}`), &p); err != nil || p.MemoryMB != nil || p.CPUMilli != nil || p.Queue == nil || *p.Queue != 5 {
		t.Errorf("queue only: %+v, %v", p, err)
	}
}
