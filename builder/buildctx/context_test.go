package buildctx

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"testing/fstest"
	"time"
)

func mapFS(files map[string]string) fstest.MapFS {
	m := fstest.MapFS{}
	for name, data := range files {
		m[name] = &fstest.MapFile{Data: []byte(data), Mode: 0o644}
	}
	return m
}

func contextOf(t *testing.T, src fs.FS) *Context {
	t.Helper()
	c := New()
	if err := c.AddFS(src); err != nil {
		t.Fatalf("AddFS: %v", err)
	}
	return c
}

func TestContextHashIsStable(t *testing.T) {
	src := mapFS(map[string]string{"go.mod": "module a\n", "h.go": "package a\n", "sub/x.txt": "x"})
	a, b := contextOf(t, src), contextOf(t, src)
	if a.Hash() != b.Hash() {
		t.Fatal("same source, different hashes")
	}
	// Times, owners and non-exec permission bits must not matter.
	other := mapFS(map[string]string{"go.mod": "module a\n", "h.go": "package a\n", "sub/x.txt": "x"})
	other["h.go"].ModTime = time.Now()
	other["h.go"].Mode = 0o600
	if contextOf(t, other).Hash() != a.Hash() {
		t.Fatal("mtime or permission bits changed the hash")
	}
	var ta, tb bytes.Buffer
	if err := a.WriteTar(&ta); err != nil {
		t.Fatal(err)
	}
	if err := contextOf(t, other).WriteTar(&tb); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ta.Bytes(), tb.Bytes()) {
		t.Fatal("equal contexts wrote different tars")
	}
}

func TestContextHashChanges(t *testing.T) {
	base := func() fstest.MapFS {
		return mapFS(map[string]string{"go.mod": "module a\n", "h.go": "package a\n"})
	}
	h0 := contextOf(t, base()).Hash()
	tests := map[string]func() *Context{
		"content": func() *Context {
			s := base()
			s["h.go"].Data = []byte("package b\n")
			return contextOf(t, s)
		},
		"executable bit": func() *Context {
			s := base()
			s["h.go"].Mode = 0o755
			return contextOf(t, s)
		},
		"rename": func() *Context {
			s := base()
			s["g.go"] = s["h.go"]
			delete(s, "h.go")
			return contextOf(t, s)
		},
		"new file": func() *Context {
			s := base()
			s["new.txt"] = &fstest.MapFile{}
			return contextOf(t, s)
		},
		"meta": func() *Context {
			c := contextOf(t, base())
			c.SetMeta("runtime.version", "2")
			return c
		},
		"generated file": func() *Context {
			c := contextOf(t, base())
			if err := c.AddFile(".hearth/Dockerfile", []byte("FROM scratch\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			return c
		},
	}
	seen := map[string]string{h0: "base"}
	for name, mk := range tests {
		h := mk().Hash()
		if prev, dup := seen[h]; dup {
			t.Errorf("%s gives the same hash as %s", name, prev)
		}
		seen[h] = name
	}
}

func TestContextTarIsNormalised(t *testing.T) {
	src := mapFS(map[string]string{"b.txt": "b", "a/z.txt": "z"})
	src["run.sh"] = &fstest.MapFile{Data: []byte("#!/bin/sh\n"), Mode: 0o700, ModTime: time.Now()}
	src["link"] = &fstest.MapFile{Data: []byte("a/z.txt"), Mode: fs.ModeSymlink}
	c := contextOf(t, src)
	if err := c.AddFile("gen/Dockerfile", []byte("FROM x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := c.WriteTar(&buf); err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(&buf)
	var names []string
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, hdr.Name)
		if hdr.Uid != 0 || hdr.Gid != 0 || hdr.Uname != "" || !hdr.ModTime.Equal(time.Unix(0, 0)) {
			t.Errorf("%s: owner %d/%d %q, mtime %v", hdr.Name, hdr.Uid, hdr.Gid, hdr.Uname, hdr.ModTime)
		}
		want := map[string]int64{"run.sh": 0o755, "link": 0o777}[hdr.Name]
		if want == 0 {
			want = 0o644
		}
		if hdr.Mode != want {
			t.Errorf("%s: mode %o, want %o", hdr.Name, hdr.Mode, want)
		}
		if hdr.Name == "link" && (hdr.Typeflag != tar.TypeSymlink || hdr.Linkname != "a/z.txt") {
			t.Errorf("link: %+v", hdr)
		}
	}
	want := []string{"a/z.txt", "b.txt", "gen/Dockerfile", "link", "run.sh"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("tar entries %v, want %v", names, want)
	}
	if c.Size() != int64(len("b")+len("z")+len("#!/bin/sh\n")+len("FROM x\n")) {
		t.Fatalf("Size = %d", c.Size())
	}
}

func TestAddFSFilters(t *testing.T) {
	src := mapFS(map[string]string{
		".hearthignore":      "*.log\nbuild/\n!keep.log\n/secret\n",
		"h.go":               "package a",
		"debug.log":          "x",
		"keep.log":           "x",
		"build/out":          "x",
		"sub/build/out":      "x",
		"secret":             "x",
		"sub/secret":         "x",
		".git/config":        "x",
		"vendor/a/.git":      "gitfile",
		"sub/deep/trace.log": "x",
	})
	got := contextOf(t, src).Paths()
	want := []string{".hearthignore", "h.go", "keep.log", "sub/secret"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Paths = %v, want %v", got, want)
	}
}

func TestAddFSSymlinks(t *testing.T) {
	tests := []struct {
		name, link, target string
		ok                 bool
	}{
		{"sibling", "a", "b.txt", true},
		{"into a folder", "a", "sub/b.txt", true},
		{"up and back in", "sub/a", "../b.txt", true},
		{"absolute", "a", "/etc/passwd", false},
		{"parent", "a", "../outside", false},
		{"deep parent", "sub/a", "../../outside", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := mapFS(map[string]string{"b.txt": "b", "sub/b.txt": "b"})
			src[tt.link] = &fstest.MapFile{Data: []byte(tt.target), Mode: fs.ModeSymlink}
			err := New().AddFS(src)
			if tt.ok && err != nil {
				t.Fatalf("AddFS: %v", err)
			}
			if !tt.ok && !errors.Is(err, ErrUnsafePath) {
				t.Fatalf("AddFS = %v, want ErrUnsafePath", err)
			}
		})
	}
}

func TestAddFSOnDisk(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "h.go", "package a")
	if err := os.Symlink("h.go", filepath.Join(dir, "alias.go")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc", filepath.Join(dir, "etc")); err != nil {
		t.Fatal(err)
	}
	if err := New().AddFS(os.DirFS(dir)); !errors.Is(err, ErrUnsafePath) {
		t.Fatalf("AddFS with a link to /etc = %v, want ErrUnsafePath", err)
	}
	os.Remove(filepath.Join(dir, "etc"))
	if got := contextOf(t, os.DirFS(dir)).Paths(); !reflect.DeepEqual(got, []string{"alias.go", "h.go"}) {
		t.Fatalf("Paths = %v", got)
	}
}

func TestAddFileConflicts(t *testing.T) {
	c := contextOf(t, mapFS(map[string]string{"Dockerfile": "mine"}))
	if err := c.AddFile("Dockerfile", nil, 0o644); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("AddFile over a source file = %v, want fs.ErrExist", err)
	}
	for _, bad := range []string{"/abs", "../up", "", "."} {
		if err := c.AddFile(bad, nil, 0o644); !errors.Is(err, ErrUnsafePath) {
			t.Errorf("AddFile(%q) = %v, want ErrUnsafePath", bad, err)
		}
	}
}

func write(t *testing.T, dir, name, data string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
