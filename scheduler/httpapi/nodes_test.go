package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/httpapi"
	"github.com/hearthfn/hearth/scheduler/store"
)

// fakeNodes is a node registry of two nodes: the server's own and one agent.
type fakeNodes struct {
	nodes map[string]api.Node
	last  api.JoinTokenRequest
}

func newFakeNodes() *fakeNodes {
	return &fakeNodes{nodes: map[string]api.Node{
		"local": {ID: "local", State: api.NodeReady, Local: true},
		"n1":    {ID: "n1", State: api.NodeReady},
	}}
}

func (f *fakeNodes) List(context.Context) ([]api.Node, error) {
	return []api.Node{f.nodes["local"], f.nodes["n1"]}, nil
}

func (f *fakeNodes) Get(_ context.Context, id string) (api.Node, error) {
	n, ok := f.nodes[id]
	if !ok {
		return api.Node{}, fmt.Errorf("node %q: %w", id, store.ErrNotFound)
	}
	return n, nil
}

func (f *fakeNodes) Drain(ctx context.Context, id string, drain bool) (api.Node, error) {
	n, err := f.Get(ctx, id)
	if err != nil {
		return n, err
	}
	n.State = api.NodeReady
	if drain {
		n.State = api.NodeDraining
	}
	f.nodes[id] = n
	return n, nil
}

func (f *fakeNodes) Remove(ctx context.Context, id string) error {
	n, err := f.Get(ctx, id)
	if err != nil {
		return err
	}
	if n.Local {
		return fmt.Errorf("%w: node %s is the server's own: it cannot be removed", httpapi.ErrInvalidRequest, id)
	}
	delete(f.nodes, id)
	return nil
}

func (f *fakeNodes) CreateJoinToken(_ context.Context, req api.JoinTokenRequest) (api.NewJoinToken, error) {
	f.last = req
	return api.NewJoinToken{JoinToken: api.JoinToken{ID: "j1"}, Token: "hjt_j1_secret_pin"}, nil
}

func (f *fakeNodes) ListJoinTokens(context.Context) ([]api.JoinToken, error) {
	return []api.JoinToken{{ID: "j1"}}, nil
}

func (f *fakeNodes) RevokeJoinToken(_ context.Context, id string) error {
	if id != "j1" {
		return fmt.Errorf("join token %q: %w", id, store.ErrNotFound)
	}
	return nil
}

func TestNodeEndpoints(t *testing.T) {
	nodes := newFakeNodes()
	srv, _ := serveBare(t, &fakeRegistry{}, func(d *httpapi.Deps) { d.Nodes = nodes })
	jsonCT := map[string]string{"Content-Type": "application/json"}

	// Who may do what: reading nodes needs a role that reads and no function scope; managing
	// them is the admin's.
	for _, tt := range []struct {
		token, method, path string
		status              int
		says                string
	}{
		{viewerToken, "GET", "/v1/nodes", http.StatusOK, ""},
		{viewerToken, "GET", "/v1/nodes/n1", http.StatusOK, ""},
		{scopedViewer, "GET", "/v1/nodes", http.StatusForbidden, "no function scope"},
		{helloInvoker, "GET", "/v1/nodes", http.StatusForbidden, "has the role invoker"},
		{viewerToken, "POST", "/v1/nodes/n1/drain", http.StatusForbidden, "needs the role admin"},
		{helloDeployer, "POST", "/v1/join-tokens", http.StatusForbidden, "needs the role admin"},
		{viewerToken, "DELETE", "/v1/nodes/n1", http.StatusForbidden, "needs the role admin"},
		{adminToken, "GET", "/v1/nodes/nope", http.StatusNotFound, "nope"},
		{adminToken, "DELETE", "/v1/nodes/local", http.StatusBadRequest, "cannot be removed"},
		{adminToken, "DELETE", "/v1/join-tokens/nope", http.StatusNotFound, "nope"},
	} {
		h := map[string]string{}
		if tt.method == "POST" {
			h = jsonCT
		}
		resp := send(t, tt.method, srv.URL+tt.path, tt.token, "", h)
		if tt.status == http.StatusOK {
			if resp.StatusCode != http.StatusOK {
				t.Errorf("%s %s with %s: %d, want 200", tt.method, tt.path, tt.token, resp.StatusCode)
			}
			continue
		}
		if e := errorBody(t, resp, tt.status); !strings.Contains(e.Message, tt.says) {
			t.Errorf("%s %s with %s: %+v, want it to say %q", tt.method, tt.path, tt.token, e, tt.says)
		}
	}

	var n api.Node
	decodeJSON(t, send(t, "POST", srv.URL+"/v1/nodes/n1/drain", adminToken, "", jsonCT), http.StatusOK, &n)
	if n.State != api.NodeDraining {
		t.Errorf("drain answered %+v", n)
	}
	decodeJSON(t, send(t, "POST", srv.URL+"/v1/nodes/n1/undrain", adminToken, "", jsonCT), http.StatusOK, &n)
	if n.State != api.NodeReady {
		t.Errorf("undrain answered %+v", n)
	}
	var l api.NodeList
	decodeJSON(t, send(t, "GET", srv.URL+"/v1/nodes", adminToken, "", nil), http.StatusOK, &l)
	if len(l.Items) != 2 {
		t.Errorf("list: %+v", l)
	}

	var jt api.NewJoinToken
	resp := send(t, "POST", srv.URL+"/v1/join-tokens", adminToken, `{"expires_in":"1h","labels":{"zone":"a"}}`, jsonCT)
	decodeJSON(t, resp, http.StatusCreated, &jt)
	if jt.Token == "" || nodes.last.ExpiresIn != "1h" || nodes.last.Labels["zone"] != "a" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("join token %+v from %+v", jt, nodes.last)
	}
	e := errorBody(t, send(t, "POST", srv.URL+"/v1/join-tokens", adminToken, `{"ttl":"1h"}`, jsonCT), http.StatusBadRequest)
	if !strings.Contains(e.Message, "ttl") {
		t.Errorf("unknown field: %+v", e)
	}
	if resp := send(t, "DELETE", srv.URL+"/v1/nodes/n1", adminToken, "", nil); resp.StatusCode != http.StatusNoContent {
		t.Errorf("remove: %d", resp.StatusCode)
	}
}
