package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hearthfn/hearth/builder"
	"github.com/hearthfn/hearth/runtimes"
)

func TestEnsureRuntimeImages(t *testing.T) {
	var want []string
	for _, rt := range runtimes.New().List() {
		for _, img := range rt.Images {
			want = append(want, img.Tag)
		}
	}
	if len(want) == 0 {
		t.Fatal("no runtime declares images")
	}
	f := newFakeEngine(DebianImage)
	b := fakeBuilder(f)
	var lines []string
	got, err := b.EnsureRuntimeImages(context.Background(), func(l string) { lines = append(lines, l) })
	if err != nil {
		t.Fatal(err)
	}
	var tags []string
	for i, img := range got {
		tags = append(tags, img.Tag)
		if !img.Built || img.Stale {
			t.Errorf("%s: %+v, want built", img.Tag, img)
		}
		opts := f.builds[i]
		if opts.Tags[0] != img.Tag || opts.Labels["hearth.role"] != "base-image" || opts.Labels["hearth.owner"] != "hearth" ||
			opts.Labels["hearth.runtime"] != img.Runtime || opts.Labels["hearth.hash"] == "" || strings.Contains(opts.Dockerfile, "/") {
			t.Errorf("%s: build options %+v", img.Tag, opts)
		}
		if _, ok := tarFiles(t, f.contexts[i])[opts.Dockerfile]; !ok {
			t.Errorf("%s: the context lacks %s", img.Tag, opts.Dockerfile)
		}
	}
	if !slices.Equal(tags, want) {
		t.Fatalf("built %v, want %v (catalog order)", tags, want)
	}
	if !slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, "building "+want[0]) }) {
		t.Errorf("progress = %q", lines)
	}

	again, err := b.EnsureRuntimeImages(context.Background(), nil)
	if err != nil || len(f.builds) != len(want) {
		t.Fatalf("second run: %v, %d builds", err, len(f.builds))
	}
	for _, img := range again {
		if img.Built || img.Stale {
			t.Errorf("second run: %+v", img)
		}
	}

	// An image built from another version of its Dockerfile is kept and reported.
	f.labels[want[0]] = map[string]string{"hearth.hash": "old"}
	again, _ = b.EnsureRuntimeImages(context.Background(), nil)
	if !again[0].Stale || again[0].Built {
		t.Errorf("changed Dockerfile: %+v, want stale and not rebuilt", again[0])
	}
}

func TestEnsureRuntimeImagesFails(t *testing.T) {
	f := &fakeEngine{images: map[string]bool{}, output: `{"stream":"Step 2/3 : RUN apt-get install\nE: Unable to locate package\n"}{"error":"returned a non-zero code: 100"}`}
	got, err := fakeBuilder(f).EnsureRuntimeImages(context.Background(), nil)
	if !errors.Is(err, builder.ErrBuildFailed) || !strings.Contains(err.Error(), "Unable to locate package") || len(got) != 0 {
		t.Fatalf("EnsureRuntimeImages = %v, %v", got, err)
	}
	// Each runtime stops at its first failure; the others are still tried.
	perRuntime := 0
	for _, rt := range runtimes.New().List() {
		if len(rt.Images) > 0 {
			perRuntime++
		}
	}
	if len(f.builds) != perRuntime {
		t.Fatalf("%d builds, want one per runtime with images (%d)", len(f.builds), perRuntime)
	}
}

// fakeDebootstrap writes a script that acts as debootstrap: it checks its arguments and makes
// a tiny root file system in the target folder.
func fakeDebootstrap(t *testing.T, fail bool) (prog, argsFile string) {
	t.Helper()
	dir := t.TempDir()
	argsFile = filepath.Join(dir, "args")
	script := "#!/bin/sh\necho \"$@\" > " + argsFile + "\necho I: Retrieving Release\n"
	if fail {
		script += "echo 'E: Failed getting release file' >&2\nexit 1\n"
	} else {
		script += "mkdir -p \"$4/bin\" \"$4/etc\" && echo hi > \"$4/etc/motd\" && ln -s ../etc/motd \"$4/bin/link\"\necho I: Base system installed successfully.\n"
	}
	prog = filepath.Join(dir, "debootstrap")
	if err := os.WriteFile(prog, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return prog, argsFile
}

func TestEnsureDebianImage(t *testing.T) {
	prog, argsFile := fakeDebootstrap(t, false)
	f := newFakeEngine()
	b := fakeBuilder(f)
	work := t.TempDir()
	var lines []string
	built, err := b.EnsureDebianImage(context.Background(),
		DebianOptions{Debootstrap: prog, Mirror: "http://mirror.example/debian", WorkDir: work},
		func(l string) { lines = append(lines, l) })
	if err != nil || !built {
		t.Fatalf("EnsureDebianImage = %v, %v\n%s", built, err, strings.Join(lines, "\n"))
	}
	args, _ := os.ReadFile(argsFile)
	if !strings.HasPrefix(string(args), "--variant=minbase --include=ca-certificates bookworm "+work) ||
		!strings.HasSuffix(strings.TrimSpace(string(args)), " http://mirror.example/debian") {
		t.Errorf("debootstrap args = %q", args)
	}
	if !slices.Contains(lines, "I: Base system installed successfully.") {
		t.Errorf("progress lacks debootstrap's output: %q", lines)
	}
	if len(f.imports) != 1 || f.imports[0].ref != DebianImage {
		t.Fatalf("imports = %+v", f.imports)
	}
	imp := f.imports[0]
	if !slices.ContainsFunc(imp.changes, func(c string) bool { return strings.HasPrefix(c, "ENV PATH=") && strings.Contains(c, "/usr/bin") }) {
		t.Errorf("changes = %q, want ENV PATH", imp.changes)
	}
	names := tarNames(t, imp.data)
	for _, want := range []string{"./etc/motd", "./bin/link"} {
		if !slices.Contains(names, want) {
			t.Errorf("imported tar lacks %s: %v", want, names)
		}
	}
	if left, _ := os.ReadDir(work); len(left) != 0 {
		t.Errorf("the root file system was left behind in %s", work)
	}

	if built, err := b.EnsureDebianImage(context.Background(), DebianOptions{Debootstrap: "/nonexistent"}, nil); err != nil || built {
		t.Fatalf("with the image present: %v, %v; want nothing done", built, err)
	}
}

func TestEnsureDebianImageFails(t *testing.T) {
	prog, _ := fakeDebootstrap(t, true)
	f := newFakeEngine()
	_, err := fakeBuilder(f).EnsureDebianImage(context.Background(), DebianOptions{Debootstrap: prog, WorkDir: t.TempDir()}, nil)
	if err == nil || !strings.Contains(err.Error(), "Failed getting release file") || len(f.imports) != 0 {
		t.Fatalf("EnsureDebianImage with a failing debootstrap = %v (imports %d)", err, len(f.imports))
	}
	_, err = fakeBuilder(f).EnsureDebianImage(context.Background(),
		DebianOptions{Debootstrap: filepath.Join(t.TempDir(), "debootstrap")}, nil)
	if err == nil || !strings.Contains(err.Error(), "debootstrap") {
		t.Fatalf("EnsureDebianImage without debootstrap = %v", err)
	}
}

func tarNames(t *testing.T, data []byte) []string {
	t.Helper()
	var names []string
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, hdr.Name)
	}
}
