package runtimes

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hearthfn/hearth/runtimes/funcfile"
)

func TestWriteScaffold(t *testing.T) {
	rt := lookup(t, "go")
	dir := filepath.Join(t.TempDir(), "hello-fn")
	if err := rt.WriteScaffold(dir, "hello-fn"); err != nil {
		t.Fatalf("WriteScaffold: %v", err)
	}
	for name, want := range map[string]string{
		"go.mod":     "module hello-fn\n\ngo 1.26\n",
		"func.yaml":  "name: hello-fn\n",
		"handler.go": "func Handle(w http.ResponseWriter, r *http.Request)",
	} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(data), want) {
			t.Errorf("%s lacks %q:\n%s", name, want, data)
		}
	}
	spec, err := funcfile.Load(dir)
	if err != nil {
		t.Fatalf("scaffold func.yaml does not parse: %v", err)
	}
	if spec.Name != "hello-fn" || spec.Runtime != "go" {
		t.Fatalf("scaffold spec = %+v", spec)
	}
	if _, err := rt.Prepare(spec.Name, os.DirFS(dir)); err != nil {
		t.Fatalf("scaffold does not fit its own runtime: %v", err)
	}
}

func TestWriteScaffoldRefusesToOverwrite(t *testing.T) {
	rt := lookup(t, "go")
	dir := t.TempDir()
	mine := []byte("mine")
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), mine, 0o644); err != nil {
		t.Fatal(err)
	}
	err := rt.WriteScaffold(dir, "hello")
	if !errors.Is(err, fs.ErrExist) || !strings.Contains(err.Error(), "go.mod") {
		t.Fatalf("WriteScaffold over go.mod = %v, want fs.ErrExist naming go.mod", err)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "go.mod")); string(data) != string(mine) {
		t.Fatal("existing go.mod was changed")
	}
	if _, err := os.Stat(filepath.Join(dir, "func.yaml")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("WriteScaffold wrote some files before refusing")
	}
}

func TestWriteScaffoldValidatesName(t *testing.T) {
	rt := lookup(t, "go")
	for _, name := range []string{"", "A", "../evil", "hello world"} {
		err := rt.WriteScaffold(t.TempDir(), name)
		if !errors.Is(err, funcfile.ErrInvalid) {
			t.Errorf("WriteScaffold(%q) = %v, want funcfile.ErrInvalid", name, err)
		}
	}
}
