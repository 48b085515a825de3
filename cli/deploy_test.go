package cli_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/cli"
)

func TestDeploy(t *testing.T) {
	e := newEnv(t)
	e.writeFunc("hello", map[string]string{
		"func.yaml":     "name: hello\nruntime: go\n",
		"main.go":       "package main",
		"secret.env":    "TOKEN=1",
		".hearthignore": "secret.env\n",
	})
	r := e.run("deploy", "--dir", "hello")
	r.wantCode(t, cli.ExitOK)
	for _, want := range []string{"Deploying hello (", " to " + e.srv.URL, "Step 1/2 : FROM hearth/go-base\nStep 2/2 : RUN go build\n"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	for _, want := range []string{"Function:  hello\n", "Version:   1\n", "Cached:    no\n", "URL:       " + e.srv.URL + "/invoke/hello\n", "Image:     hearth/hello:"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	if got := strings.Join(e.api.files, " "); got != ".hearthignore func.yaml main.go" {
		t.Errorf("uploaded files = %s", got)
	}

	// The same source again: the server reuses the image.
	r = e.run("deploy", "--dir", "hello")
	r.wantCode(t, cli.ExitOK)
	if !strings.Contains(r.stdout, "Version:   2\n") || !strings.Contains(r.stdout, "Cached:    yes\n") {
		t.Errorf("stdout = %s", r.stdout)
	}

	// -o json prints the api.Function.
	e.opts.Dir += "/hello"
	r = e.run("deploy", "-o", "json")
	r.wantCode(t, cli.ExitOK)
	var fn api.Function
	if err := json.Unmarshal([]byte(r.stdout), &fn); err != nil {
		t.Fatalf("stdout is not a function: %v\n%s", err, r.stdout)
	}
	if fn.Name != "hello" || fn.Version.Number != 3 || fn.Version.Spec.Runtime != "go" {
		t.Errorf("function = %+v", fn)
	}
}

func TestDeployBuildFailed(t *testing.T) {
	e := newEnv(t)
	e.api.buildFail = "# hello\n./main.go:3:2: undefined: fmt.Printn\n"
	e.writeFunc(".", map[string]string{"func.yaml": "name: hello\nruntime: go\n"})
	r := e.run("deploy")
	r.wantCode(t, cli.ExitError)
	if !strings.Contains(r.stderr, "Step 2/2 : RUN go build\n# hello\n./main.go:3:2: undefined: fmt.Printn\n") {
		t.Errorf("stderr lacks the build output:\n%s", r.stderr)
	}
	if !strings.HasSuffix(r.stderr, "\nError: the build of hello failed (see the build output above)\n") {
		t.Errorf("stderr does not end with one error line:\n%s", r.stderr)
	}
	if strings.Contains(r.stderr, "Usage:") || r.stdout != "" {
		t.Errorf("unexpected output: stdout %q, stderr %q", r.stdout, r.stderr)
	}
}

func TestDeployErrors(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		uploads int
		msg     string
	}{
		{"no func.yaml", map[string]string{"main.go": "package main"}, 0,
			"no func.yaml in fn: deploy a function's directory (--dir), or create one with: hearth init --runtime RUNTIME NAME"},
		{"bad field caught locally", map[string]string{"func.yaml": "name: hello\nruntime: go\nmemory: lots\n"}, 0,
			`fn/func.yaml: field "memory": must be a whole number of megabytes from 16 to 16384, such as 256`},
		{"bad yaml", map[string]string{"func.yaml": "name: hello\n  runtime: go\n"}, 0,
			"fn/func.yaml: line 2: mapping values are not allowed in this context"},
		{"rejected by the server", map[string]string{"func.yaml": "name: hello\nruntime: cobol\n"}, 1,
			`the server rejected fn/func.yaml: runtime: "cobol" is not a known language`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.writeFunc("fn", tt.files)
			r := e.run("deploy", "--dir", "fn")
			r.wantCode(t, cli.ExitError)
			lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
			if got := lines[len(lines)-1]; got != "Error: "+tt.msg {
				t.Errorf("last stderr line = %q, want %q", got, "Error: "+tt.msg)
			}
			if e.api.uploads != tt.uploads {
				t.Errorf("uploads = %d, want %d", e.api.uploads, tt.uploads)
			}
		})
	}
}

func TestDeployWithoutPacker(t *testing.T) {
	e := newEnv(t)
	e.opts.PackDir = nil
	r := e.run("deploy")
	r.wantCode(t, cli.ExitError)
	r.wantError(t, "deploy is not available: this build of hearth cannot pack functions")
}

func TestDeployListsEveryProblem(t *testing.T) {
	e := newEnv(t)
	e.writeFunc(".", map[string]string{"func.yaml": "name: X\nmemory: 1\n"})
	r := e.run("deploy")
	r.wantCode(t, cli.ExitError)
	want := "" +
		`func.yaml: field "name": "X" must be 2 to 63 characters long` + "\n" +
		`func.yaml: field "runtime": is required (for example "go")` + "\n" +
		`func.yaml: field "memory": must be a whole number of megabytes from 16 to 16384, such as 256` + "\n" +
		"Error: func.yaml has 3 problems (listed above)\n"
	if r.stderr != want {
		t.Errorf("stderr =\n%s\nwant\n%s", r.stderr, want)
	}
}
