package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/cli"
)

// tokenServer is a fake server that records the Authorization header of every request and
// answers the token endpoints; it accepts only the tokens in valid.
type tokenServer struct {
	mu    sync.Mutex
	auths []string
	valid map[string]api.Token
	made  []api.TokenRequest
}

func newTokenServer(t *testing.T, valid map[string]api.Token) (*tokenServer, *httptest.Server) {
	ts := &tokenServer{valid: valid}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/functions", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, api.FunctionList{Items: []api.Function{}})
	})
	mux.HandleFunc("GET /v1/tokens/self", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, ts.valid[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")])
	})
	mux.HandleFunc("POST /v1/tokens", func(w http.ResponseWriter, r *http.Request) {
		var req api.TokenRequest
		_ = json.NewDecoder(r.Body).Decode(&req)
		ts.mu.Lock()
		ts.made = append(ts.made, req)
		ts.mu.Unlock()
		writeJSON(w, 201, api.NewToken{Token: api.Token{ID: "0123456789abcdef", Role: req.Role, Functions: req.Functions}, Secret: "hth_0123456789abcdef_new"})
	})
	mux.HandleFunc("GET /v1/tokens", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, api.TokenList{Items: []api.Token{{ID: "0123456789abcdef", Role: api.RoleInvoker, Functions: []string{"hello"}, Name: "ci", CreatedAt: now}}})
	})
	mux.HandleFunc("DELETE /v1/tokens/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != "0123456789abcdef" {
			writeErr(w, 404, api.CodeNotFound, "token not found", "")
			return
		}
		w.WriteHeader(204)
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		ts.mu.Lock()
		ts.auths = append(ts.auths, auth)
		ts.mu.Unlock()
		if _, ok := ts.valid[strings.TrimPrefix(auth, "Bearer ")]; !ok {
			writeErr(w, 401, api.CodeUnauthorized, "this needs an API token", "")
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return ts, srv
}

func (ts *tokenServer) lastAuth() string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if len(ts.auths) == 0 {
		return ""
	}
	return ts.auths[len(ts.auths)-1]
}

// runCLI runs the CLI with the environment env and the given home and config directories.
func runCLI(t *testing.T, srv *httptest.Server, env map[string]string, home, config, stdin string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	opts := cli.Options{
		Stdout: &out, Stderr: &errOut, Stdin: strings.NewReader(stdin),
		Getenv:     func(k string) string { return env[k] },
		HomeDir:    home,
		ConfigDir:  config,
		Now:        func() time.Time { return now },
		HTTPClient: srv.Client(),
	}
	code := cli.Execute(context.Background(), cli.NewRoot(opts), args)
	return result{stdout: out.String(), stderr: errOut.String(), code: code}
}

func TestTokenSources(t *testing.T) {
	valid := map[string]api.Token{"hth_env": {ID: "e"}, "hth_saved": {ID: "s"}, "hth_local": {ID: "l", Role: api.RoleAdmin}}
	ts, srv := newTokenServer(t, valid)
	home, config := t.TempDir(), t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".hearth"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".hearth", "admin-token"), []byte("hth_local\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	apiOnly := map[string]string{"HEARTH_API": srv.URL}

	// A server on this machine gets the local admin token when nothing else is given.
	runCLI(t, srv, apiOnly, home, config, "", "list").wantCode(t, 0)
	if got := ts.lastAuth(); got != "Bearer hth_local" {
		t.Fatalf("local server, no token given: sent %q", got)
	}
	// HEARTH_DATA_DIR moves it.
	dataDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dataDir, "admin-token"), []byte("hth_saved\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	runCLI(t, srv, map[string]string{"HEARTH_API": srv.URL, "HEARTH_DATA_DIR": dataDir}, home, config, "", "list").wantCode(t, 0)
	if got := ts.lastAuth(); got != "Bearer hth_saved" {
		t.Fatalf("HEARTH_DATA_DIR: sent %q", got)
	}
	// HEARTH_TOKEN wins.
	runCLI(t, srv, map[string]string{"HEARTH_API": srv.URL, "HEARTH_TOKEN": "hth_env"}, home, config, "", "list").wantCode(t, 0)
	if got := ts.lastAuth(); got != "Bearer hth_env" {
		t.Fatalf("HEARTH_TOKEN: sent %q", got)
	}

	// A login saves the token, 0600, and makes the server the default one.
	r := runCLI(t, srv, nil, home, config, "hth_saved\n", "login", srv.URL+"/")
	r.wantCode(t, 0)
	path := filepath.Join(config, "hearth", "credentials.json")
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("credentials: %v %v", err, fi)
	}
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), "hth_saved") {
		t.Fatalf("credentials file: %s", b)
	}
	runCLI(t, srv, nil, home, config, "", "list").wantCode(t, 0)
	if got := ts.lastAuth(); got != "Bearer hth_saved" {
		t.Fatalf("after login, with no HEARTH_API: sent %q", got)
	}
	// A bad token is not saved.
	r = runCLI(t, srv, nil, home, config, "hth_wrong\n", "login", srv.URL)
	r.wantCode(t, 1)
	if !strings.Contains(r.stderr, "did not accept") {
		t.Errorf("login with a bad token: %q", r.stderr)
	}
	if b2, _ := os.ReadFile(path); !bytes.Equal(b, b2) {
		t.Error("a refused login changed the saved credentials")
	}
	runCLI(t, srv, nil, home, config, "", "logout").wantCode(t, 0)
	if b3, _ := os.ReadFile(path); strings.Contains(string(b3), "hth_saved") {
		t.Errorf("logout left the token: %s", b3)
	}
	r = runCLI(t, srv, nil, home, config, "", "login", srv.URL)
	r.wantCode(t, 1)
	if !strings.Contains(r.stderr, "no token given") {
		t.Errorf("login with nothing on stdin: %q", r.stderr)
	}
}

func TestLocalTokenNeverLeavesTheMachine(t *testing.T) {
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".hearth"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".hearth", "admin-token"), []byte("hth_local\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Get("Authorization")
		writeErr(w, 401, api.CodeUnauthorized, "this needs an API token", "")
	}))
	t.Cleanup(srv.Close)
	// The same server under a name that is not a loopback one: the client cannot know where
	// it is, so the local token is not sent.
	remote := strings.Replace(srv.URL, "127.0.0.1", "hearth.test", 1)
	opts := cli.Options{Getenv: func(k string) string {
		if k == "HEARTH_API" {
			return remote
		}
		return ""
	}, HomeDir: home, HTTPClient: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, strings.TrimPrefix(srv.URL, "http://"))
		}}}}
	var errOut bytes.Buffer
	opts.Stderr, opts.Stdout = &errOut, io.Discard
	if code := cli.Execute(context.Background(), cli.NewRoot(opts), []string{"list"}); code != 1 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if got != "" {
		t.Fatalf("the local admin token went to a server elsewhere: %q", got)
	}
}

func TestTokenCommands(t *testing.T) {
	ts, srv := newTokenServer(t, map[string]api.Token{"hth_admin": {ID: "a", Role: api.RoleAdmin}})
	env := map[string]string{"HEARTH_API": srv.URL, "HEARTH_TOKEN": "hth_admin"}
	r := runCLI(t, srv, env, "", "", "", "token", "create", "--role", "invoker", "--function", "hello", "--function", "greet", "--expires", "30d", "--name", "shop")
	r.wantCode(t, 0)
	if r.stdout != "hth_0123456789abcdef_new\n" || !strings.Contains(r.stderr, "shown this once") {
		t.Fatalf("create printed %q / %q; want the token alone on stdout", r.stdout, r.stderr)
	}
	if got := ts.made[0]; got.Role != api.RoleInvoker || strings.Join(got.Functions, ",") != "hello,greet" || got.ExpiresIn != "30d" || got.Name != "shop" {
		t.Fatalf("create sent %+v", got)
	}
	r = runCLI(t, srv, env, "", "", "", "token", "create")
	r.wantCode(t, cli.ExitUsage)
	r = runCLI(t, srv, env, "", "", "", "token", "list")
	r.wantCode(t, 0)
	if !strings.Contains(r.stdout, "0123456789abcdef") || !strings.Contains(r.stdout, "invoker") || !strings.Contains(r.stdout, "never") {
		t.Fatalf("list:\n%s", r.stdout)
	}
	runCLI(t, srv, env, "", "", "", "token", "revoke", "0123456789abcdef").wantCode(t, 0)
	r = runCLI(t, srv, env, "", "", "", "token", "revoke", "nope")
	r.wantCode(t, 1)
	r.wantError(t, "token not found")
}
