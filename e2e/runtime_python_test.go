//go:build e2e

package e2e

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestRuntime_Python is the python path of the walk-through: `hearth init --runtime python`,
// deploy, invoke; then a handler named in func.yaml, and a wrong one refused at build time.
func TestRuntime_Python(t *testing.T) {
	const name = "python-hello"
	s := startServer(t, serverOpts{})
	parent := t.TempDir()
	s.must(t, parent, "init", "--runtime", "python", name)
	dir := filepath.Join(parent, name)
	for _, f := range []string{"func.yaml", "main.py", "requirements.txt"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatalf("init did not write %s: %v", f, err)
		}
	}
	dep := s.must(t, dir, "deploy")
	if !strings.Contains(dep.stdout, s.URL+"/invoke/"+name) {
		t.Fatalf("deploy did not print the function's URL:\n%s", dep.stdout)
	}

	inv := s.must(t, dir, "invoke", name, "-d", `{"name":"Ada"}`)
	if !strings.Contains(inv.stdout, "Hello, Ada!") {
		t.Fatalf("invoke printed %q, want the scaffold's greeting", inv.stdout)
	}
	status, body := s.postAs(t, "application/json", "/invoke/"+name, "")
	if status != http.StatusOK || body != "Hello, world!" {
		t.Fatalf("call with no body = %d %q, want 200 \"Hello, world!\"", status, body)
	}

	// The image is the run image plus the function: no pip, and not root.
	image := functionImage(t, s, dir, name)
	out, err := exec.Command("docker", "run", "--rm", "--entrypoint", "sh", image, "-c",
		`id -u; python3 -c "import pip" 2>/dev/null && echo has-pip; ls /function`).CombinedOutput()
	if err != nil {
		t.Fatalf("look inside %s: %v\n%s", image, err, out)
	}
	if fields := strings.Fields(string(out)); len(fields) == 0 || fields[0] != "65534" ||
		strings.Contains(string(out), "has-pip") || strings.Contains(string(out), ".hearth") {
		t.Fatalf("inside %s (uid, pip, /function):\n%s\nwant uid 65534, no pip, no .hearth", image, out)
	}

	// func.yaml's handler picks another module and function.
	if err := os.Rename(filepath.Join(dir, "main.py"), filepath.Join(dir, "app.py")); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(dir, "app.py"))
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.ReplaceAll(strings.ReplaceAll(string(src), "def handle(", "def greet("), "Hello, ", "Howdy, ")
	if err := os.WriteFile(filepath.Join(dir, "app.py"), []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	setFuncYAML(t, dir, "handler", "app.greet")
	s.must(t, dir, "deploy")
	if status, body := s.postAs(t, "application/json", "/invoke/"+name, `{"name":"Ada"}`); status != http.StatusOK || body != "Howdy, Ada!" {
		t.Fatalf("with handler app.greet: %d %q", status, body)
	}

	// A handler that names nothing is refused by the build, with the fix, and the version
	// that serves stays.
	setFuncYAML(t, dir, "handler", "app.handle")
	r := s.hearth(t, dir, "deploy")
	if r.code == 0 || !strings.Contains(r.stdout+r.stderr, "app.py defines no 'handle' at its top level") {
		t.Fatalf("deploy with a wrong handler: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if status, body := s.postAs(t, "application/json", "/invoke/"+name, `{"name":"Ada"}`); status != http.StatusOK || body != "Howdy, Ada!" {
		t.Fatalf("after a failed deploy: %d %q", status, body)
	}
}

// TestContract_Python runs the conformance suite on runtimes/python/testdata/contract.
func TestContract_Python(t *testing.T) {
	runContract(t, "python")
}

// TestRuntime_PythonDependencies deploys a function whose requirements.txt names two vendored
// packages, a wheel in wheels/ and a source package in vendor/ (no package index is reachable
// here): pip installs both at build time, and the handler imports them from /deps. The server
// has a build CA bundle, which the build stage uses and the function's image does not get.
func TestRuntime_PythonDependencies(t *testing.T) {
	const name = "python-deps"
	s := startServer(t, serverOpts{extraArgs: []string{"--build-ca-bundle", "/etc/ssl/certs/ca-certificates.crt"}})
	parent := t.TempDir()
	s.must(t, parent, "init", "--runtime", "python", name)
	dir := filepath.Join(parent, name)

	pyWriteWheel(t, filepath.Join(dir, "wheels"), "greeting", "1.0",
		"def greet(name):\n    return f\"Greetings, {name}!\"\n")
	files := map[string]string{
		"vendor/shout/pyproject.toml": `[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"

[project]
name = "shout"
version = "0.1.0"
`,
		"vendor/shout/shout/__init__.py": "def shout(s):\n    return s.upper()\n",
		"requirements.txt":               "greeting==1.0\n./vendor/shout\n",
		"main.py": `import greeting
import shout


def handle(req, ctx):
    name = (req.json() or {}).get("name", "world")
    return {"text": shout.shout(greeting.greet(name)), "from": [greeting.__file__, shout.__file__]}
`,
	}
	for p, data := range files {
		p = filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dep := s.must(t, dir, "deploy")
	status, body := s.postAs(t, "application/json", "/invoke/"+name, `{"name":"Ada"}`)
	var got struct {
		Text string
		From []string
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil || status != http.StatusOK {
		t.Fatalf("call = %d %q (%v)\ndeploy output:\n%s", status, body, err, dep.stdout+dep.stderr)
	}
	if got.Text != "GREETINGS, ADA!" || len(got.From) != 2 ||
		!strings.HasPrefix(got.From[0], "/deps/greeting/") || !strings.HasPrefix(got.From[1], "/deps/shout/") {
		t.Fatalf("call = %s, want both packages imported from /deps", body)
	}
	if !strings.Contains(dep.stdout+dep.stderr, "COPY .hearth/ca-bundle.crt") {
		t.Fatalf("the build did not use the server's CA bundle; deploy output:\n%s", dep.stdout+dep.stderr)
	}
	image := functionImage(t, s, dir, name)
	out, err := exec.Command("docker", "run", "--rm", "--entrypoint", "sh", image, "-c",
		`ls -d /etc/hearth /function/.hearth /function/wheels /function/vendor 2>&1; env | grep -i -e cert -e ca_bundle; true`).CombinedOutput()
	if err != nil || strings.Count(string(out), "No such file or directory") != 4 || strings.Contains(string(out), "=") {
		t.Fatalf("the build's CA bundle, or pip's inputs, reached %s (%v):\n%s", image, err, out)
	}

	// A requirement that is not vendored fails the build and says so, without reaching for an
	// index.
	if err := os.WriteFile(filepath.Join(dir, "requirements.txt"), []byte("greeting==1.0\nnot-vendored-anywhere\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := s.hearth(t, dir, "deploy")
	if r.code == 0 || !strings.Contains(r.stdout+r.stderr, "No matching distribution found for not-vendored-anywhere") {
		t.Fatalf("deploy with a missing package: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
}

// pyWriteWheel writes dir/<name>-<version>-py3-none-any.whl: a pure-Python wheel holding the
// package name with an __init__.py of init, made here because no package index is reachable.
func pyWriteWheel(t *testing.T, dir, name, version, init string) {
	t.Helper()
	distInfo := fmt.Sprintf("%s-%s.dist-info", name, version)
	files := []struct{ path, data string }{
		{name + "/__init__.py", init},
		{distInfo + "/METADATA", fmt.Sprintf("Metadata-Version: 2.1\nName: %s\nVersion: %s\n", name, version)},
		{distInfo + "/WHEEL", "Wheel-Version: 1.0\nGenerator: hearth-e2e\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	var record strings.Builder
	for _, f := range files {
		w, err := zw.Create(f.path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, f.data); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(f.data))
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", f.path, base64.RawURLEncoding.EncodeToString(sum[:]), len(f.data))
	}
	fmt.Fprintf(&record, "%s/RECORD,,\n", distInfo)
	w, err := zw.Create(distInfo + "/RECORD")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, record.String()); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	whl := filepath.Join(dir, fmt.Sprintf("%s-%s-py3-none-any.whl", name, version))
	if err := os.WriteFile(whl, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
