//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
)

// cli runs the CLI against s with exactly the HEARTH_* variables and HOME given in env (none of
// the harness's): what a user on this machine, or elsewhere, would run.
func cli(t *testing.T, s *server, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(hearthBin(t), args...)
	cmd.Dir = t.TempDir()
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HEARTH_") && !strings.HasPrefix(kv, "HOME=") && !strings.HasPrefix(kv, "XDG_CONFIG_HOME=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if _, ok := env["HOME"]; !ok {
		env["HOME"] = t.TempDir() // no ~/.hearth of the machine's own
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("hearth %v: %v", args, err)
	}
	return r
}

// raw sends a request to s with the given token ("" for none) and returns status and body.
func raw(t *testing.T, s *server, method, path, token, contentType, body string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "Host" {
			req.Host = header[i+1]
		} else {
			req.Header.Set(header[i], header[i+1])
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// wantError checks an API error answer: its status, its code, and that its message says want.
func wantError(t *testing.T, what string, status int, body string, wantStatus int, code, want string) {
	t.Helper()
	if status != wantStatus {
		t.Fatalf("%s: status %d (%s), want %d", what, status, body, wantStatus)
	}
	e := errorOf(t, body)
	if e.Code != code || !strings.Contains(e.Message, want) {
		t.Fatalf("%s: error %+v, want code %s saying %q", what, e, code, want)
	}
}

// createToken makes a token with the admin's CLI and returns it.
func createToken(t *testing.T, s *server, args ...string) string {
	t.Helper()
	out := s.must(t, t.TempDir(), append([]string{"token", "create"}, args...)...)
	tok := strings.TrimSpace(out.stdout)
	if !strings.HasPrefix(tok, "hth_") || strings.Contains(tok, "\n") {
		t.Fatalf("token create printed %q, want the token alone", out.stdout)
	}
	return tok
}

// TestFirstStart: the server makes an admin token at its first start, in a 0600 file it names;
// the CLI on the same machine finds it with no set-up; a restart makes none; without it the CLI
// fails with one line that says what to do.
func TestFirstStart(t *testing.T) {
	s := startServer(t, serverOpts{})
	path := filepath.Join(s.dataDir, "admin-token")
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin token file: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
	if !strings.Contains(s.logs(), path) {
		t.Errorf("the server's log does not say where the admin token is:\n%s", s.logs())
	}
	first, _ := os.ReadFile(path)

	// The same machine: the data directory the server uses (HEARTH_DATA_DIR, or ~/.hearth as
	// make run's default) is where the CLI looks.
	r := cli(t, s, map[string]string{"HEARTH_API": s.URL, "HEARTH_DATA_DIR": s.dataDir}, "", "list")
	if r.code != 0 {
		t.Fatalf("list with the local admin token: exit %d\n%s", r.code, r.stderr)
	}
	home := t.TempDir()
	if err := os.Symlink(s.dataDir, filepath.Join(home, ".hearth")); err != nil {
		t.Fatal(err)
	}
	if r := cli(t, s, map[string]string{"HEARTH_API": s.URL, "HOME": home}, "", "list"); r.code != 0 {
		t.Fatalf("list with ~/.hearth/admin-token: exit %d\n%s", r.code, r.stderr)
	}

	// Another machine, as far as the CLI can tell: no token anywhere.
	r = cli(t, s, map[string]string{"HEARTH_API": s.URL}, "", "list")
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if r.code != 1 || len(lines) != 1 || !strings.Contains(r.stderr, "HEARTH_TOKEN") {
		t.Fatalf("list without a token: exit %d, stderr %q; want one line naming HEARTH_TOKEN", r.code, r.stderr)
	}

	s.stop(t)
	s2 := startServer(t, serverOpts{dataDir: s.dataDir})
	again, _ := os.ReadFile(path)
	if !bytes.Equal(first, again) {
		t.Fatal("a restart replaced the admin token")
	}
	s2.must(t, t.TempDir(), "list")
}

// TestTokensAndPrivateFunctions goes through the roles, scopes, public and private functions,
// async results, metrics, revocation and hearth login.
func TestTokensAndPrivateFunctions(t *testing.T) {
	s := startServer(t, serverOpts{})
	private := s.newFunction(t, "secret")
	s.must(t, private, "deploy")
	open := s.newFunction(t, "open")
	setFuncYAML(t, open, "public", "true")
	s.must(t, open, "deploy")

	// Anonymous callers: a public function answers; a private one, or one that does not exist,
	// says the same 401; the API says 401 everywhere but /healthz.
	if status, body := raw(t, s, "POST", "/invoke/open", "", "", `{"name":"Ada"}`); status != 200 || !strings.Contains(body, "Ada") {
		t.Fatalf("anonymous call of a public function: %d %s", status, body)
	}
	status, body := raw(t, s, "POST", "/invoke/secret", "", "", `{}`)
	wantError(t, "anonymous call of a private function", status, body, 401, api.CodeUnauthorized, "private")
	status, ghost := raw(t, s, "POST", "/invoke/ghost", "", "", `{}`)
	if status != 401 || strings.ReplaceAll(ghost, "ghost", "X") != strings.ReplaceAll(body, "secret", "X") {
		t.Fatalf("anonymous call of an unknown function: %d %s; want the private function's answer", status, ghost)
	}
	for _, p := range []string{"/v1/functions", "/v1/info", "/metrics", "/v1/calls", "/v1/functions/open/logs"} {
		status, body := raw(t, s, "GET", p, "", "", "")
		wantError(t, "anonymous GET "+p, status, body, 401, api.CodeUnauthorized, "token")
	}
	if status, _ := raw(t, s, "GET", "/healthz", "", "", ""); status != 200 {
		t.Fatalf("/healthz: %d", status)
	}

	invoker := createToken(t, s, "--role", "invoker", "--function", "secret", "--name", "shop")
	deployer := createToken(t, s, "--role", "deployer", "--function", "secret")
	viewer := createToken(t, s, "--role", "viewer", "--expires", "30d")

	if status, body := raw(t, s, "POST", "/invoke/secret", invoker, "", `{"name":"Bo"}`); status != 200 || !strings.Contains(body, "Bo") {
		t.Fatalf("invoker on its function: %d %s", status, body)
	}
	status, body = raw(t, s, "POST", "/invoke/secret", viewer, "", `{}`)
	wantError(t, "viewer calls", status, body, 403, api.CodeForbidden, "role admin, deployer or invoker")
	status, body = raw(t, s, "GET", "/v1/functions", invoker, "", "")
	wantError(t, "invoker lists", status, body, 403, api.CodeForbidden, "role invoker")

	// The CLI with a deployer token for secret: its function yes, another no, tokens no.
	dep := map[string]string{"HEARTH_API": s.URL, "HEARTH_TOKEN": deployer}
	if r := cli(t, s, dep, "", "config", "secret", "max_instances=3"); r.code != 0 {
		t.Fatalf("deployer configures its function: %d %s", r.code, r.stderr)
	}
	if r := cli(t, s, dep, "", "config", "open", "max_instances=3"); r.code != 1 || !strings.Contains(r.stderr, `not "open"`) {
		t.Fatalf("deployer configures another function: %d %q", r.code, r.stderr)
	}
	if r := cli(t, s, dep, "", "token", "list"); r.code != 1 || !strings.Contains(r.stderr, "role admin") {
		t.Fatalf("deployer lists tokens: %d %q", r.code, r.stderr)
	}
	if r := cli(t, s, dep, "", "invoke", "secret", "-d", `{"name":"Cy"}`); r.code != 0 || !strings.Contains(r.stdout, "Cy") {
		t.Fatalf("deployer invokes its function: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := cli(t, s, dep, "", "list"); r.code != 0 || strings.Contains(r.stdout, "open") || !strings.Contains(r.stdout, "secret") {
		t.Fatalf("deployer lists only its functions: %d %q", r.code, r.stdout)
	}

	// Async results: readable with a token that covers the function, not without.
	status, body = raw(t, s, "POST", "/invoke/open", "", "", `{"name":"Di"}`, api.HeaderAsync, "true")
	if status != 202 {
		t.Fatalf("anonymous async call of a public function: %d %s", status, body)
	}
	var acc api.CallAccepted
	if err := json.Unmarshal([]byte(body), &acc); err != nil {
		t.Fatal(err)
	}
	status, body = raw(t, s, "GET", "/v1/calls/"+acc.ID, "", "", "")
	wantError(t, "anonymous read of an async result", status, body, 401, api.CodeUnauthorized, "token")
	status, body = raw(t, s, "GET", "/v1/calls/"+acc.ID, invoker, "", "")
	wantError(t, "another function's token reads the result", status, body, 404, api.CodeNotFound, "not found")
	openReader := createToken(t, s, "--role", "invoker", "--function", "open")
	deadline := time.Now().Add(time.Minute)
	for {
		status, body = raw(t, s, "GET", "/v1/calls/"+acc.ID, openReader, "", "")
		var c api.Call
		_ = json.Unmarshal([]byte(body), &c)
		if status == 200 && c.Result != nil && strings.Contains(string(c.Result.Body), "Di") {
			break
		}
		if status != 200 || time.Now().After(deadline) {
			t.Fatalf("the open function's token reads the result: %d %s", status, body)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Metrics: a viewer without a scope reads them, a scoped token does not.
	if status, body := raw(t, s, "GET", "/metrics", viewer, "", ""); status != 200 || !strings.Contains(body, "hearth_") {
		t.Fatalf("viewer reads metrics: %d", status)
	}
	status, body = raw(t, s, "GET", "/metrics", deployer, "", "")
	wantError(t, "scoped token reads metrics", status, body, 403, api.CodeForbidden, "function scope")

	// hearth login saves the viewer's token, 0600, and makes the server the default.
	config := t.TempDir()
	login := map[string]string{"XDG_CONFIG_HOME": config}
	if r := cli(t, s, login, viewer+"\n", "login", s.URL); r.code != 0 || !strings.Contains(r.stdout, "viewer") {
		t.Fatalf("login: %d %q %q", r.code, r.stdout, r.stderr)
	}
	fi, err := os.Stat(filepath.Join(config, "hearth", "credentials.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("saved login: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
	if r := cli(t, s, login, "", "list"); r.code != 0 || !strings.Contains(r.stdout, "open") {
		t.Fatalf("list after login, with no HEARTH_API: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := cli(t, s, login, "", "delete", "open"); r.code != 1 || !strings.Contains(r.stderr, "viewer") {
		t.Fatalf("delete with the saved viewer token: %d %q", r.code, r.stderr)
	}
	if r := cli(t, s, login, "hth_0000000000000000_"+strings.Repeat("x", 43)+"\n", "login", s.URL); r.code != 1 || !strings.Contains(r.stderr, "not accept") {
		t.Fatalf("login with a bad token: %d %q", r.code, r.stderr)
	}

	// public is a setting like any other: closing a function takes effect without a deploy.
	s.must(t, t.TempDir(), "config", "open", "public=false")
	status, body = raw(t, s, "POST", "/invoke/open", "", "", `{}`)
	wantError(t, "anonymous call after public=false", status, body, 401, api.CodeUnauthorized, "private")

	// The token list shows roles, scopes and last use; revoking stops a token at once.
	var list api.TokenList
	if err := json.Unmarshal([]byte(s.must(t, t.TempDir(), "token", "list", "-o", "json").stdout), &list); err != nil {
		t.Fatal(err)
	}
	var inv api.Token
	for _, tok := range list.Items {
		if tok.Name == "shop" {
			inv = tok
		}
		if strings.Contains(s.logs(), strings.TrimPrefix(invoker, "hth_"+tok.ID+"_")) {
			t.Fatal("the server logged a token's secret")
		}
	}
	if inv.Role != api.RoleInvoker || len(inv.Functions) != 1 || inv.LastUsedAt.IsZero() || !strings.HasPrefix(invoker, "hth_"+inv.ID+"_") {
		t.Fatalf("token list: the invoker token reads %+v", inv)
	}
	s.must(t, t.TempDir(), "token", "revoke", inv.ID)
	status, body = raw(t, s, "POST", "/invoke/secret", invoker, "", `{}`)
	wantError(t, "revoked token", status, body, 401, api.CodeUnauthorized, "revoked")
}

// TestCrossSiteRequestsAreRefused: a page of another site cannot deploy (its only simple
// content types are refused), name the server by another host (DNS rebinding), or read the API
// from its own origin, even where the browser would send a token.
func TestCrossSiteRequestsAreRefused(t *testing.T) {
	s := startServer(t, serverOpts{})
	admin := s.adminToken(t)
	status, body := raw(t, s, "POST", "/v1/functions/evil/versions", admin, "text/plain", "\x1f\x8b")
	wantError(t, "deploy as text/plain", status, body, 415, api.CodeUnsupportedMedia, "application/gzip")
	status, body = raw(t, s, "PATCH", "/v1/functions/evil/config", admin, "text/plain", `{"max_instances":1}`)
	wantError(t, "config as text/plain", status, body, 415, api.CodeUnsupportedMedia, "application/json")
	status, body = raw(t, s, "GET", "/v1/functions", admin, "", "", "Origin", "http://evil.example")
	wantError(t, "foreign origin", status, body, 403, api.CodeForbidden, "cross-origin")
	status, body = raw(t, s, "GET", "/v1/functions", admin, "", "", "Host", "evil.example:8080")
	wantError(t, "foreign host", status, body, 403, api.CodeForbidden, "--allowed-host")
	status, body = raw(t, s, "GET", "/ui/", "", "", "", "Host", "evil.example")
	wantError(t, "dashboard under a foreign host", status, body, 403, api.CodeForbidden, "Host")
	if status, _ := raw(t, s, "GET", "/ui/", "", "", ""); status != 200 {
		t.Fatalf("the dashboard under the server's own name: %d", status)
	}
	if status, _ := raw(t, s, "GET", "/v1/functions", admin, "", "", "Origin", s.URL); status != 200 {
		t.Fatalf("the server's own origin: %d", status)
	}
	if out := s.must(t, t.TempDir(), "list", "-o", "json"); !strings.Contains(out.stdout, `"items": []`) {
		t.Fatalf("a refused request made a function: %s", out.stdout)
	}
}
