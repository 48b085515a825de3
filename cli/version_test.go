package cli_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hearthfn/hearth/cli"
)

func TestVersion(t *testing.T) {
	e := newEnv(t)
	r := e.run("version")
	r.wantCode(t, cli.ExitOK)
	if r.stdout != "Client:  v1.0.0-test\nServer:  v9.9.9\n" || r.stderr != "" {
		t.Errorf("stdout %q, stderr %q", r.stdout, r.stderr)
	}

	r = e.run("version", "-o", "json")
	r.wantCode(t, cli.ExitOK)
	var v map[string]string
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || v["client"] != "v1.0.0-test" || v["server"] != "v9.9.9" {
		t.Errorf("json = %v, %v", v, err)
	}

	// An unreachable server does not make version fail.
	down := httptest.NewServer(nil)
	down.Close()
	r = e.run("version", "--api", down.URL)
	r.wantCode(t, cli.ExitOK)
	if r.stdout != "Client:  v1.0.0-test\nServer:  unknown\n" {
		t.Errorf("stdout = %q", r.stdout)
	}
	if !strings.Contains(r.stderr, "cannot reach the hearth server at "+down.URL) {
		t.Errorf("stderr = %q", r.stderr)
	}
	r = e.run("version", "--api", down.URL, "-o", "json")
	if strings.TrimSpace(r.stdout) != "{\n  \"client\": \"v1.0.0-test\"\n}" {
		t.Errorf("json = %q", r.stdout)
	}
}
