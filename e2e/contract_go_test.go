//go:build e2e

package e2e

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hearthfn/hearth/runtimes/contract/contracttest"
)

// contractTimeout is the timeout every contract function's func.yaml sets.
const contractTimeout = 2 * time.Second

// TestContract_Go deploys the go runtime's contract function and runs the conformance suite on it.
func TestContract_Go(t *testing.T) {
	runContract(t, "go")
}

// runContract deploys runtimes/<runtime>/testdata/contract (function contract-<runtime>) on a
// fresh server and runs contracttest against it. The function's images are removed afterwards.
func runContract(t *testing.T, runtime string) {
	t.Helper()
	name := "contract-" + runtime
	s := startServer(t, serverOpts{})
	dir := contractFunctionDir(t, runtime)
	// The suite calls the function as any client would, without a token: the contract is the
	// runtime's, not hearth's access rules (auth_test.go).
	setFuncYAML(t, dir, "public", "true")
	s.must(t, dir, "deploy")
	contracttest.Run(t, s.URL+"/invoke/"+name, contracttest.Options{Timeout: contractTimeout})
}

// contractFunctionDir copies runtimes/<runtime>/testdata/contract into a temporary folder, so
// that a deploy never writes next to the repository's files, and returns the copy.
func contractFunctionDir(t *testing.T, runtime string) string {
	t.Helper()
	src := filepath.Join("..", "runtimes", runtime, "testdata", "contract")
	dst := filepath.Join(t.TempDir(), "contract-"+runtime)
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, info.Mode().Perm())
	})
	if err != nil {
		t.Fatalf("copy the %s contract function: %v", runtime, err)
	}
	return dst
}

// removeServerImages removes every image a test server built: the functions' images and the
// stages of their builds, all labelled with the server's node id (hearth.server). Filtering by
// the server, not by the function's name, leaves alone the images that tests of other packages
// build at the same time under the same names (the contract functions). The server must have
// stopped: an image a container still uses cannot be removed.
func removeServerImages(t *testing.T, node string) {
	t.Helper()
	// A few passes: an image whose child is removed in the same pass is refused at first.
	var ids []string
	for range 3 {
		out, err := exec.Command("docker", "images", "-aq", "--filter", "label=hearth.server="+node).Output()
		if err != nil {
			t.Errorf("list the images of server %s: %v", node, err)
			return
		}
		if ids = strings.Fields(string(out)); len(ids) == 0 {
			return
		}
		_ = exec.Command("docker", append([]string{"rmi", "-f"}, ids...)...).Run()
	}
	t.Errorf("images of server %s left behind: %v", node, ids)
}
