//go:build e2e

package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// hostCABundle is the machine's CA bundle. This network inspects TLS, so npm reaches its
// registry from a build container only when the build trusts it (--build-ca-bundle).
const hostCABundle = "/etc/ssl/certs/ca-certificates.crt"

// startNodeServer starts a server whose builds trust the host's CA bundle, as an operator
// behind a TLS-inspecting proxy would run it.
func startNodeServer(t *testing.T) *server {
	t.Helper()
	if _, err := os.Stat(hostCABundle); err != nil {
		t.Fatalf("the node runtime's e2e tests need the host's CA bundle for npm: %v", err)
	}
	return startServer(t, serverOpts{extraArgs: []string{"--build-ca-bundle", hostCABundle}})
}

// TestRuntime_Node is the node path of the walk-through: `hearth init --runtime node`, deploy,
// invoke; then a handler named in func.yaml, and a wrong one refused at build time.
func TestRuntime_Node(t *testing.T) {
	const name = "node-hello"
	s := startNodeServer(t)
	parent := t.TempDir()
	s.must(t, parent, "init", "--runtime", "node", name)
	dir := filepath.Join(parent, name)
	for _, f := range []string{"func.yaml", "index.js", "package.json", ".hearthignore"} {
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
	if status, body := s.postAs(t, "text/plain", "/invoke/"+name, ""); status != http.StatusOK || body != "Hello, world!" {
		t.Fatalf("call with no body = %d %q, want 200 \"Hello, world!\"", status, body)
	}
	if status, body := s.postAs(t, "text/plain", "/invoke/"+name, "not json"); status != http.StatusBadRequest {
		t.Fatalf("call with a body that is not JSON = %d %q, want 400", status, body)
	}

	// The image is the run image plus the function: no npm, no CA bundle, no build files, and
	// not root.
	image := functionImage(t, s, dir, name)
	out, err := exec.Command("docker", "run", "--rm", "--entrypoint", "sh", image, "-c",
		`id -u; command -v npm || echo no-npm; ls -A /function; ls /etc/hearth 2>/dev/null; env | grep -c CA_CERTS || true`).CombinedOutput()
	if err != nil {
		t.Fatalf("look inside %s: %v\n%s", image, err, out)
	}
	if fields := strings.Fields(string(out)); len(fields) < 2 || fields[0] != "65534" || fields[1] != "no-npm" ||
		strings.Contains(string(out), ".hearth\n") || strings.Contains(string(out), "ca-bundle") ||
		!strings.Contains(string(out), "index.js") || fields[len(fields)-1] != "0" {
		t.Fatalf("inside %s (uid, npm, /function, /etc/hearth, CA env):\n%s\nwant uid 65534, no npm, no .hearth, no CA bundle", image, out)
	}

	// func.yaml's handler picks another file and export.
	if err := os.Rename(filepath.Join(dir, "index.js"), filepath.Join(dir, "app.js")); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(dir, "app.js"))
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.ReplaceAll(strings.ReplaceAll(string(src), "module.exports = async function handle(",
		"exports.greet = async function greet("), "Hello, ", "Howdy, ")
	if err := os.WriteFile(filepath.Join(dir, "app.js"), []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	setFuncYAML(t, dir, "handler", "app.js:greet")
	s.must(t, dir, "deploy")
	if status, body := s.postAs(t, "text/plain", "/invoke/"+name, `{"name":"Ada"}`); status != http.StatusOK || body != "Howdy, Ada!" {
		t.Fatalf("with handler app.js:greet: %d %q", status, body)
	}

	// A handler naming a file that is not there is refused by the build, with the fix, and the
	// version that serves stays.
	setFuncYAML(t, dir, "handler", "index.js")
	r := s.hearth(t, dir, "deploy")
	if r.code == 0 || !strings.Contains(r.stdout+r.stderr, "handler index.js: no file index.js in the function's folder") {
		t.Fatalf("deploy with a wrong handler: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if status, body := s.postAs(t, "text/plain", "/invoke/"+name, `{"name":"Ada"}`); status != http.StatusOK || body != "Howdy, Ada!" {
		t.Fatalf("after a failed deploy: %d %q", status, body)
	}
}

// TestContract_Node runs the conformance suite on runtimes/node/testdata/contract.
func TestContract_Node(t *testing.T) {
	runContract(t, "node")
}

// isNumberLock is package-lock.json for a function depending on is-number 7.0.0, as npm writes
// it without registry URLs: npm ci fetches the version from the configured registry and checks
// it against the integrity hash.
const isNumberLock = `{
  "name": "node-deps",
  "version": "0.1.0",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "": {
      "name": "node-deps",
      "version": "0.1.0",
      "dependencies": {
        "is-number": "7.0.0"
      }
    },
    "node_modules/is-number": {
      "version": "7.0.0",
      "integrity": "sha512-41Cifkg6e8TylSpdtTpeLVMqvSBEVzTttHvERD741+pnZ8ANv0004MRL43QKPDlK9cGvNp6NZWZUBlbGXYxxng==",
      "license": "MIT",
      "engines": {
        "node": ">=0.12.0"
      }
    }
  }
}
`

// TestRuntime_NodeDependencies deploys a function whose package.json depends on a real package
// from the npm registry (is-number), installed at build time through the operator's CA bundle:
// first with `npm install` (no lock file), then with `npm ci` (a lock file); a lock file out of
// step with package.json fails the build with npm's message; and a function that uploads its
// own node_modules is built without npm.
func TestRuntime_NodeDependencies(t *testing.T) {
	const name = "node-deps"
	s := startNodeServer(t)
	parent := t.TempDir()
	s.must(t, parent, "init", "--runtime", "node", name)
	dir := filepath.Join(parent, name)
	writeFiles(t, dir, map[string]string{
		"package.json": `{"name": "node-deps", "version": "0.1.0", "private": true, "dependencies": {"is-number": "7.0.0"}}`,
		"index.js": `const isNumber = require('is-number');
module.exports = async (req) => ({
  input: req.text(),
  isNumber: isNumber(req.text()),
  from: require.resolve('is-number'),
  version: require('is-number/package.json').version,
});
`,
	})
	check := func(step string, dep result) {
		t.Helper()
		status, body := s.postAs(t, "text/plain", "/invoke/"+name, "42")
		var got struct {
			Input, From, Version string
			IsNumber             bool
		}
		if err := json.Unmarshal([]byte(body), &got); err != nil || status != http.StatusOK {
			t.Fatalf("%s: call = %d %q (%v)\ndeploy output:\n%s", step, status, body, err, dep.stdout+dep.stderr)
		}
		if got.Input != "42" || !got.IsNumber || got.From != "/function/node_modules/is-number/index.js" || got.Version != "7.0.0" {
			t.Fatalf("%s: call = %s, want is-number 7.0.0 from /function/node_modules", step, body)
		}
		if _, body := s.postAs(t, "text/plain", "/invoke/"+name, "abc"); !strings.Contains(body, `"isNumber":false`) {
			t.Fatalf("%s: call with abc = %s", step, body)
		}
	}

	// --verbose: npm's own output is in the builder's log, not in the condensed steps.
	dep := s.must(t, dir, "deploy", "--verbose")
	if !strings.Contains(dep.stdout+dep.stderr, "npm install --omit=dev") || !strings.Contains(dep.stdout+dep.stderr, "added 1 package") {
		t.Fatalf("the build did not install is-number with npm install:\n%s", dep.stdout+dep.stderr)
	}
	check("npm install", dep)

	// The final image has the installed package and neither npm nor the CA bundle.
	image := functionImage(t, s, dir, name)
	out, err := exec.Command("docker", "run", "--rm", "--entrypoint", "sh", image, "-c",
		`ls /function/node_modules; command -v npm || echo no-npm; ls /etc/hearth 2>&1 || true`).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "is-number") || !strings.Contains(string(out), "no-npm") ||
		strings.Contains(string(out), "ca-bundle.crt") {
		t.Fatalf("inside %s: %v\n%s\nwant node_modules/is-number, no npm, no CA bundle", image, err, out)
	}

	writeFiles(t, dir, map[string]string{"package-lock.json": isNumberLock})
	dep = s.must(t, dir, "deploy", "--verbose")
	if !strings.Contains(dep.stdout+dep.stderr, "npm ci --omit=dev") || !strings.Contains(dep.stdout+dep.stderr, "added 1 package") {
		t.Fatalf("the build did not install is-number with npm ci:\n%s", dep.stdout+dep.stderr)
	}
	check("npm ci", dep)

	// A lock file that does not match package.json fails the build, before any network access.
	writeFiles(t, dir, map[string]string{
		"package.json": `{"name": "node-deps", "version": "0.1.0", "private": true, "dependencies": {"is-number": "7.0.0", "is-odd": "3.0.1"}}`,
	})
	r := s.hearth(t, dir, "deploy")
	if r.code == 0 || !strings.Contains(r.stdout+r.stderr, "`npm ci` can only install packages when your package.json and package-lock.json") {
		t.Fatalf("deploy with a stale lock file: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	check("after a failed deploy", dep)

	// Vendored: an uploaded node_modules is used as it is and npm is not run (the package.json
	// names a package that is not in it, which npm would have to fetch).
	if err := os.Remove(filepath.Join(dir, ".hearthignore")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "package-lock.json")); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string]string{
		"node_modules/is-number/package.json": `{"name": "is-number", "version": "7.0.0-vendored", "main": "index.js"}`,
		"node_modules/is-number/index.js":     "module.exports = (v) => /^[0-9]+$/.test(String(v));\n",
	})
	dep = s.must(t, dir, "deploy")
	if strings.Contains(dep.stdout+dep.stderr, "RUN npm") {
		t.Fatalf("the build ran npm with node_modules uploaded:\n%s", dep.stdout+dep.stderr)
	}
	if status, body := s.postAs(t, "text/plain", "/invoke/"+name, "42"); status != http.StatusOK ||
		!strings.Contains(body, `"isNumber":true`) || !strings.Contains(body, `"version":"7.0.0-vendored"`) {
		t.Fatalf("vendored: call = %d %s", status, body)
	}
}
