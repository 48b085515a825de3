package api_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
)

func TestConfigPatchApply(t *testing.T) {
	orig := api.FunctionSpec{Name: "hello", Runtime: "go", MemoryMB: 256, Env: map[string]string{"A": "1", "B": "2", "C": "3"}}
	var p api.ConfigPatch
	if err := json.Unmarshal([]byte(`{"idle_timeout":"10s","queue":5,"env":{"A":"one","B":null,"C":"","D":"4"}}`), &p); err != nil {
		t.Fatal(err)
	}
	got := p.Apply(orig)
	want := api.FunctionSpec{Name: "hello", Runtime: "go", MemoryMB: 256, IdleTimeout: api.Duration(10 * time.Second),
		Queue: 5, Env: map[string]string{"A": "one", "D": "4"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Apply =\n%+v\nwant\n%+v", got, want)
	}
	if len(orig.Env) != 3 || orig.Env["A"] != "1" {
		t.Errorf("Apply changed the original env: %v", orig.Env)
	}

	// Removing the last variable leaves no env at all; an empty patch changes nothing.
	got = api.ConfigPatch{Env: map[string]*string{"A": nil}}.Apply(api.FunctionSpec{Env: map[string]string{"A": "1"}})
	if got.Env != nil {
		t.Errorf("env = %#v, want nil", got.Env)
	}
	if got := (api.ConfigPatch{}).Apply(orig); !reflect.DeepEqual(got, orig) {
		t.Errorf("empty patch: %+v, want %+v", got, orig)
	}
}

func TestSettingsOfRoundTrips(t *testing.T) {
	spec := api.FunctionSpec{Name: "hello", Runtime: "go", MaxInstances: 3, Env: map[string]string{"A": "1"}}
	b, err := json.Marshal(api.SettingsOf(spec))
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"memory":128,"cpu":"0","timeout":"30s","idle_timeout":"30s","pause_timeout":"5m0s",` +
		`"concurrency":1,"min_instances":0,"max_instances":3,"queue":100,"public":false,"env":{"A":"1"}}`
	if string(b) != want {
		t.Errorf("json =\n%s\nwant\n%s", b, want)
	}
	var p api.ConfigPatch
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	// The hardening fields are func.yaml's only, not settings: they compare once defaulted.
	if got := p.Apply(api.FunctionSpec{Name: "hello", Runtime: "go"}).WithDefaults(); !reflect.DeepEqual(got, spec.WithDefaults()) {
		t.Errorf("applying the settings = %+v, want %+v", got, spec.WithDefaults())
	}
}
