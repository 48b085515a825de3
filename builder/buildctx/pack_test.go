package buildctx

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestPackExtractRoundTrip(t *testing.T) {
	src := t.TempDir()
	write(t, src, "func.yaml", "name: a\nruntime: go\n")
	write(t, src, "h.go", "package a")
	write(t, src, "sub/deep/data.json", "{}")
	write(t, src, ".hearthignore", "*.tmp\n")
	write(t, src, "scratch.tmp", "ignored")
	write(t, src, ".git/HEAD", "ref: x")
	if err := os.Chmod(filepath.Join(src, "h.go"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("sub/deep/data.json", filepath.Join(src, "data.json")); err != nil {
		t.Fatal(err)
	}

	var first, second bytes.Buffer
	if err := PackDir(&first, src); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(filepath.Join(src, "h.go"), later, later); err != nil {
		t.Fatal(err)
	}
	if err := PackDir(&second, src); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.Bytes(), second.Bytes()) {
		t.Fatal("PackDir is not deterministic across mtimes")
	}

	dst := t.TempDir()
	if err := Extract(bytes.NewReader(first.Bytes()), dst, bytesOnly(1<<20)); err != nil {
		t.Fatalf("Extract: %v", err)
	}
	got := contextOf(t, os.DirFS(dst))
	want := []string{".hearthignore", "data.json", "func.yaml", "h.go", "sub/deep/data.json"}
	if !reflect.DeepEqual(got.Paths(), want) {
		t.Fatalf("extracted %v, want %v", got.Paths(), want)
	}
	if got.Hash() != contextOf(t, os.DirFS(src)).Hash() {
		t.Fatal("extracted source hashes differently from the original")
	}
	if fi, err := os.Stat(filepath.Join(dst, "h.go")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Fatalf("h.go lost its execute bit: %v %v", fi.Mode(), err)
	}
	if target, err := os.Readlink(filepath.Join(dst, "data.json")); err != nil || target != "sub/deep/data.json" {
		t.Fatalf("symlink = %q, %v", target, err)
	}
}

// entry is one hand-made archive entry.
type entry struct {
	name string
	typ  byte
	body string
	link string
	size int64 // when non-zero, overrides len(body) in the header
}

func archive(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(tarOf(t, entries...)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// tarOf returns the uncompressed tar of entries.
func tarOf(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		hdr := &tar.Header{Name: e.name, Typeflag: typ, Mode: 0o644, Linkname: e.link}
		if typ == tar.TypeXGlobalHeader {
			hdr = &tar.Header{Typeflag: typ, PAXRecords: map[string]string{"comment": "git archive"}}
		}
		if typ == tar.TypeReg {
			hdr.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if typ == tar.TypeReg {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestExtractAccepts(t *testing.T) {
	tests := []struct {
		name    string
		entries []entry
		files   []string
	}{
		{"dot-slash names and folders", []entry{
			{name: "./", typ: tar.TypeDir}, {name: "./a/", typ: tar.TypeDir}, {name: "./a/b.txt", body: "b"},
		}, []string{"a/b.txt"}},
		{"folders implied", []entry{{name: "x/y/z.txt", body: "z"}}, []string{"x/y/z.txt"}},
		{"link up and back in", []entry{
			{name: "lib/v.txt", body: "v"}, {name: "sub/l", typ: tar.TypeSymlink, link: "../lib/v.txt"},
		}, []string{"lib/v.txt", "sub/l"}},
		{"dangling link inside", []entry{{name: "l", typ: tar.TypeSymlink, link: "missing"}}, []string{"l"}},
		{"pax global header", []entry{{name: "pax_global_header", typ: tar.TypeXGlobalHeader}, {name: "a", body: "a"}},
			[]string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := t.TempDir()
			if err := Extract(bytes.NewReader(archive(t, tt.entries...)), dst, bytesOnly(1<<20)); err != nil {
				t.Fatalf("Extract: %v", err)
			}
			for _, f := range tt.files {
				if _, err := os.Lstat(filepath.Join(dst, f)); err != nil {
					t.Errorf("%s missing: %v", f, err)
				}
			}
		})
	}
}

func TestExtractRejects(t *testing.T) {
	big := strings.Repeat("0", 4096)
	tests := []struct {
		name    string
		data    func(t *testing.T) []byte
		max     int64
		want    error
		message string
	}{
		{"parent path", one(entry{name: "../evil", body: "x"}), 1 << 20, ErrUnsafePath, "../evil"},
		{"parent inside path", one(entry{name: "a/../../evil", body: "x"}), 1 << 20, ErrUnsafePath, "a/../../evil"},
		{"absolute path", one(entry{name: "/etc/evil", body: "x"}), 1 << 20, ErrUnsafePath, "/etc/evil"},
		{"absolute symlink", one(entry{name: "l", typ: tar.TypeSymlink, link: "/etc/passwd"}), 1 << 20, ErrUnsafePath, "symlink l"},
		{"symlink to parent", one(entry{name: "l", typ: tar.TypeSymlink, link: "../x"}), 1 << 20, ErrUnsafePath, "symlink l"},
		{"symlink chain leading out", func(t *testing.T) []byte {
			return archive(t, entry{name: "a", typ: tar.TypeSymlink, link: "."},
				entry{name: "b", typ: tar.TypeSymlink, link: "a/../.."})
		}, 1 << 20, ErrUnsafePath, "symlink b"},
		{"symlink chain via a folder link", func(t *testing.T) []byte {
			return archive(t, entry{name: "a", typ: tar.TypeSymlink, link: "."},
				entry{name: "b", typ: tar.TypeSymlink, link: "a/.."})
		}, 1 << 20, ErrUnsafePath, "symlink b"},
		{"write through a symlink", func(t *testing.T) []byte {
			return archive(t, entry{name: "f", body: "x"}, entry{name: "l", typ: tar.TypeSymlink, link: "f"},
				entry{name: "l", body: "overwrite"})
		}, 1 << 20, ErrUnsafePath, "l"},
		{"duplicate file", func(t *testing.T) []byte {
			return archive(t, entry{name: "f", body: "x"}, entry{name: "f", body: "y"})
		}, 1 << 20, ErrUnsafePath, "f"},
		{"hard link", one(entry{name: "h", typ: tar.TypeLink, link: "f"}), 1 << 20, ErrUnsafePath, "hard link"},
		{"device", one(entry{name: "d", typ: tar.TypeChar}), 1 << 20, ErrUnsafePath, "device"},
		{"fifo", one(entry{name: "p", typ: tar.TypeFifo}), 1 << 20, ErrUnsafePath, "named pipe"},
		{"one file over the limit", one(entry{name: "big", body: big}), 1024, ErrTooLarge, "over the limit"},
		{"many files over the limit", func(t *testing.T) []byte {
			var es []entry
			for i := 0; i < 20; i++ {
				es = append(es, entry{name: strings.Repeat("f", i+1), body: strings.Repeat("x", 500)})
			}
			return archive(t, es...)
		}, 8 << 10, ErrTooLarge, "more than 8192 bytes"},
		{"compression bomb", one(entry{name: "bomb", body: strings.Repeat("\x00", 8<<20)}), 1 << 20, ErrTooLarge, "bytes"},
		{"not gzip", func(*testing.T) []byte { return []byte("plain text") }, 1 << 20, ErrInvalidArchive, "gzip"},
		{"gzip but not tar", func(t *testing.T) []byte {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			zw.Write([]byte(strings.Repeat("not a tar header ", 64)))
			zw.Close()
			return buf.Bytes()
		}, 1 << 20, ErrInvalidArchive, "tar"},
		{"truncated", func(t *testing.T) []byte {
			a := archive(t, entry{name: "a", body: big})
			return a[:len(a)/2]
		}, 1 << 20, ErrInvalidArchive, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Extract(bytes.NewReader(tt.data(t)), t.TempDir(), bytesOnly(tt.max))
			if !errors.Is(err, tt.want) {
				t.Fatalf("Extract = %v, want %v", err, tt.want)
			}
			// Everything but size is the archive's fault and a client error.
			if tt.want != ErrTooLarge && !errors.Is(err, ErrInvalidArchive) {
				t.Fatalf("Extract = %v, which does not wrap ErrInvalidArchive", err)
			}
			if tt.want == ErrTooLarge && errors.Is(err, ErrInvalidArchive) {
				t.Fatalf("size error %v also wraps ErrInvalidArchive", err)
			}
			if !strings.Contains(err.Error(), tt.message) {
				t.Fatalf("message %q does not contain %q", err, tt.message)
			}
		})
	}
}

func TestExtractExactLimit(t *testing.T) {
	data := archive(t, entry{name: "a", body: "hello"})
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var raw bytes.Buffer
	raw.ReadFrom(zr)
	if err := Extract(bytes.NewReader(data), t.TempDir(), bytesOnly(int64(raw.Len()))); err != nil {
		t.Fatalf("an archive of exactly the limit was refused: %v", err)
	}
}

func one(e entry) func(t *testing.T) []byte {
	return func(t *testing.T) []byte { return archive(t, e) }
}

// bytesOnly is Limits with a byte limit and the usual entry limit.
func bytesOnly(n int64) Limits { return Limits{MaxBytes: n, MaxEntries: DefaultMaxEntries} }
