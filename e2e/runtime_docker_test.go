//go:build e2e

package e2e

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRuntime_Docker is the custom-image path: `hearth init --runtime docker` writes a Dockerfile
// and a server that keep the contract; it deploys and answers as the scaffold promises.
func TestRuntime_Docker(t *testing.T) {
	const name = "docker-hello"
	s := startServer(t, serverOpts{})
	parent := t.TempDir()
	s.must(t, parent, "init", "--runtime", "docker", name)
	dir := filepath.Join(parent, name)
	for _, f := range []string{"func.yaml", "Dockerfile", "server.py"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatalf("init did not write %s: %v", f, err)
		}
	}
	s.must(t, dir, "deploy")

	inv := s.must(t, dir, "invoke", name, "-d", `{"name":"Ada"}`)
	if !strings.Contains(inv.stdout, "Hello, Ada!") {
		t.Fatalf("invoke printed %q, want the scaffold's greeting", inv.stdout)
	}
	resp, err := s.post("/invoke/"+name, "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "Hello, world!" {
		t.Fatalf("call with no body = %d %q, want 200 \"Hello, world!\"", resp.StatusCode, body)
	}

	// A docker function without a Dockerfile is refused before anything is built, saying why.
	if err := os.Remove(filepath.Join(dir, "Dockerfile")); err != nil {
		t.Fatal(err)
	}
	if msg := s.fails(t, dir, "deploy"); !strings.Contains(msg, "needs Dockerfile") {
		t.Fatalf("deploy without a Dockerfile: %q, want it to name the missing Dockerfile", msg)
	}
}

// TestContract_Docker runs the conformance suite on the custom image of
// runtimes/docker/testdata/contract, a server written without any hearth shim.
func TestContract_Docker(t *testing.T) {
	runContract(t, "docker")
}
