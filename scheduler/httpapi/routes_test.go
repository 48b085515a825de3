package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/httpapi"
	"github.com/hearthfn/hearth/scheduler/store"
)

// fakeRegistry answers with whatever the test scripted and records every call. A method the
// test did not script fails the request with a 500, which every test notices.
type fakeRegistry struct {
	deploy   func(ctx context.Context, name string, src io.Reader, progress func(string)) (api.Function, bool, error)
	get      func(name string) (api.Function, error)
	list     func(page store.FunctionPage) ([]api.Function, error)
	versions func(name string, page store.VersionPage) ([]api.Version, error)
	delete   func(name string) error

	mu    sync.Mutex
	calls []string // "Method name"
}

var _ httpapi.Registry = (*fakeRegistry)(nil)

var errUnscripted = errors.New("unscripted registry call")

func (f *fakeRegistry) record(call string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
}

func (f *fakeRegistry) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeRegistry) Deploy(ctx context.Context, name string, src io.Reader, progress func(string)) (api.Function, bool, error) {
	f.record("Deploy " + name)
	if f.deploy == nil {
		return api.Function{}, false, errUnscripted
	}
	return f.deploy(ctx, name, src, progress)
}

func (f *fakeRegistry) Get(_ context.Context, name string) (api.Function, error) {
	f.record("Get " + name)
	if f.get == nil {
		return api.Function{}, errUnscripted
	}
	return f.get(name)
}

func (f *fakeRegistry) List(_ context.Context, page store.FunctionPage) ([]api.Function, error) {
	f.record("List")
	if f.list == nil {
		return nil, errUnscripted
	}
	return f.list(page)
}

func (f *fakeRegistry) Versions(_ context.Context, name string, page store.VersionPage) ([]api.Version, error) {
	f.record("Versions " + name)
	if f.versions == nil {
		return nil, errUnscripted
	}
	return f.versions(name, page)
}

// listing returns a fake registry's list: the page of fns (sorted by name) that page selects,
// as the store selects it.
func listing(fns ...api.Function) func(store.FunctionPage) ([]api.Function, error) {
	return func(page store.FunctionPage) ([]api.Function, error) {
		out := []api.Function{}
		for _, fn := range fns {
			if fn.Name > page.After && (page.Names == nil || slices.Contains(page.Names, fn.Name)) &&
				(page.Limit <= 0 || len(out) < page.Limit) {
				out = append(out, fn)
			}
		}
		return out, nil
	}
}

func (f *fakeRegistry) Delete(_ context.Context, name string) error {
	f.record("Delete " + name)
	if f.delete == nil {
		return errUnscripted
	}
	return f.delete(name)
}

// invocation is one call the fake invoker served.
type invocation struct {
	method, function, path, query string
	// auth is the Authorization header the function would have seen.
	auth string
}

// fakeInvoker records what the front door hands it and answers 200 "invoked".
type fakeInvoker struct {
	mu    sync.Mutex
	calls []invocation
}

var _ httpapi.Invoker = (*fakeInvoker)(nil)

func (f *fakeInvoker) Invoke(w http.ResponseWriter, r *http.Request, function, path string) {
	f.mu.Lock()
	f.calls = append(f.calls, invocation{method: r.Method, function: function, path: path, query: r.URL.RawQuery, auth: r.Header.Get("Authorization")})
	f.mu.Unlock()
	_, _ = io.WriteString(w, "invoked")
}

func (f *fakeInvoker) Calls() []invocation {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]invocation(nil), f.calls...)
}

var testInfo = api.Info{Version: "1.2.3", Node: "node-1", Driver: "fake 1.0.0", Ready: true}

// serve starts the whole API handler over reg, with a fresh fake invoker, on a real HTTP server
// so that streaming and Content-Length behave as they do in production. Requests without a
// token of their own get the admin's, as the CLI would send it: auth_test.go tests tokens
// themselves, with serveBare.
func serve(t *testing.T, reg *fakeRegistry, opts ...func(*httpapi.Deps)) (*httptest.Server, *fakeInvoker) {
	t.Helper()
	h, inv := newHandler(t, reg, opts...)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			r.Header.Set("Authorization", "Bearer "+adminToken)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, inv
}

// serveBare is serve without the admin token.
func serveBare(t *testing.T, reg *fakeRegistry, opts ...func(*httpapi.Deps)) (*httptest.Server, *fakeInvoker) {
	t.Helper()
	h, inv := newHandler(t, reg, opts...)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, inv
}

func newHandler(t *testing.T, reg *fakeRegistry, opts ...func(*httpapi.Deps)) (http.Handler, *fakeInvoker) {
	inv := &fakeInvoker{}
	d := httpapi.Deps{
		Registry: reg,
		Invoker:  inv,
		Info:     func(context.Context) api.Info { return testInfo },
		Log:      slog.New(slog.NewTextHandler(t.Output(), nil)),
		Auth:     testTokens,
		Access:   allPublic{},
	}
	for _, o := range opts {
		o(&d)
	}
	return httpapi.New(d), inv
}

func do(t *testing.T, method, url string, body io.Reader) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	// Each state-changing endpoint's own content type, as the CLI sends it (auth_test.go
	// checks that others are refused).
	switch {
	case strings.HasSuffix(req.URL.Path, "/versions"):
		req.Header.Set("Content-Type", "application/gzip")
	case strings.HasSuffix(req.URL.Path, "/config"):
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

// decodeJSON checks the status and Content-Type and decodes the body into v, refusing fields
// v does not have.
func decodeJSON(t *testing.T, resp *http.Response, status int, v any) {
	t.Helper()
	if resp.StatusCode != status {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s %s: status %d (%s), want %d", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, b, status)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	dec := json.NewDecoder(resp.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode body: %v", err)
	}
}

// errorBody checks that resp is an error with the stable JSON shape and returns its detail.
func errorBody(t *testing.T, resp *http.Response, status int) api.ErrorDetail {
	t.Helper()
	var body api.ErrorBody
	decodeJSON(t, resp, status, &body)
	if body.Error.Code == "" || body.Error.Message == "" {
		t.Errorf("error body %+v lacks a code or a message", body.Error)
	}
	return body.Error
}

func sampleFunction(name string, version int) api.Function {
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	return api.Function{
		Name: name,
		Version: api.Version{Number: version, Image: "hearth/" + name + ":abc", SourceHash: "abc", CreatedAt: at,
			Spec: api.FunctionSpec{Name: name, Runtime: "go"}.WithDefaults()},
		URL:       "http://hearth.test/invoke/" + name,
		CreatedAt: at,
		UpdatedAt: at,
	}
}

func notFound(name string) error {
	return fmt.Errorf("function %q: %w", name, store.ErrNotFound)
}

func TestListFunctions(t *testing.T) {
	want := []api.Function{sampleFunction("alpha", 1), sampleFunction("beta", 3)}
	reg := &fakeRegistry{list: listing(want...)}
	srv, _ := serve(t, reg)

	var got api.FunctionList
	decodeJSON(t, do(t, http.MethodGet, srv.URL+"/v1/functions", nil), http.StatusOK, &got)
	if !reflect.DeepEqual(got.Items, want) {
		t.Errorf("items =\n%+v\nwant\n%+v", got.Items, want)
	}
}

func TestListFunctionsError(t *testing.T) {
	reg := &fakeRegistry{list: func(store.FunctionPage) ([]api.Function, error) { return nil, errors.New("database is locked") }}
	srv, _ := serve(t, reg)

	e := errorBody(t, do(t, http.MethodGet, srv.URL+"/v1/functions", nil), http.StatusInternalServerError)
	if e.Code != api.CodeInternal {
		t.Errorf("code = %q, want %q", e.Code, api.CodeInternal)
	}
}

func TestGetFunction(t *testing.T) {
	want := sampleFunction("hello", 2)
	want.Pool = &api.PoolStatus{Instances: []api.InstanceStatus{{ID: "i1", Version: 2, State: "idle", Endpoint: "127.0.0.1:1"}}}
	reg := &fakeRegistry{get: func(name string) (api.Function, error) {
		if name != "hello" {
			return api.Function{}, notFound(name)
		}
		return want, nil
	}}
	srv, _ := serve(t, reg)

	var got api.Function
	decodeJSON(t, do(t, http.MethodGet, srv.URL+"/v1/functions/hello", nil), http.StatusOK, &got)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("function =\n%+v\nwant\n%+v", got, want)
	}

	e := errorBody(t, do(t, http.MethodGet, srv.URL+"/v1/functions/nope", nil), http.StatusNotFound)
	if e.Code != api.CodeNotFound || !strings.Contains(e.Message, `"nope"`) {
		t.Errorf("unknown function: error %+v, want not_found naming it", e)
	}
	if got, want := reg.Calls(), []string{"Get hello", "Get nope"}; !reflect.DeepEqual(got, want) {
		t.Errorf("registry calls = %q, want %q", got, want)
	}
}

func TestDeleteFunction(t *testing.T) {
	reg := &fakeRegistry{delete: func(name string) error {
		if name != "hello" {
			return notFound(name)
		}
		return nil
	}}
	srv, _ := serve(t, reg)

	resp := do(t, http.MethodDelete, srv.URL+"/v1/functions/hello", nil)
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("DELETE status = %d, want 204", resp.StatusCode)
	}
	if b, _ := io.ReadAll(resp.Body); len(b) != 0 {
		t.Errorf("DELETE body = %q, want none", b)
	}

	e := errorBody(t, do(t, http.MethodDelete, srv.URL+"/v1/functions/nope", nil), http.StatusNotFound)
	if e.Code != api.CodeNotFound {
		t.Errorf("code = %q, want not_found", e.Code)
	}
	if got, want := reg.Calls(), []string{"Delete hello", "Delete nope"}; !reflect.DeepEqual(got, want) {
		t.Errorf("registry calls = %q, want %q", got, want)
	}
}

func TestListVersions(t *testing.T) {
	v2, v1 := sampleFunction("hello", 2).Version, sampleFunction("hello", 1).Version
	reg := &fakeRegistry{versions: func(name string, _ store.VersionPage) ([]api.Version, error) {
		if name != "hello" {
			return nil, notFound(name)
		}
		return []api.Version{v2, v1}, nil
	}}
	srv, _ := serve(t, reg)

	var got api.VersionList
	decodeJSON(t, do(t, http.MethodGet, srv.URL+"/v1/functions/hello/versions", nil), http.StatusOK, &got)
	if !reflect.DeepEqual(got.Items, []api.Version{v2, v1}) {
		t.Errorf("versions = %+v, want [v2 v1]", got.Items)
	}

	e := errorBody(t, do(t, http.MethodGet, srv.URL+"/v1/functions/nope/versions", nil), http.StatusNotFound)
	if e.Code != api.CodeNotFound {
		t.Errorf("code = %q, want not_found", e.Code)
	}
}

func TestInfo(t *testing.T) {
	srv, _ := serve(t, &fakeRegistry{})
	var got api.Info
	decodeJSON(t, do(t, http.MethodGet, srv.URL+"/v1/info", nil), http.StatusOK, &got)
	if got != testInfo {
		t.Errorf("info = %+v, want %+v", got, testInfo)
	}
}

func TestHealthz(t *testing.T) {
	srv, _ := serve(t, &fakeRegistry{})
	if resp := do(t, http.MethodGet, srv.URL+"/healthz", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /healthz = %d, want 200", resp.StatusCode)
	}
}

func TestUnknownPath(t *testing.T) {
	for _, tt := range []struct{ method, path string }{
		{http.MethodGet, "/nope"},
		{http.MethodGet, "/v1/nope"},
		{http.MethodGet, "/v1/functions/hello/versions/1/extra"},
		{http.MethodPost, "/v2/functions"},
		{http.MethodGet, "/"}, // no dashboard configured
	} {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			reg := &fakeRegistry{}
			srv, inv := serve(t, reg)
			e := errorBody(t, do(t, tt.method, srv.URL+tt.path, nil), http.StatusNotFound)
			if e.Code != api.CodeNotFound || e.Field != "" {
				t.Errorf("error = %+v, want code not_found and no field", e)
			}
			if want := tt.method + " " + tt.path; !strings.Contains(e.Message, want) {
				t.Errorf("message %q does not name %q", e.Message, want)
			}
			if len(reg.Calls()) != 0 || len(inv.Calls()) != 0 {
				t.Errorf("calls reached the registry %q or invoker %v", reg.Calls(), inv.Calls())
			}
		})
	}
}

func TestMethodNotAllowed(t *testing.T) {
	// Every route, not only the last one registered: a /v1 subrouter once lost the 405 on all
	// but its last path (gorilla/mux#751).
	for _, tt := range []struct{ method, path string }{
		{http.MethodPost, "/v1/functions"},
		{http.MethodPut, "/v1/functions/hello"},
		{http.MethodPost, "/v1/functions/hello"},
		{http.MethodDelete, "/v1/info"},
		{http.MethodPatch, "/v1/functions/hello/versions"},
		{http.MethodDelete, "/v1/functions/hello/versions"},
	} {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			reg := &fakeRegistry{}
			srv, _ := serve(t, reg)
			e := errorBody(t, do(t, tt.method, srv.URL+tt.path, nil), http.StatusMethodNotAllowed)
			if e.Code != api.CodeInvalid {
				t.Errorf("code = %q, want %q", e.Code, api.CodeInvalid)
			}
			if !strings.Contains(e.Message, tt.method) || !strings.Contains(e.Message, tt.path) {
				t.Errorf("message %q does not name %s and %s", e.Message, tt.method, tt.path)
			}
			if len(reg.Calls()) != 0 {
				t.Errorf("registry was called: %q", reg.Calls())
			}
		})
	}
}

func TestInvokeRoutes(t *testing.T) {
	for _, tt := range []struct {
		method, target string
		want           invocation
	}{
		{http.MethodGet, "/invoke/hello", invocation{http.MethodGet, "hello", "/", "", ""}},
		{http.MethodGet, "/invoke/hello/", invocation{http.MethodGet, "hello", "/", "", ""}},
		{http.MethodPost, "/invoke/hello/a/b", invocation{http.MethodPost, "hello", "/a/b", "", ""}},
		{http.MethodPut, "/invoke/hello/a/b/", invocation{http.MethodPut, "hello", "/a/b/", "", ""}},
		{http.MethodGet, "/invoke/hello/x?q=1&r=2", invocation{http.MethodGet, "hello", "/x", "q=1&r=2", ""}},
		{http.MethodDelete, "/invoke/hello?q=1", invocation{http.MethodDelete, "hello", "/", "q=1", ""}},
	} {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			reg := &fakeRegistry{}
			srv, inv := serve(t, reg)
			resp := do(t, tt.method, srv.URL+tt.target, strings.NewReader("body"))
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK || string(b) != "invoked" {
				t.Fatalf("status %d body %q, want the invoker's 200 \"invoked\"", resp.StatusCode, b)
			}
			if got := inv.Calls(); len(got) != 1 || got[0] != tt.want {
				t.Errorf("invoker got %+v, want one call %+v", got, tt.want)
			}
			if len(reg.Calls()) != 0 {
				t.Errorf("registry was called: %q", reg.Calls())
			}
		})
	}
}

func TestDashboard(t *testing.T) {
	ui := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ui:"+r.URL.Path)
	})
	srv, _ := serve(t, &fakeRegistry{}, func(d *httpapi.Deps) { d.UI = ui })

	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/ui/" {
		t.Errorf("GET / = %d to %q, want 302 to /ui/", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp = do(t, http.MethodGet, srv.URL+"/ui/app.js", nil)
	if b, _ := io.ReadAll(resp.Body); resp.StatusCode != http.StatusOK || string(b) != "ui:/ui/app.js" {
		t.Errorf("GET /ui/app.js = %d %q, want the UI handler's answer", resp.StatusCode, b)
	}
}
