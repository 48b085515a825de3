package httpapi_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/httpapi"
	"github.com/hearthfn/hearth/scheduler/store"
)

// send makes a request with the given token ("" for none) and extra headers.
func send(t *testing.T, method, url, token string, body string, header map[string]string) *http.Response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

// everyRoute is one request per route of the API.
var everyRoute = []struct{ method, path string }{
	{"GET", "/v1/info"}, {"GET", "/v1/functions"}, {"GET", "/v1/functions/hello"},
	{"DELETE", "/v1/functions/hello"}, {"GET", "/v1/functions/hello/versions"},
	{"POST", "/v1/functions/hello/versions"}, {"PATCH", "/v1/functions/hello/config"},
	{"GET", "/v1/functions/hello/logs"}, {"GET", "/v1/calls"}, {"GET", "/v1/calls/c001"},
	{"GET", "/v1/functions/hello/calls"}, {"GET", "/v1/tokens"}, {"POST", "/v1/tokens"},
	{"GET", "/v1/tokens/self"}, {"DELETE", "/v1/tokens/abc"}, {"GET", "/metrics"},
	{"GET", "/v1/nodes"}, {"GET", "/v1/nodes/n1"}, {"DELETE", "/v1/nodes/n1"}, {"POST", "/v1/nodes/n1/drain"},
	{"POST", "/v1/nodes/n1/undrain"}, {"GET", "/v1/join-tokens"}, {"POST", "/v1/join-tokens"},
	{"DELETE", "/v1/join-tokens/j1"}, {"GET", "/v1/overview"}, {"GET", "/v1/functions/hello/stats"},
}

func withEverything(d *httpapi.Deps) {
	d.Calls = &fakeCalls{calls: sampleCalls(2)}
	d.Tokens = &fakeTokenAdmin{}
	d.Metrics = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "metrics") })
	d.Logs = &fakeLogs{}
	d.Nodes = newFakeNodes()
	d.Stats = newStats()
}

func TestEveryRouteNeedsAToken(t *testing.T) {
	srv, _ := serveBare(t, &fakeRegistry{}, withEverything)
	for _, rt := range everyRoute {
		for name, tok := range map[string]string{"none": "", "unknown": unknownTokenText, "not a bearer": ""} {
			h := map[string]string{}
			if name == "not a bearer" {
				h["Authorization"] = "Basic YWRtaW46YWRtaW4="
			}
			resp := send(t, rt.method, srv.URL+rt.path, tok, "", h)
			e := errorBody(t, resp, http.StatusUnauthorized)
			if e.Code != api.CodeUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s %s with %s token: %+v, WWW-Authenticate %q", rt.method, rt.path, name, e, resp.Header.Get("WWW-Authenticate"))
			}
		}
	}
	if resp := send(t, "GET", srv.URL+"/healthz", "", "", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz without a token: %d, want 200", resp.StatusCode)
	}
}

func TestRolesAndScopes(t *testing.T) {
	reg := &fakeRegistry{
		get:    func(name string) (api.Function, error) { return sampleFunction(name, 1), nil },
		delete: func(string) error { return nil },
		list:   listing(sampleFunction("hello", 1), sampleFunction("other", 1)),
	}
	srv, _ := serveBare(t, reg, withEverything)
	tests := []struct {
		token, method, path string
		status              int
		says                string
	}{
		{helloDeployer, "DELETE", "/v1/functions/hello", http.StatusNoContent, ""},
		{helloDeployer, "DELETE", "/v1/functions/other", http.StatusForbidden, `covers the functions hello, not "other"`},
		{helloDeployer, "GET", "/v1/tokens", http.StatusForbidden, "needs the role admin"},
		{helloDeployer, "GET", "/metrics", http.StatusForbidden, "without a function scope"},
		{viewerToken, "GET", "/metrics", http.StatusOK, ""},
		{viewerToken, "DELETE", "/v1/functions/hello", http.StatusForbidden, "needs the role admin or deployer; this token (view1) has the role viewer"},
		{viewerToken, "GET", "/v1/functions/hello/logs", http.StatusOK, ""},
		{helloInvoker, "GET", "/v1/functions/hello", http.StatusForbidden, "has the role invoker"},
		{helloInvoker, "GET", "/v1/functions/hello/logs", http.StatusForbidden, "needs the role admin, deployer or viewer"},
		{helloInvoker, "GET", "/v1/tokens/self", http.StatusOK, ""},
		{helloInvoker, "GET", "/v1/info", http.StatusOK, ""},
		{adminToken, "GET", "/v1/tokens", http.StatusOK, ""},
		{scopedViewer, "GET", "/v1/calls", http.StatusForbidden, "list the calls of one of them"},
		{scopedViewer, "GET", "/v1/calls?function=b", http.StatusForbidden, `not "b"`},
		{scopedViewer, "GET", "/v1/functions/b/calls", http.StatusForbidden, `not "b"`},
	}
	for _, tt := range tests {
		resp := send(t, tt.method, srv.URL+tt.path, tt.token, "", nil)
		if resp.StatusCode != tt.status {
			b, _ := io.ReadAll(resp.Body)
			t.Errorf("%s %s with %s: %d %s, want %d", tt.method, tt.path, tt.token, resp.StatusCode, b, tt.status)
			continue
		}
		if tt.status == http.StatusForbidden {
			if e := errorBody(t, resp, http.StatusForbidden); e.Code != api.CodeForbidden || !strings.Contains(e.Message, tt.says) {
				t.Errorf("%s %s with %s: %+v, want forbidden saying %q", tt.method, tt.path, tt.token, e, tt.says)
			}
		}
	}

	// A token limited to some functions lists those only.
	var l api.FunctionList
	decodeJSON(t, send(t, "GET", srv.URL+"/v1/functions", helloDeployer, "", nil), http.StatusOK, &l)
	if len(l.Items) != 1 || l.Items[0].Name != "hello" {
		t.Errorf("a token for hello lists %+v", l.Items)
	}
}

func TestCallsOfOtherFunctionsAreNotShown(t *testing.T) {
	fc := &fakeCalls{calls: sampleCalls(2)} // c002 of a, c001 of b
	tokens := fakeTokens{"hth_a": {ID: "ta", Role: api.RoleInvoker, Functions: []string{"a"}}}
	srv, _ := serveBare(t, &fakeRegistry{}, func(d *httpapi.Deps) { d.Calls = fc; d.Auth = tokens })
	var c api.Call
	decodeJSON(t, send(t, "GET", srv.URL+"/v1/calls/c002", "hth_a", "", nil), http.StatusOK, &c)
	if c.Function != "a" || c.Result == nil {
		t.Fatalf("got %+v", c)
	}
	e := errorBody(t, send(t, "GET", srv.URL+"/v1/calls/c001", "hth_a", "", nil), http.StatusNotFound)
	unknown := errorBody(t, send(t, "GET", srv.URL+"/v1/calls/nope", "hth_a", "", nil), http.StatusNotFound)
	if e.Code != api.CodeNotFound || !strings.Contains(e.Message, "not found") ||
		strings.ReplaceAll(e.Message, "c001", "X") != strings.ReplaceAll(unknown.Message, "nope", "X") {
		t.Errorf("another function's call: %+v; an unknown call: %+v (they must read alike)", e, unknown)
	}
}

func TestInvokeNeedsATokenUnlessPublic(t *testing.T) {
	access := publicSet{"open": true, "hello": false}
	srv, inv := serveBare(t, &fakeRegistry{}, func(d *httpapi.Deps) { d.Access = access })
	tests := []struct {
		fn, token string
		status    int
	}{
		{"open", "", http.StatusOK},
		{"hello", "", http.StatusUnauthorized},
		{"hello", unknownTokenText, http.StatusUnauthorized},
		{"hello", helloInvoker, http.StatusOK},
		{"hello", helloDeployer, http.StatusOK},
		{"hello", adminToken, http.StatusOK},
		{"hello", otherInvoker, http.StatusForbidden},
		{"hello", viewerToken, http.StatusForbidden},
		{"ghost", "", http.StatusUnauthorized}, // the same answer as a private function: nothing told
	}
	for _, tt := range tests {
		before := len(inv.Calls())
		resp := send(t, "POST", srv.URL+"/invoke/"+tt.fn+"/x", tt.token, "{}", nil)
		if resp.StatusCode != tt.status {
			b, _ := io.ReadAll(resp.Body)
			t.Errorf("invoke %s with %q: %d %s, want %d", tt.fn, tt.token, resp.StatusCode, b, tt.status)
		}
		called := len(inv.Calls()) > before
		if called != (tt.status == http.StatusOK) {
			t.Errorf("invoke %s with %q: reached the function: %v", tt.fn, tt.token, called)
		}
		if tt.status != http.StatusOK {
			errorBody(t, resp, tt.status)
		}
	}
	if e := errorBody(t, send(t, "POST", srv.URL+"/invoke/hello", "", "", nil), http.StatusUnauthorized); !strings.Contains(e.Message, "public: true") {
		t.Errorf("a private function's 401 should say how to call it or open it: %q", e.Message)
	}

	// The function never sees a hearth token; its own Authorization schemes pass through.
	send(t, "POST", srv.URL+"/invoke/hello", helloInvoker, "{}", nil)
	send(t, "POST", srv.URL+"/invoke/open", "", "{}", map[string]string{"Authorization": "Bearer app-jwt"})
	calls := inv.Calls()
	if got := calls[len(calls)-2].auth; got != "" {
		t.Errorf("the function saw Authorization %q: the caller's hearth token must not reach it", got)
	}
	if got := calls[len(calls)-1].auth; got != "Bearer app-jwt" {
		t.Errorf("a public function's own Authorization became %q", got)
	}
}

func TestStateChangesNeedTheirContentType(t *testing.T) {
	reg := &fakeRegistry{deploy: func(context.Context, string, io.Reader, func(string)) (api.Function, bool, error) {
		return sampleFunction("hello", 1), false, nil
	}}
	srv, _ := serve(t, reg, withEverything)
	for _, tt := range []struct{ method, path, ct string }{
		{"POST", "/v1/functions/hello/versions", "text/plain"},
		{"POST", "/v1/functions/hello/versions", ""},
		{"POST", "/v1/functions/hello/versions", "application/x-www-form-urlencoded"},
		{"PATCH", "/v1/functions/hello/config", "text/plain"},
		{"POST", "/v1/tokens", "multipart/form-data; boundary=x"},
	} {
		resp := send(t, tt.method, srv.URL+tt.path, adminToken, "{}", map[string]string{"Content-Type": tt.ct})
		if e := errorBody(t, resp, http.StatusUnsupportedMediaType); e.Code != api.CodeUnsupportedMedia {
			t.Errorf("%s %s as %q: %+v", tt.method, tt.path, tt.ct, e)
		}
	}
	if got := reg.Calls(); len(got) != 0 {
		t.Errorf("refused requests reached the registry: %v", got)
	}
}

func TestForeignHostsAndOriginsAreRefused(t *testing.T) {
	reg := &fakeRegistry{list: listing()}
	srv, inv := serve(t, reg, func(d *httpapi.Deps) {
		d.Hosts = []string{"127.0.0.1", "localhost", "hearth.example.com"}
		d.UI = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ui") })
	})
	port := srv.URL[strings.LastIndex(srv.URL, ":"):]
	tests := []struct {
		path   string
		header map[string]string
		status int
	}{
		{"/v1/functions", nil, http.StatusOK},
		{"/v1/functions", map[string]string{"Host": "hearth.example.com"}, http.StatusOK},
		{"/v1/functions", map[string]string{"Host": "HEARTH.example.com."}, http.StatusOK},
		{"/v1/functions", map[string]string{"Host": "evil.example" + port}, http.StatusForbidden},
		{"/ui/", map[string]string{"Host": "evil.example" + port}, http.StatusForbidden},
		{"/v1/functions", map[string]string{"Origin": "http://evil.example"}, http.StatusForbidden},
		{"/v1/functions", map[string]string{"Origin": "null"}, http.StatusForbidden},
		{"/v1/functions", map[string]string{"Origin": "http://127.0.0.1" + port}, http.StatusOK},
		{"/v1/functions", map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"/ui/", map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
		{"/ui/", nil, http.StatusOK},
		{"/healthz", map[string]string{"Host": "evil.example"}, http.StatusOK},
		// A public function is a web endpoint like any other: calls from pages are its business.
		{"/invoke/hello", map[string]string{"Origin": "http://evil.example"}, http.StatusOK},
	}
	for _, tt := range tests {
		resp := send(t, "GET", srv.URL+tt.path, "", "", tt.header)
		if resp.StatusCode != tt.status {
			b, _ := io.ReadAll(resp.Body)
			t.Errorf("GET %s with %v: %d %s, want %d", tt.path, tt.header, resp.StatusCode, b, tt.status)
			continue
		}
		if tt.status == http.StatusForbidden {
			if e := errorBody(t, resp, http.StatusForbidden); e.Code != api.CodeForbidden {
				t.Errorf("GET %s with %v: %+v", tt.path, tt.header, e)
			}
		}
	}
	if len(inv.Calls()) != 1 {
		t.Errorf("invocations: %+v", inv.Calls())
	}
}

func TestTokenEndpoints(t *testing.T) {
	admin := &fakeTokenAdmin{}
	srv, _ := serve(t, &fakeRegistry{}, func(d *httpapi.Deps) { d.Tokens = admin })
	json := map[string]string{"Content-Type": "application/json"}

	var nt api.NewToken
	resp := send(t, "POST", srv.URL+"/v1/tokens", "", `{"role":"invoker","functions":["hello"],"expires_in":"30d","name":"ci"}`, json)
	decodeJSON(t, resp, http.StatusCreated, &nt)
	if nt.Secret == "" || nt.Role != api.RoleInvoker || admin.last.ExpiresIn != "30d" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("created %+v from %+v", nt, admin.last)
	}
	e := errorBody(t, send(t, "POST", srv.URL+"/v1/tokens", "", `{"role":"root"}`, json), http.StatusBadRequest)
	if e.Field != "role" {
		t.Errorf("bad role: %+v, want field role", e)
	}
	e = errorBody(t, send(t, "POST", srv.URL+"/v1/tokens", "", `{"role":"viewer","admin":true}`, json), http.StatusBadRequest)
	if !strings.Contains(e.Message, "admin") {
		t.Errorf("unknown key: %+v", e)
	}
	var l api.TokenList
	decodeJSON(t, send(t, "GET", srv.URL+"/v1/tokens", "", "", nil), http.StatusOK, &l)
	if len(l.Items) != 1 {
		t.Errorf("list: %+v", l)
	}
	if resp := send(t, "DELETE", srv.URL+"/v1/tokens/"+nt.ID, "", "", nil); resp.StatusCode != http.StatusNoContent {
		t.Errorf("revoke: %d", resp.StatusCode)
	}
	errorBody(t, send(t, "DELETE", srv.URL+"/v1/tokens/"+nt.ID, "", "", nil), http.StatusNotFound)
	var self api.Token
	decodeJSON(t, send(t, "GET", srv.URL+"/v1/tokens/self", helloInvoker, "", nil), http.StatusOK, &self)
	if self.ID != "inv1" || self.Role != api.RoleInvoker {
		t.Errorf("self: %+v", self)
	}
}

// fakeTokenAdmin keeps tokens made through the API in memory; it refuses the role "root".
type fakeTokenAdmin struct {
	last   api.TokenRequest
	tokens []api.Token
}

func (f *fakeTokenAdmin) Create(_ context.Context, req api.TokenRequest) (api.NewToken, error) {
	f.last = req
	if req.Role == "root" {
		return api.NewToken{}, &authRequestError
	}
	t := api.Token{ID: "t1", Role: req.Role, Functions: req.Functions}
	f.tokens = append(f.tokens, t)
	return api.NewToken{Token: t, Secret: "hth_t1_secret"}, nil
}

func (f *fakeTokenAdmin) List(context.Context) ([]api.Token, error) { return f.tokens, nil }

func (f *fakeTokenAdmin) Revoke(_ context.Context, id string) error {
	for i, t := range f.tokens {
		if t.ID == id {
			f.tokens = append(f.tokens[:i], f.tokens[i+1:]...)
			return nil
		}
	}
	return errors.Join(store.ErrNotFound)
}
