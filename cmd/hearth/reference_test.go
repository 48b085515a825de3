package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hearthfn/hearth/cli"
	"github.com/hearthfn/hearth/runtimes"
)

var update = flag.Bool("update", false, "write docs/user/cli-reference.md from the command tree")

// TestCLIReference: docs/user/cli-reference.md is the command tree as it is, every command
// and flag; run with -update after changing a command.
func TestCLIReference(t *testing.T) {
	root := newRoot(runtimes.New(), cli.Options{})
	host, _ := os.Hostname()
	home, _ := os.UserHomeDir()
	clean := func(v string) string {
		if home != "" {
			v = strings.ReplaceAll(v, home, "~")
		}
		if host != "" && strings.EqualFold(v, host) {
			return "the host name"
		}
		if strings.HasPrefix(v, "unix://") || strings.HasPrefix(v, "tcp://") {
			return "$DOCKER_HOST, else unix:///var/run/docker.sock"
		}
		return v
	}
	var b bytes.Buffer
	if err := cli.WriteReference(&b, root, clean); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "..", "docs", "user", "cli-reference.md")
	if *update {
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v: run go test ./cmd/hearth -run TestCLIReference -update", err)
	}
	if !bytes.Equal(got, b.Bytes()) {
		t.Fatalf("docs/user/cli-reference.md is not the command tree: run go test ./cmd/hearth -run TestCLIReference -update")
	}
	for _, want := range []string{"## hearth invoke", "## hearth agent", "## hearth nodes drain", "## hearth completion", "`--cluster-addr`"} {
		if !bytes.Contains(got, []byte(want)) {
			t.Errorf("the reference lacks %q", want)
		}
	}
}
