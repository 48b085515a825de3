package cli_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
)

// completion is what cobra's hidden __complete command answered: the choices, without their
// descriptions, and the directive (a cobra.ShellCompDirective, as the shell scripts read it).
type completion struct {
	args      []string
	choices   []string
	directive string
}

// Directives as __complete prints them (cobra.ShellCompDirective values).
const (
	noFileComp        = ":4"
	noSpaceNoFileComp = ":6" // ShellCompDirectiveNoSpace | ShellCompDirectiveNoFileComp
)

// complete runs "hearth __complete args..." as a shell's completion script does, the last
// argument being the word under the cursor, and checks that it printed no error.
func (e *env) complete(args ...string) completion {
	e.t.Helper()
	r := e.run(append([]string{"__complete"}, args...)...)
	r.wantCode(e.t, 0)
	c := parseCompletion(e.t, r)
	c.args = args
	return c
}

func parseCompletion(t *testing.T, r result) completion {
	t.Helper()
	// Cobra always notes the directive on stderr (the scripts discard it); anything else
	// there would be an error shown to nobody, or worse, to the user.
	if strings.Contains(r.stderr, "rror") {
		t.Errorf("stderr = %q, want no error", r.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	c := completion{directive: lines[len(lines)-1]}
	for _, l := range lines[:len(lines)-1] {
		name, _, _ := strings.Cut(l, "\t")
		c.choices = append(c.choices, name)
	}
	return c
}

func (c completion) want(t *testing.T, directive string, choices ...string) {
	t.Helper()
	got := slices.Clone(c.choices)
	slices.Sort(got)
	want := slices.Clone(choices)
	slices.Sort(want)
	if !slices.Equal(got, want) || c.directive != directive {
		t.Errorf("completion of %q = %q %s, want %q %s", c.args, got, c.directive, want, directive)
	}
}

func TestCompleteFunctionNames(t *testing.T) {
	e := newEnv(t)
	for _, n := range []string{"hello", "help-desk", "resize"} {
		e.api.put(api.Function{Name: n})
	}
	for _, cmd := range []string{"invoke", "inspect", "config", "logs", "delete", "rm", "calls"} {
		want := []string{"hello", "help-desk", "resize"}
		if cmd == "calls" {
			// Cobra offers the subcommand beside the names.
			want = append(want, "get")
		}
		e.complete(cmd, "").want(t, noFileComp, want...)
		e.complete(cmd, "hel").want(t, noFileComp, "hello", "help-desk")
		// Only the first argument is a function's name.
		if cmd != "config" {
			e.complete(cmd, "hello", "").want(t, noFileComp)
		}
	}
	e.complete("token", "create", "--function", "r").want(t, noFileComp, "resize")
}

// TestCompleteFunctionNamesAPIFlag checks that names come from the server --api names, as the
// command itself would use.
func TestCompleteFunctionNamesAPIFlag(t *testing.T) {
	e := newEnv(t)
	other, otherSrv := newFakeAPI(t)
	other.put(api.Function{Name: "elsewhere"})
	e.api.put(api.Function{Name: "here"})
	e.complete("inspect", "--api", otherSrv.URL, "").want(t, noFileComp, "elsewhere")
}

// TestCompleteFunctionNamesFailSilently checks that a completion the server cannot answer
// offers nothing and prints nothing, and does not keep the shell waiting.
func TestCompleteFunctionNamesFailSilently(t *testing.T) {
	unreachable := httptest.NewServer(http.NotFoundHandler())
	unreachable.Close()

	hanging := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	t.Cleanup(hanging.Close)

	// No token: the server refuses the listing.
	_, tokenSrv := newTokenServer(t, map[string]api.Token{"hth_valid": {ID: "v"}})

	for name, srv := range map[string]*httptest.Server{"unreachable": unreachable, "hanging": hanging, "no token": tokenSrv} {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			r := runCLI(t, srv, map[string]string{"HEARTH_API": srv.URL}, t.TempDir(), t.TempDir(), "", "__complete", "inspect", "")
			r.wantCode(t, 0)
			parseCompletion(t, r).want(t, noFileComp)
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("completion took %v, want about a second at most", d)
			}
		})
	}
}

func TestCompleteRuntimes(t *testing.T) {
	e := newEnv(t)
	e.complete("init", "--runtime", "").want(t, noFileComp, "go", "python")
	e.complete("init", "-r", "p").want(t, noFileComp, "python")

	// The embedded catalog, with descriptions for the shells that show them.
	e.opts.Runtimes = nil
	r := e.run("__complete", "init", "--runtime", "")
	r.wantCode(t, 0)
	c := parseCompletion(t, r)
	if !slices.Contains(c.choices, "go") || !slices.Contains(c.choices, "python") {
		t.Errorf("embedded runtimes = %q, want go and python among them", c.choices)
	}
	if !strings.Contains(r.stdout, "go\t") {
		t.Errorf("completion of the embedded runtimes has no descriptions:\n%s", r.stdout)
	}
}

func TestCompleteSettingKeys(t *testing.T) {
	e := newEnv(t)
	all := []string{"memory=", "cpu=", "timeout=", "idle_timeout=", "pause_timeout=",
		"concurrency=", "min_instances=", "max_instances=", "queue=", "public=", "env."}
	e.complete("config", "hello", "").want(t, noSpaceNoFileComp, all...)
	e.complete("config", "hello", "m").want(t, noSpaceNoFileComp, "memory=", "min_instances=", "max_instances=")
	// A key given once is not offered again (config refuses it twice); env. always is.
	e.complete("config", "hello", "max_instances=5", "env.A=1", "m").want(t, noSpaceNoFileComp, "memory=", "min_instances=")
	// A setting given by its old name is given.
	e.complete("config", "hello", "memory_mb=256", "m").want(t, noSpaceNoFileComp, "min_instances=", "max_instances=")
	e.complete("config", "hello", "env.A=1", "e").want(t, noSpaceNoFileComp, "env.")
	// Nothing is offered for a value.
	e.complete("config", "hello", "timeout=").want(t, noFileComp)
}

func TestCompleteFlagValues(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"list", "-o", ""}, []string{"text", "json"}},
		{[]string{"inspect", "--output", "j"}, []string{"json"}},
		{[]string{"token", "list", "-o", ""}, []string{"text", "json"}},
		{[]string{"calls", "get", "-o", ""}, []string{"text", "json"}},
		{[]string{"token", "create", "--role", ""}, []string{"admin", "deployer", "invoker", "viewer"}},
		{[]string{"invoke", "hello", "--method", ""}, []string{"GET", "POST", "PUT", "PATCH", "DELETE"}},
		{[]string{"invoke", "hello", "-X", "P"}, []string{"POST", "PUT", "PATCH"}},
		{[]string{"calls", "--status", "t"}, []string{"timed_out"}},
	} {
		e.complete(tc.args...).want(t, noFileComp, tc.want...)
	}
}

func TestCompletionScripts(t *testing.T) {
	e := newEnv(t)
	for shell, start := range map[string]string{
		"bash": "# bash completion V2 for hearth",
		"zsh":  "#compdef hearth",
		"fish": "# fish completion for hearth",
	} {
		r := e.run("completion", shell)
		r.wantCode(t, 0)
		if !strings.HasPrefix(r.stdout, start) {
			t.Errorf("hearth completion %s starts %q, want %q", shell, firstLine(r.stdout), start)
		}
		// The script asks the binary for completions rather than listing them.
		if !strings.Contains(r.stdout, "__complete") {
			t.Errorf("hearth completion %s does not call hearth __complete", shell)
		}
	}
	// The command is part of the tree, so help lists it.
	if r := e.run("--help"); !strings.Contains(r.stdout, "completion") {
		t.Errorf("hearth --help does not list completion:\n%s", r.stdout)
	}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
