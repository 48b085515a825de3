package cli_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/cli"
)

// nodeServer is the node endpoints of the API, enough for the CLI.
type nodeServer struct {
	mu     sync.Mutex
	nodes  map[string]api.Node
	tokens []api.JoinTokenRequest
}

func newNodeServer(t *testing.T) (*nodeServer, *httptest.Server) {
	ns := &nodeServer{nodes: map[string]api.Node{
		"local-1": {ID: "local-1", State: api.NodeReady, Local: true, Capacity: api.Resources{MemoryMB: 4096, CPUMilli: 2000},
			Reserved: api.Resources{MemoryMB: 128}, Instances: map[string]int{"ready": 1}},
		"n2-abcd": {ID: "n2-abcd", State: api.NodeReady, Address: "10.0.0.2", Labels: map[string]string{"zone": "b"},
			Capacity: api.Resources{MemoryMB: 2048}, LastSeen: now.Add(-2 * time.Second), Instances: map[string]int{"paused": 2, "busy": 1}},
	}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/nodes", func(w http.ResponseWriter, _ *http.Request) {
		ns.mu.Lock()
		defer ns.mu.Unlock()
		l := api.NodeList{Items: []api.Node{ns.nodes["local-1"], ns.nodes["n2-abcd"]}}
		writeJSON(w, 200, l)
	})
	drain := func(state string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			ns.mu.Lock()
			defer ns.mu.Unlock()
			n, ok := ns.nodes[r.PathValue("id")]
			if !ok {
				writeJSON(w, 404, api.ErrorBody{Error: api.ErrorDetail{Code: api.CodeNotFound, Message: "node not found"}})
				return
			}
			n.State = state
			ns.nodes[n.ID] = n
			writeJSON(w, 200, n)
		}
	}
	mux.HandleFunc("POST /v1/nodes/{id}/drain", drain(api.NodeDraining))
	mux.HandleFunc("POST /v1/nodes/{id}/undrain", drain(api.NodeReady))
	mux.HandleFunc("DELETE /v1/nodes/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "local-1" {
			writeJSON(w, 400, api.ErrorBody{Error: api.ErrorDetail{Code: api.CodeInvalid, Message: "local-1 is the server's own node: it cannot be removed"}})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /v1/join-tokens", func(w http.ResponseWriter, r *http.Request) {
		var req api.JoinTokenRequest
		_ = json.NewDecoder(r.Body).Decode(&req)
		ns.mu.Lock()
		ns.tokens = append(ns.tokens, req)
		ns.mu.Unlock()
		writeJSON(w, 201, api.NewJoinToken{JoinToken: api.JoinToken{ID: "0011223344556677", ExpiresAt: now.Add(30 * time.Minute)},
			Token: "hjt_0011223344556677_secret_pin"})
	})
	mux.HandleFunc("GET /v1/join-tokens", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, api.JoinTokenList{Items: []api.JoinToken{{ID: "0011223344556677", CreatedAt: now.Add(-time.Hour),
			ExpiresAt: now.Add(-30 * time.Minute), Labels: map[string]string{"zone": "a"}}}})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return ns, srv
}

func TestNodeCommands(t *testing.T) {
	ns, srv := newNodeServer(t)
	env := map[string]string{"HEARTH_API": srv.URL, "HEARTH_TOKEN": "hth_admin"}

	r := runCLI(t, srv, env, "", "", "", "nodes")
	r.wantCode(t, 0)
	for _, want := range []string{"local-1", "(in the server)", "128/4096MB", "1 ready", "n2-abcd", "10.0.0.2",
		"1 busy, 2 paused", "zone=b", "just now"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("nodes lacks %q:\n%s", want, r.stdout)
		}
	}

	r = runCLI(t, srv, env, "", "", "", "nodes", "drain", "n2-abcd")
	r.wantCode(t, 0)
	if r.stdout != "Node n2-abcd is draining\n" {
		t.Errorf("drain printed %q", r.stdout)
	}
	runCLI(t, srv, env, "", "", "", "nodes", "undrain", "n2-abcd").wantCode(t, 0)
	if ns.nodes["n2-abcd"].State != api.NodeReady {
		t.Errorf("undrain left %s", ns.nodes["n2-abcd"].State)
	}
	r = runCLI(t, srv, env, "", "", "", "nodes", "drain", "nope")
	r.wantCode(t, 1)
	r.wantError(t, "node not found")
	runCLI(t, srv, env, "", "", "", "nodes", "drain").wantCode(t, cli.ExitUsage)

	r = runCLI(t, srv, env, "", "", "", "nodes", "remove", "local-1")
	r.wantCode(t, 1)
	r.wantError(t, "local-1 is the server's own node: it cannot be removed")
	runCLI(t, srv, env, "", "", "", "nodes", "rm", "n2-abcd").wantCode(t, 0)

	// "hearth node token create", as the issue and docs spell it.
	r = runCLI(t, srv, env, "", "", "", "node", "token", "create", "--expires", "1h", "--label", "zone=a")
	r.wantCode(t, 0)
	if r.stdout != "hjt_0011223344556677_secret_pin\n" || !strings.Contains(r.stderr, "shown this once") {
		t.Errorf("token create printed %q / %q", r.stdout, r.stderr)
	}
	if got := ns.tokens[0]; got.ExpiresIn != "1h" || got.Labels["zone"] != "a" {
		t.Errorf("token create sent %+v", got)
	}
	r = runCLI(t, srv, env, "", "", "", "node", "token", "list")
	r.wantCode(t, 0)
	if !strings.Contains(r.stdout, "0011223344556677") || !strings.Contains(r.stdout, "(expired)") || !strings.Contains(r.stdout, "zone=a") {
		t.Errorf("token list:\n%s", r.stdout)
	}
}
