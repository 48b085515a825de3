package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/runtimes/funcfile"
	"github.com/hearthfn/hearth/scheduler/httpapi"
)

// Configure makes fakeRegistry a Registry; tests that configure serve a configRegistry, which
// scripts it.
func (f *fakeRegistry) Configure(_ context.Context, name string, _ api.ConfigPatch) (api.Function, error) {
	f.record("Configure " + name)
	return api.Function{}, errUnscripted
}

// configRegistry is a fakeRegistry whose Configure is scripted and records the patches.
type configRegistry struct {
	*fakeRegistry
	configure func(name string, p api.ConfigPatch) (api.Function, error)
	patches   []api.ConfigPatch
}

func (c *configRegistry) Configure(_ context.Context, name string, p api.ConfigPatch) (api.Function, error) {
	c.record("Configure " + name)
	c.patches = append(c.patches, p)
	return c.configure(name, p)
}

// serveConfig serves c; the handler calls Configure on its own goroutine, but the tests read
// patches only after the answer, so the two never overlap.
func serveConfig(t *testing.T, c *configRegistry) string {
	t.Helper()
	srv, _ := serve(t, c.fakeRegistry, func(d *httpapi.Deps) { d.Registry = c })
	return srv.URL + "/v1/functions/hello/config"
}

// settingErr is what the registry returns for a refused value: an error wrapping a
// *funcfile.FieldError, with its own message.
type settingErr struct{ fe *funcfile.FieldError }

func (e settingErr) Error() string { return fmt.Sprintf("setting %q: %s", e.fe.Field, e.fe.Reason) }
func (e settingErr) Unwrap() error { return e.fe }

func TestConfigure(t *testing.T) {
	want := sampleFunction("hello", 3)
	c := &configRegistry{fakeRegistry: &fakeRegistry{}, configure: func(name string, p api.ConfigPatch) (api.Function, error) {
		if name != "hello" {
			return api.Function{}, notFound(name)
		}
		return want, nil
	}}
	url := serveConfig(t, c)

	var got api.Function
	body := `{"idle_timeout":"10s","pause_timeout":60,"max_instances":5,"env":{"A":"b","GONE":null,"EMPTY":""}}`
	decodeJSON(t, do(t, http.MethodPatch, url, strings.NewReader(body)), http.StatusOK, &got)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("function =\n%+v\nwant\n%+v", got, want)
	}
	b, empty := "b", ""
	idle, pause, maxInst := api.Duration(10*time.Second), api.Duration(time.Minute), 5
	wantPatch := api.ConfigPatch{IdleTimeout: &idle, PauseTimeout: &pause, MaxInstances: &maxInst,
		Env: map[string]*string{"A": &b, "GONE": nil, "EMPTY": &empty}}
	if len(c.patches) != 1 || !reflect.DeepEqual(c.patches[0], wantPatch) {
		t.Errorf("patches = %+v, want %+v", c.patches, wantPatch)
	}

	e := errorBody(t, do(t, http.MethodPatch, strings.Replace(url, "hello", "nope", 1), strings.NewReader(`{}`)), http.StatusNotFound)
	if e.Code != api.CodeNotFound || !strings.Contains(e.Message, `"nope"`) {
		t.Errorf("unknown function: error %+v, want not_found naming it", e)
	}
	if got, want := c.Calls(), []string{"Configure hello", "Configure nope"}; !reflect.DeepEqual(got, want) {
		t.Errorf("registry calls = %q, want %q", got, want)
	}
}

func TestConfigureRejectsBadBodies(t *testing.T) {
	tests := []struct {
		name, body, field, msgPart string
	}{
		{"not JSON", `max_instances=5`, "", "JSON object"},
		{"empty", ``, "", "JSON object"},
		{"array", `[1]`, "", "JSON object"},
		{"null", `null`, "", "JSON object"},
		{"unknown key", `{"max_instances":5,"replicas":2}`, "replicas", `unknown setting "replicas": the settings are memory, cpu, timeout`},
		{"typo", `{"memroy":256}`, "memroy", `unknown setting "memroy" (did you mean "memory"?): the settings are memory, cpu`},
		{"spec key that is not a setting", `{"runtime":"python"}`, "runtime", "unknown setting"},
		{"int as string", `{"max_instances":"5"}`, "max_instances", "must be a whole number"},
		{"fractional int", `{"memory":12.5}`, "memory", `setting "memory": ` + funcfile.MemoryReason},
		{"old fractional int", `{"memory_mb":12.5}`, "memory_mb", "whole number of megabytes"},
		{"memory as string", `{"memory":"256"}`, "memory", "whole number of megabytes"},
		{"cpu not an amount", `{"cpu":"lots"}`, "cpu", `setting "cpu": ` + funcfile.CPUReason + `, or "0" for no limit`},
		{"cpu finer than a millicore", `{"cpu":"0.0005"}`, "cpu", "CPU amount"},
		{"cpu negative", `{"cpu":-1}`, "cpu", "CPU amount"},
		{"cpu as bool", `{"cpu":true}`, "cpu", "CPU amount"},
		{"old cpu as string", `{"cpu_milli":"500m"}`, "cpu_milli", "whole number of millicores"},
		{"both spellings", `{"memory":256,"memory_mb":256}`, "memory_mb", `"memory" and "memory_mb" are the same setting`},
		{"bad duration", `{"timeout":"soon"}`, "timeout", `such as "30s"`},
		{"duration as bool", `{"idle_timeout":true}`, "idle_timeout", "duration"},
		{"null setting", `{"queue":null}`, "queue", "null is not a value"},
		{"env not an object", `{"env":["A"]}`, "env", "object of variables"},
		{"env number", `{"env":{"A":"x","N":8080}}`, "env.N", "must be a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &configRegistry{fakeRegistry: &fakeRegistry{}}
			url := serveConfig(t, c)
			e := errorBody(t, do(t, http.MethodPatch, url, strings.NewReader(tt.body)), http.StatusBadRequest)
			if e.Code != api.CodeInvalid || e.Field != tt.field || !strings.Contains(e.Message, tt.msgPart) {
				t.Errorf("error %+v, want invalid, field %q, message containing %q", e, tt.field, tt.msgPart)
			}
			if calls := c.Calls(); len(calls) != 0 {
				t.Errorf("registry called: %q", calls)
			}
		})
	}
}

func TestConfigureValidationError(t *testing.T) {
	c := &configRegistry{fakeRegistry: &fakeRegistry{}, configure: func(string, api.ConfigPatch) (api.Function, error) {
		return api.Function{}, settingErr{&funcfile.FieldError{Field: "queue", Reason: "must be a whole number from 1 to 10000"}}
	}}
	url := serveConfig(t, c)
	e := errorBody(t, do(t, http.MethodPatch, url, strings.NewReader(`{"queue":20000}`)), http.StatusBadRequest)
	want := api.ErrorDetail{Code: api.CodeInvalid, Field: "queue", Message: `setting "queue": must be a whole number from 1 to 10000`}
	if e != want {
		t.Errorf("error = %+v, want %+v", e, want)
	}
}

func TestConfigureMethods(t *testing.T) {
	c := &configRegistry{fakeRegistry: &fakeRegistry{}}
	url := serveConfig(t, c)
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut} {
		resp := do(t, m, url, strings.NewReader(`{}`))
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s config: status %d, want 405", m, resp.StatusCode)
		}
	}
}

func TestConfigureBodyTooLarge(t *testing.T) {
	c := &configRegistry{fakeRegistry: &fakeRegistry{}}
	url := serveConfig(t, c)
	big := `{"env":{"A":"` + strings.Repeat("x", 2<<20) + `"}}`
	e := errorBody(t, do(t, http.MethodPatch, url, strings.NewReader(big)), http.StatusRequestEntityTooLarge)
	if e.Code != api.CodeTooLarge {
		t.Errorf("error = %+v, want too_large", e)
	}
}
