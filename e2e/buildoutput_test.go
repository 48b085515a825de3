//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// stepLineRe is a condensed build's line for a finished step, as deploy prints it when stderr is
// not a terminal: "✓ Step 5/8 RUN go -C /src build -trimpath ... ./hearthmain  1.3s".
var stepLineRe = regexp.MustCompile(`^[✓✗] (Step \d+/\d+ .+|push .+)  (\d+\.\ds|\d+m\d\ds)( \(cached\))?$`)

// rawBuilderLine matches what the engine's builder prints and a condensed build must not.
var rawBuilderLine = regexp.MustCompile(`(?m)^Step \d+/\d+ : |---> |Removing intermediate container|Successfully built|#\d+ \[internal\]`)

// TestBuildOutput covers how deploy shows a build (the CLI runs with pipes, so not on a
// terminal): one line per step by default, the builder's whole log with --verbose, the failed
// step's whole log when a build fails, a hint when a dependency could not be downloaded, and a
// Python syntax error with its line and a caret.
func TestBuildOutput(t *testing.T) {
	s := startServer(t, serverOpts{})
	dir := s.newFunction(t, "buildout")

	t.Run("Condensed", func(t *testing.T) {
		r := s.must(t, dir, "deploy")
		lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
		if len(lines) < 3 || !strings.HasPrefix(lines[0], "Deploying buildout (") {
			t.Fatalf("stderr:\n%s\nwant the Deploying line, then one line per step", r.stderr)
		}
		for _, l := range lines[1:] {
			if !stepLineRe.MatchString(l) {
				t.Errorf("line %q is not a finished step's line; stderr:\n%s", l, r.stderr)
			}
		}
		if !regexp.MustCompile(`(?m)^✓ Step \d+/\d+ RUN go -C /src build .*  \d+\.\ds$`).MatchString(r.stderr) {
			t.Errorf("no line for the go build step:\n%s", r.stderr)
		}
		if m := rawBuilderLine.FindString(r.stderr); m != "" || strings.Contains(r.stderr, "\x1b") {
			t.Errorf("the condensed build shows the builder's own line %q (or control codes):\n%s", m, r.stderr)
		}
	})

	t.Run("Verbose", func(t *testing.T) {
		// A changed handler, so that the image is built again rather than reused.
		writeHandler(t, dir, nil, `	w.Write([]byte("verbose"))`)
		r := s.must(t, dir, "deploy", "--verbose")
		for _, want := range []string{"Step 1/", " : FROM ", "RUN [\"go\", \"-C\", \"/src\", \"build\"", "Successfully built"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("deploy --verbose does not show the builder's line %q:\n%s", want, r.stderr)
			}
		}
		if strings.Contains(r.stderr, "✓") {
			t.Errorf("deploy --verbose shows step lines as well as the log:\n%s", r.stderr)
		}
	})

	t.Run("FailedStep", func(t *testing.T) {
		broken := filepath.Join(dir, "broken.go")
		src, err := os.ReadFile(filepath.Join(dir, "handler.go"))
		if err != nil {
			t.Fatal(err)
		}
		pkg := packageRe.FindSubmatch(src)[1]
		writeFile(t, dir, "broken.go", "package "+string(pkg)+"\n\nfunc broken() {\n\tundefinedThing()\n}\n")
		defer os.Remove(broken)
		r := s.hearth(t, dir, "deploy")
		if r.code == 0 {
			t.Fatalf("deploy of code that does not compile: exit 0\nstderr:\n%s", r.stderr)
		}
		// The failed step's line, then its whole log: the go tool's package line and the
		// compiler's, once each; then the engine's word and one error line.
		for _, want := range []string{"\n✗ Step ", "RUN go -C /src build", "\n# buildout\n", "\n./broken.go:4:2: undefined: undefinedThing\n",
			"\nError: the build of buildout failed (see the build output above)\n"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
			}
		}
		if n := strings.Count(r.stderr, "undefined: undefinedThing"); n != 1 {
			t.Errorf("the compiler's line is shown %d times, want once:\n%s", n, r.stderr)
		}
		if strings.Contains(r.stderr, "hint:") {
			t.Errorf("a compile error got an offline hint:\n%s", r.stderr)
		}
		if m := rawBuilderLine.FindString(r.stderr); m != "" {
			t.Errorf("the failed build shows the builder's own line %q:\n%s", m, r.stderr)
		}
	})

	t.Run("OfflineHint", func(t *testing.T) {
		uses := filepath.Join(dir, "uses.go")
		src, err := os.ReadFile(filepath.Join(dir, "handler.go"))
		if err != nil {
			t.Fatal(err)
		}
		pkg := packageRe.FindSubmatch(src)[1]
		writeFile(t, dir, "uses.go", "package "+string(pkg)+"\n\nimport \"github.com/google/uuid\"\n\nvar _ = uuid.New\n")
		defer os.Remove(uses)
		r := s.hearth(t, dir, "deploy")
		if r.code == 0 {
			t.Fatalf("deploy of a module that is not vendored: exit 0\nstderr:\n%s", r.stderr)
		}
		for _, want := range []string{"github.com/google/uuid", "\nhint: ", "go mod vendor", "docs/user/offline-builds.md"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
			}
		}
	})

	t.Run("PythonSyntaxError", func(t *testing.T) {
		parent := t.TempDir()
		s.must(t, parent, "init", "--runtime", "python", "buildout-py")
		pydir := filepath.Join(parent, "buildout-py")
		writeFile(t, pydir, "main.py", "import json\n\ndef handle(req, ctx)\n    return 'hi'\n")
		r := s.hearth(t, pydir, "deploy")
		if r.code == 0 {
			t.Fatalf("deploy of a syntax error: exit 0\nstderr:\n%s", r.stderr)
		}
		want := "main.py:3:21: SyntaxError: expected ':'\ndef handle(req, ctx)\n                    ^\n"
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks the error, its line and the caret:\n%s\nwant:\n%s", r.stderr, want)
		}
	})
}
