package cli_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hearthfn/hearth/cli"
	"github.com/hearthfn/hearth/runtimes"
)

func TestRuntimesTable(t *testing.T) {
	e := newEnv(t)
	e.opts.Runtimes = cli.CatalogRuntimes(runtimes.New())
	r := e.run("runtimes")
	r.wantCode(t, cli.ExitOK)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) < 3 {
		t.Fatalf("stdout = %q, want a header and a row per runtime", r.stdout)
	}
	for _, h := range []string{"NAME", "VERSION", "DESCRIPTION", "BUILD IMAGE", "RUN IMAGE"} {
		if !strings.Contains(lines[0], h) {
			t.Errorf("header %q lacks %s", lines[0], h)
		}
	}
	var goRow, dockerRow string
	for _, l := range lines[1:] {
		switch strings.Fields(l)[0] {
		case "go":
			goRow = l
		case "docker":
			dockerRow = l
		}
	}
	if !strings.Contains(goRow, "1.26") || !strings.Contains(goRow, "hearth/go-build:1.26.8") {
		t.Errorf("go row = %q", goRow)
	}
	// docker has neither image: the cells show "-" so that the columns stay aligned.
	if f := strings.Fields(dockerRow); len(f) < 2 || f[len(f)-1] != "-" || f[len(f)-2] != "-" {
		t.Errorf("docker row = %q", dockerRow)
	}
}

func TestRuntimesJSON(t *testing.T) {
	e := newEnv(t)
	r := e.run("runtimes", "-o", "json")
	r.wantCode(t, cli.ExitOK)
	var list cli.RuntimeList
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
		t.Fatalf("-o json: %v\n%s", err, r.stdout)
	}
	byName := map[string]cli.RuntimeInfo{}
	for _, rt := range list.Items {
		byName[rt.Name] = rt
	}
	if g := byName["go"]; g.Version != "1.26" || g.BuildImage != "hearth/go-build:1.26.8" || g.RunImage != "hearth/go-run:1" || g.Description == "" {
		t.Errorf("go = %+v", g)
	}
	if _, ok := byName["docker"]; !ok {
		t.Errorf("no docker runtime in %+v", list.Items)
	}
	if strings.Contains(r.stdout, `"run_image": ""`) {
		t.Error("empty images are written out; they should be left out")
	}
}

func TestRuntimesArgs(t *testing.T) {
	newEnv(t).run("runtimes", "extra").wantCode(t, cli.ExitUsage)
}
