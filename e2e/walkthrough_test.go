//go:build e2e

package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hearthfn/hearth/api"
)

// TestWalkthrough is the README's walk-through: init -> deploy -> invoke (CLI and plain HTTP) ->
// edit the handler -> deploy -> the new answer -> list, inspect -> delete.
func TestWalkthrough(t *testing.T) {
	s := startServer(t, serverOpts{})
	dir := s.newFunction(t, "hello")
	for _, f := range []string{"func.yaml", "handler.go", "go.mod"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatalf("init did not create %s: %v", f, err)
		}
	}

	dep := s.must(t, dir, "deploy")
	if !strings.Contains(dep.stdout, s.URL+"/invoke/hello") {
		t.Fatalf("deploy did not print the function's URL:\n%s", dep.stdout)
	}

	inv := s.must(t, dir, "invoke", "hello", "-d", `{"name":"Ada"}`)
	if !strings.Contains(inv.stdout, "Hello, Ada!") {
		t.Fatalf("invoke printed %q, want the scaffold's greeting", inv.stdout)
	}

	// Over plain HTTP, as the README shows: with a token that may call hello only.
	tok := createToken(t, s, "--role", "invoker", "--function", "hello")
	if status, body := raw(t, s, "POST", "/invoke/hello", tok, "", `{"name":"Ada"}`); status != http.StatusOK || !strings.Contains(body, "Hello, Ada!") {
		t.Fatalf("plain HTTP call with an invoker token: %d %q", status, body)
	}
	if status, _ := raw(t, s, "POST", "/invoke/hello", "", "", `{"name":"Ada"}`); status != http.StatusUnauthorized {
		t.Fatalf("plain HTTP call of a private function without a token: %d, want 401", status)
	}

	// Edit the handler: the greeting changes, and the redeploy builds a new version.
	path := filepath.Join(dir, "handler.go")
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(src), "Hello, ") {
		t.Fatalf("the scaffold's handler has no %q to edit:\n%s", "Hello, ", src)
	}
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(string(src), "Hello, ", "Howdy, ")), 0o644); err != nil {
		t.Fatal(err)
	}
	s.must(t, dir, "deploy")
	inv = s.must(t, dir, "invoke", "hello", "-d", `{"name":"Ada"}`)
	if !strings.Contains(inv.stdout, "Howdy, Ada!") {
		t.Fatalf("after the redeploy invoke printed %q, want the new greeting", inv.stdout)
	}

	// A redeploy of unchanged source builds nothing and keeps the current version serving.
	again := s.must(t, dir, "deploy", "-o", "json")
	var fn api.Function
	if err := json.Unmarshal([]byte(again.stdout), &fn); err != nil {
		t.Fatalf("deploy -o json: %v\n%s", err, again.stdout)
	}
	if fn.Version.Number != 2 || fn.Name != "hello" {
		t.Fatalf("unchanged redeploy: got version %d of %q, want version 2 kept", fn.Version.Number, fn.Name)
	}

	// hearth versions lists both, version 2 current; hearth rollback serves version 1 again.
	var vl api.VersionList
	if err := json.Unmarshal([]byte(s.must(t, dir, "versions", "hello", "-o", "json").stdout), &vl); err != nil {
		t.Fatalf("versions -o json: %v", err)
	}
	if len(vl.Items) != 2 || vl.Items[0].Number != 2 || !vl.Items[0].Current || vl.Items[1].Current {
		t.Fatalf("versions after two deploys: %+v, want 2 (current) and 1", vl.Items)
	}
	rb := s.must(t, dir, "rollback", "hello")
	if !strings.Contains(rb.stdout, "version 1 is current again") {
		t.Fatalf("rollback printed %q", rb.stdout)
	}
	if inv := s.must(t, dir, "invoke", "hello", "-d", `{"name":"Ada"}`); !strings.Contains(inv.stdout, "Hello, Ada!") {
		t.Fatalf("after the rollback invoke printed %q, want version 1's greeting", inv.stdout)
	}

	// A cron trigger, as the README appends it: the deploy makes version 3 (version 2's source
	// with the trigger) and hearth triggers shows when it fires next.
	appendFuncYAML(t, dir, "triggers:\n  - {type: cron, schedule: \"*/5 * * * *\", body: \"{}\"}\n")
	s.must(t, dir, "deploy")
	var tl api.TriggerList
	if err := json.Unmarshal([]byte(s.must(t, dir, "triggers", "hello", "-o", "json").stdout), &tl); err != nil {
		t.Fatalf("triggers -o json: %v", err)
	}
	if len(tl.Items) != 1 || tl.Items[0].Schedule != "*/5 * * * *" || tl.Items[0].Next.IsZero() ||
		tl.Items[0].Next.Minute()%5 != 0 {
		t.Fatalf("triggers after deploying a cron trigger: %+v", tl.Items)
	}
	if inv := s.must(t, dir, "invoke", "hello", "-d", `{"name":"Ada"}`); !strings.Contains(inv.stdout, "Howdy, Ada!") {
		t.Fatalf("after deploying version 3 invoke printed %q, want the edited greeting", inv.stdout)
	}

	list := s.must(t, dir, "list")
	if !strings.Contains(list.stdout, "hello") {
		t.Fatalf("list does not show hello:\n%s", list.stdout)
	}
	var fns api.FunctionList
	if err := json.Unmarshal([]byte(s.must(t, dir, "list", "-o", "json").stdout), &fns); err != nil || len(fns.Items) != 1 {
		t.Fatalf("list -o json: %v %+v", err, fns)
	}

	insp := s.must(t, dir, "inspect", "hello", "-o", "json")
	var got api.Function
	if err := json.Unmarshal([]byte(insp.stdout), &got); err != nil {
		t.Fatalf("inspect -o json: %v\n%s", err, insp.stdout)
	}
	if got.Pool == nil || len(got.Pool.Instances) == 0 {
		t.Fatalf("inspect shows no instance after calls: %+v", got.Pool)
	}
	if got.Version.Spec.Runtime != "go" || !strings.HasPrefix(got.Version.Image, "hearth/hello:") {
		t.Fatalf("inspect: runtime %q image %q", got.Version.Spec.Runtime, got.Version.Image)
	}

	// public: true lets anyone call it, no token.
	appendFuncYAML(t, dir, "public: true\n")
	s.must(t, dir, "deploy")
	if status, body := raw(t, s, "POST", "/invoke/hello", "", "", `{"name":"Ada"}`); status != http.StatusOK || !strings.Contains(body, "Howdy, Ada!") {
		t.Fatalf("plain HTTP call of a public function without a token: %d %q", status, body)
	}

	s.must(t, dir, "delete", "hello")
	line := s.fails(t, dir, "invoke", "hello")
	if !strings.Contains(line, "not found") {
		t.Fatalf("invoke after delete: %q, want a not-found error", line)
	}
}
