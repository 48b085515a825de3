package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/httpapi"
)

// fakeVersions scripts the registry's rollback and alias answers and records the requests.
type fakeVersions struct {
	calls []string
	err   error
}

type fieldErr struct{ field, msg string }

func (e fieldErr) Error() string        { return e.msg }
func (e fieldErr) InvalidField() string { return e.field }

type conflictErr struct{ msg string }

func (e conflictErr) Error() string { return e.msg }
func (e conflictErr) Conflict()     {}

func (f *fakeVersions) Rollback(_ context.Context, name string, version int) (api.Function, int, error) {
	f.calls = append(f.calls, "Rollback "+name+" "+string(rune('0'+version)))
	return sampleFunction(name, version), 3, f.err
}

func (f *fakeVersions) Aliases(_ context.Context, name string) ([]api.Alias, error) {
	f.calls = append(f.calls, "Aliases "+name)
	return []api.Alias{{Name: "live", Weights: []api.AliasWeight{{Version: 1, Weight: 100}}}}, f.err
}

func (f *fakeVersions) SetAlias(_ context.Context, name, alias string, ws []api.AliasWeight) (api.Alias, error) {
	f.calls = append(f.calls, "SetAlias "+name+" "+alias+" "+api.FormatWeights(ws))
	return api.Alias{Name: alias, Weights: ws}, f.err
}

func (f *fakeVersions) DeleteAlias(_ context.Context, name, alias string) error {
	f.calls = append(f.calls, "DeleteAlias "+name+" "+alias)
	return f.err
}

func (f *fakeVersions) SetDefaultAlias(_ context.Context, name, alias string) (api.Function, error) {
	f.calls = append(f.calls, "SetDefaultAlias "+name+" "+alias)
	fn := sampleFunction(name, 1)
	fn.DefaultAlias = alias
	return fn, f.err
}

func serveVersions(t *testing.T, v *fakeVersions) string {
	t.Helper()
	srv, _ := serve(t, &fakeRegistry{}, func(d *httpapi.Deps) { d.Versions = v })
	return srv.URL + "/v1/functions/hello"
}

func sendVersions(t *testing.T, method, url, contentType, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

func TestVersionEndpoints(t *testing.T) {
	v := &fakeVersions{}
	url := serveVersions(t, v)
	var fn api.Function
	decodeJSON(t, sendVersions(t, http.MethodPost, url+"/rollback", "application/json", `{"version": 2}`), http.StatusOK, &fn)
	decodeJSON(t, sendVersions(t, http.MethodPost, url+"/rollback", "application/json", ``), http.StatusOK, &fn)
	var al api.AliasList
	decodeJSON(t, sendVersions(t, http.MethodGet, url+"/aliases", "", ""), http.StatusOK, &al)
	var a api.Alias
	decodeJSON(t, sendVersions(t, http.MethodPut, url+"/aliases/live", "application/json",
		`{"weights": [{"version": 3, "weight": 90}, {"version": 4, "weight": 10}]}`), http.StatusOK, &a)
	if resp := sendVersions(t, http.MethodDelete, url+"/aliases/live", "", ""); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE alias: %d", resp.StatusCode)
	}
	decodeJSON(t, sendVersions(t, http.MethodPut, url+"/default-alias", "application/json", `{"alias": "live"}`), http.StatusOK, &fn)
	if fn.DefaultAlias != "live" {
		t.Fatalf("default-alias answered %+v", fn)
	}
	want := []string{"Rollback hello 2", "Rollback hello 0", "Aliases hello", "SetAlias hello live 3=90 4=10",
		"DeleteAlias hello live", "SetDefaultAlias hello live"}
	if strings.Join(v.calls, "|") != strings.Join(want, "|") {
		t.Fatalf("the registry got %q, want %q", v.calls, want)
	}
}

func TestVersionEndpointErrors(t *testing.T) {
	v := &fakeVersions{}
	url := serveVersions(t, v)
	if e := errorBody(t, sendVersions(t, http.MethodPost, url+"/rollback", "application/json", `{"versoin": 2}`), http.StatusBadRequest); e.Code != api.CodeInvalid || !strings.Contains(e.Message, `unknown field "versoin"`) {
		t.Errorf("unknown key: %+v", e)
	}
	if resp := sendVersions(t, http.MethodPut, url+"/aliases/live", "text/plain", `{}`); resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("PUT alias without JSON: %d, want 415", resp.StatusCode)
	}
	v.err = fieldErr{"version", "hello has no version 9"}
	e := errorBody(t, sendVersions(t, http.MethodPost, url+"/rollback", "application/json", `{"version": 9}`), http.StatusBadRequest)
	if e.Code != api.CodeInvalid || e.Field != "version" || e.Message != "hello has no version 9" {
		t.Errorf("a field error: %+v", e)
	}
	v.err = &api.AliasError{Field: "weights", Reason: "the weights add up to 110, not 100"}
	e = errorBody(t, sendVersions(t, http.MethodPut, url+"/aliases/live", "application/json", `{"weights": []}`), http.StatusBadRequest)
	if e.Field != "weights" || e.Message != "the weights add up to 110, not 100" {
		t.Errorf("an alias error: %+v", e)
	}
	v.err = conflictErr{"alias live is the default alias of hello"}
	e = errorBody(t, sendVersions(t, http.MethodDelete, url+"/aliases/live", "", ""), http.StatusConflict)
	if e.Code != api.CodeConflict || e.Message != "alias live is the default alias of hello" {
		t.Errorf("a conflict: %+v", e)
	}
}

func TestInvokeWithAliasIsAuthorizedAsTheFunction(t *testing.T) {
	srv, inv := serve(t, &fakeRegistry{})
	if resp := sendVersions(t, http.MethodPost, srv.URL+"/invoke/hello@live/a/b", "", ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("invoke hello@live: %d", resp.StatusCode)
	}
	if got := inv.Calls(); len(got) != 1 || got[0].function != "hello@live" || got[0].path != "/a/b" {
		t.Fatalf("the invoker got %+v, want hello@live with /a/b", got)
	}
}
