package cli_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/cli"
)

// memory and cpu are written as in func.yaml, sent as the API names them, and shown back so.
func TestConfigMemoryAndCPU(t *testing.T) {
	e := newConfigEnv(t)
	r := e.run("config", "hello", "memory=300", "cpu=250m")
	r.wantCode(t, cli.ExitOK)
	if want := `{"memory":300,"cpu":"250m"}`; len(e.patches) != 1 || e.patches[0] != want {
		t.Errorf("patches = %q, want [%s]", e.patches, want)
	}
	if r.stderr != "hello is at version 3\n" {
		t.Errorf("stderr = %q, want only the version", r.stderr)
	}
	for _, want := range []string{"memory          300\n", "cpu             250m\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}

	r = e.run("config", "hello", "cpu=2", "-o", "json")
	r.wantCode(t, cli.ExitOK)
	var got map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("json: %v\n%s", err, r.stdout)
	}
	if got["memory"] != 300.0 || got["cpu"] != "2" {
		t.Errorf("json memory %v cpu %v, want 300 and \"2\"", got["memory"], got["cpu"])
	}

	// cpu=0 takes the limit away.
	e.patches = nil
	r = e.run("config", "hello", "cpu=0")
	r.wantCode(t, cli.ExitOK)
	if want := `{"cpu":"0"}`; len(e.patches) != 1 || e.patches[0] != want {
		t.Errorf("patches = %q, want [%s]", e.patches, want)
	}
	if !strings.Contains(r.stdout, "cpu             0 (no limit)\n") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
}

// The old keys still work: sent under the new names, with one note each on stderr.
func TestConfigOldKeys(t *testing.T) {
	e := newConfigEnv(t)
	r := e.run("config", "hello", "memory_mb=300", "cpu_milli=1500")
	r.wantCode(t, cli.ExitOK)
	if want := `{"memory":300,"cpu":"1500m"}`; len(e.patches) != 1 || e.patches[0] != want {
		t.Errorf("patches = %q, want [%s]", e.patches, want)
	}
	want := "memory_mb is deprecated: use memory=300\ncpu_milli is deprecated: use cpu=1500m\nhello is at version 3\n"
	if r.stderr != want {
		t.Errorf("stderr = %q, want %q", r.stderr, want)
	}
	if !strings.Contains(r.stdout, "memory          300\n") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	r = e.run("config", "hello", "cpu_milli=0")
	r.wantCode(t, cli.ExitOK)
	if !strings.HasPrefix(r.stderr, "cpu_milli is deprecated: use cpu=0\n") {
		t.Errorf("stderr = %q", r.stderr)
	}
}

// A Warning the server sends (an old key reached it some other way) is passed on on stderr.
func TestConfigServerWarning(t *testing.T) {
	e := newEnv(t)
	mux := http.NewServeMux()
	mux.HandleFunc("PATCH /v1/functions/{name}/config", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Warning", `299 - "memory_mb is deprecated; use memory"`)
		writeJSON(w, 200, api.Function{Name: "hello", Version: api.Version{Number: 3}})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	e.opts.HTTPClient = srv.Client()
	e.opts.Getenv = func(k string) string {
		if k == "HEARTH_API" {
			return srv.URL
		}
		return ""
	}
	r := e.run("config", "hello", "memory=300")
	r.wantCode(t, cli.ExitOK)
	if !strings.Contains(r.stderr, "warning from the server: memory_mb is deprecated; use memory\n") {
		t.Errorf("stderr = %q, want the server's warning", r.stderr)
	}
	if strings.Contains(r.stdout, "deprecated") {
		t.Errorf("the warning reached stdout:\n%s", r.stdout)
	}
}
