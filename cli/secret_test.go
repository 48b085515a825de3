package cli_test

import (
	"encoding/json"
	"io"
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

// secretEnv is an env whose server answers the secret endpoints for the function "hello" and
// records what it was sent.
type secretEnv struct {
	*env
	mu   sync.Mutex
	vals map[string]string
	cts  []string // Content-Type of each PUT
}

func newSecretEnv(t *testing.T) *secretEnv {
	t.Helper()
	e := &secretEnv{env: newEnv(t), vals: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /v1/functions/{name}/secrets/{key}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("name") != "hello" {
			writeErr(w, 404, api.CodeNotFound, `function "`+r.PathValue("name")+`": not found`, "")
			return
		}
		b, _ := io.ReadAll(r.Body)
		e.mu.Lock()
		defer e.mu.Unlock()
		e.vals[r.PathValue("key")] = string(b)
		e.cts = append(e.cts, r.Header.Get("Content-Type"))
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /v1/functions/{name}/secrets", func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		defer e.mu.Unlock()
		l := api.SecretList{Items: []api.Secret{}}
		for _, k := range []string{"API_KEY", "DB_PASSWORD"} {
			if _, ok := e.vals[k]; ok {
				l.Items = append(l.Items, api.Secret{Key: k, UpdatedAt: now.Add(-time.Minute)})
			}
		}
		writeJSON(w, 200, l)
	})
	mux.HandleFunc("DELETE /v1/functions/{name}/secrets/{key}", func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		defer e.mu.Unlock()
		if _, ok := e.vals[r.PathValue("key")]; !ok {
			writeErr(w, 404, api.CodeNotFound, `function "hello": secret "`+r.PathValue("key")+`": not found`, "")
			return
		}
		delete(e.vals, r.PathValue("key"))
		w.WriteHeader(http.StatusNoContent)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	e.srv = srv
	e.opts.HTTPClient = srv.Client()
	e.opts.Getenv = func(k string) string {
		if k == "HEARTH_API" {
			return srv.URL
		}
		return ""
	}
	return e
}

func TestSecretSet(t *testing.T) {
	e := newSecretEnv(t)
	r := e.runWithStdin(strings.NewReader("s3cr3t\n"), "secret", "set", "hello", "API_KEY")
	r.wantCode(t, cli.ExitOK)
	if e.vals["API_KEY"] != "s3cr3t" {
		t.Errorf("piped value sent as %q: one trailing newline is dropped", e.vals["API_KEY"])
	}
	if e.cts[0] != "application/octet-stream" {
		t.Errorf("Content-Type %q", e.cts[0])
	}
	if strings.Contains(r.stdout+r.stderr, "s3cr3t") {
		t.Errorf("the value was printed: %s%s", r.stdout, r.stderr)
	}

	// A file is sent byte for byte, its newlines kept.
	path := filepath.Join(e.opts.Dir, "pw.txt")
	if err := os.WriteFile(path, []byte("line1\nline2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.run("secret", "set", "hello", "DB_PASSWORD", "--from-file", "pw.txt").wantCode(t, cli.ExitOK)
	if e.vals["DB_PASSWORD"] != "line1\nline2\n" {
		t.Errorf("file value sent as %q", e.vals["DB_PASSWORD"])
	}

	// A value on the command line is refused, and not repeated.
	r = e.run("secret", "set", "hello", "API_KEY", "hunter2")
	r.wantCode(t, cli.ExitUsage)
	if !strings.Contains(r.stderr, "never as an argument") || strings.Contains(r.stderr, "hunter2") {
		t.Errorf("stderr = %q", r.stderr)
	}
	if e.vals["API_KEY"] != "s3cr3t" {
		t.Errorf("a refused set changed the value")
	}

	r = e.runWithStdin(strings.NewReader(strings.Repeat("x", api.MaxSecretBytes+1)), "secret", "set", "hello", "BIG")
	r.wantCode(t, cli.ExitError)
	r.wantError(t, "the value of BIG is over 64 KiB, the most a secret may hold")

	r = e.runWithStdin(strings.NewReader("v"), "secret", "set", "nope", "K")
	r.wantCode(t, cli.ExitError)
	if lines := strings.Split(strings.TrimSpace(r.stderr), "\n"); len(lines) != 1 || !strings.Contains(r.stderr, `function "nope"`) {
		t.Errorf("unknown function: stderr = %q", r.stderr)
	}
}

func TestSecretListAndRm(t *testing.T) {
	e := newSecretEnv(t)
	e.vals["API_KEY"], e.vals["DB_PASSWORD"] = "s3cr3t", "pw"
	r := e.run("secret", "list", "hello")
	r.wantCode(t, cli.ExitOK)
	want := "KEY           UPDATED\nAPI_KEY       1m ago\nDB_PASSWORD   1m ago\n"
	if r.stdout != want {
		t.Errorf("stdout =\n%s\nwant\n%s", r.stdout, want)
	}
	r = e.run("secret", "ls", "hello", "-o", "json")
	r.wantCode(t, cli.ExitOK)
	var l api.SecretList
	if err := json.Unmarshal([]byte(r.stdout), &l); err != nil || len(l.Items) != 2 || l.Items[0].Key != "API_KEY" {
		t.Errorf("json: %v %+v", err, l)
	}
	if strings.Contains(r.stdout, "s3cr3t") {
		t.Error("list shows a value")
	}

	e.run("secret", "rm", "hello", "API_KEY").wantCode(t, cli.ExitOK)
	if _, ok := e.vals["API_KEY"]; ok {
		t.Error("rm did not remove")
	}
	r = e.run("secret", "rm", "hello", "API_KEY")
	r.wantCode(t, cli.ExitError)
	r = e.run("secret", "rm", "hello")
	r.wantCode(t, cli.ExitUsage)

	delete(e.vals, "DB_PASSWORD")
	r = e.run("secret", "list", "hello")
	if r.stdout != "hello has no secrets.\n" {
		t.Errorf("empty list: %q", r.stdout)
	}
}
