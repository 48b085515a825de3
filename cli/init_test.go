package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hearthfn/hearth/cli"
	"github.com/hearthfn/hearth/runtimes"
	"github.com/hearthfn/hearth/runtimes/funcfile"
)

func TestInitWritesScaffold(t *testing.T) {
	e := newEnv(t)
	r := e.run("init", "--runtime", "go", "hello")
	r.wantCode(t, cli.ExitOK)
	b, err := os.ReadFile(filepath.Join(e.opts.Dir, "hello", "func.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "name: hello\nruntime: go\n" {
		t.Errorf("func.yaml = %q", b)
	}
	if _, err := os.Stat(filepath.Join(e.opts.Dir, "hello", "handler")); err != nil {
		t.Errorf("handler not written: %v", err)
	}
	if !strings.Contains(r.stdout, "Created function hello (runtime go)") || !strings.Contains(r.stdout, "cd hello && hearth deploy") {
		t.Errorf("stdout = %q", r.stdout)
	}

	// An existing empty directory is fine.
	if err := os.Mkdir(filepath.Join(e.opts.Dir, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	e.run("init", "-r", "python", "empty").wantCode(t, cli.ExitOK)
}

func TestInitErrors(t *testing.T) {
	e := newEnv(t)
	e.writeFunc("taken", map[string]string{"main.go": "package main"})
	if err := os.WriteFile(filepath.Join(e.opts.Dir, "afile"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"unknown runtime", []string{"init", "--runtime", "rust", "x"}, cli.ExitError,
			`unknown runtime "rust": known runtimes are go, python`},
		{"not empty", []string{"init", "--runtime", "go", "taken"}, cli.ExitError,
			"directory taken already exists and is not empty: choose another name or remove it"},
		{"a file", []string{"init", "--runtime", "go", "afile"}, cli.ExitError,
			"afile already exists and is not a directory: choose another name"},
		{"path", []string{"init", "--runtime", "go", "../x"}, cli.ExitError,
			`invalid function name: "../x" must be lowercase letters, digits and '-', start with a letter and not end with '-'`},
		{"upper case", []string{"init", "--runtime", "go", "Hello"}, cli.ExitError,
			`invalid function name: "Hello" must be lowercase letters, digits and '-', start with a letter and not end with '-'`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.run(tt.args...)
			r.wantCode(t, tt.code)
			r.wantError(t, tt.msg)
		})
	}
	if _, err := os.Stat(filepath.Join(e.opts.Dir, "Hello")); !os.IsNotExist(err) {
		t.Errorf("a refused init left its directory behind: %v", err)
	}
	if _, err := os.Stat(filepath.Join(e.opts.Dir, "taken", "main.go")); err != nil {
		t.Errorf("init touched an existing directory: %v", err)
	}

	// A missing --runtime is a usage error and lists the choices.
	r := e.run("init", "x")
	r.wantCode(t, cli.ExitUsage)
	if !strings.HasPrefix(r.stderr, "Error: --runtime is required (known runtimes: go, python)\n") || !strings.Contains(r.stderr, "Usage:") {
		t.Errorf("stderr = %q", r.stderr)
	}
}

// TestInitRealCatalog writes the embedded Go runtime's scaffold and checks that the result
// is a function deploy would accept.
func TestInitRealCatalog(t *testing.T) {
	e := newEnv(t)
	e.opts.Runtimes = nil
	e.run("init", "--runtime", "go", "hello").wantCode(t, cli.ExitOK)
	spec, err := funcfile.Load(filepath.Join(e.opts.Dir, "hello"))
	if err != nil {
		t.Fatalf("the scaffold's func.yaml: %v", err)
	}
	if spec.Name != "hello" || spec.Runtime != "go" {
		t.Errorf("spec = %+v", spec)
	}
	entries, err := os.ReadDir(filepath.Join(e.opts.Dir, "hello"))
	if err != nil || len(entries) < 2 {
		t.Errorf("scaffold = %v, %v", entries, err)
	}

	r := e.run("init", "--runtime", "cobol", "other")
	r.wantCode(t, cli.ExitError)
	// The list grows with the catalog; what matters is that it is the real catalog's.
	r.wantError(t, `unknown runtime "cobol": known runtimes are `+strings.Join(cli.CatalogRuntimes(runtimes.New()).Names(), ", "))
}

// TestInitHelpListsTheRuntimes: init's help names the runtimes it accepts, from the catalog.
func TestInitHelpListsTheRuntimes(t *testing.T) {
	e := newEnv(t)
	r := e.run("init", "--help")
	r.wantCode(t, cli.ExitOK)
	if !strings.Contains(r.stdout, "Runtimes: go, python (hearth runtimes shows") {
		t.Errorf("init --help with the fake catalog:\n%s", r.stdout)
	}
	e.opts.Runtimes = nil
	r = e.run("init", "--help")
	if !strings.Contains(r.stdout, "Runtimes: docker, go, java, node, python") {
		t.Errorf("init --help with the real catalog:\n%s", r.stdout)
	}
}
