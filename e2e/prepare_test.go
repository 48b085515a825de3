//go:build e2e

package e2e

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// dockerPS lists containers in every state matching the filters, as "name state" lines.
func dockerPS(t *testing.T, filters ...string) []string {
	t.Helper()
	args := []string{"ps", "-a", "--format", "{{.Names}} {{.State}}"}
	for _, f := range filters {
		args = append(args, "--filter", f)
	}
	out, err := exec.Command("docker", args...).Output()
	if err != nil {
		t.Fatalf("docker ps: %v", err)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// TestPreparedInstanceGoesWithFunction: after a function's first start the pool prepares its next
// instance ahead (a created container and its running network sandbox), and deleting the
// function leaves neither behind.
func TestPreparedInstanceGoesWithFunction(t *testing.T) {
	s := startServer(t, serverOpts{})
	node, err := os.ReadFile(filepath.Join(s.dataDir, "node-id"))
	if err != nil {
		t.Fatal(err)
	}
	onNode := "label=hearth.node=" + strings.TrimSpace(string(node))
	dir := s.newFunction(t, "ahead")
	s.must(t, dir, "deploy")
	if status, _, _ := call(t, s, "ahead", ""); status != http.StatusOK {
		t.Fatalf("first call: %d", status)
	}
	eventually(t, "a created container and a sandbox prepared ahead", func() bool {
		created := dockerPS(t, "label=hearth.function=ahead", "status=created")
		sandboxes := dockerPS(t, onNode, "label=hearth.sandbox", "status=running")
		return len(created) == 1 && len(sandboxes) == 1
	})
	s.must(t, dir, "delete", "ahead")
	eventually(t, "no container of the function, and no sandbox, left", func() bool {
		return len(dockerPS(t, "label=hearth.function=ahead")) == 0 && len(dockerPS(t, onNode, "label=hearth.sandbox")) == 0
	})
}
