package buildctx

import (
	"archive/tar"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzLimits are small, so that the fuzzer reaches them.
var fuzzLimits = Limits{MaxBytes: 64 << 10, MaxEntries: 32}

// FuzzExtract feeds Extract tar streams (gzip-compressed by the harness, so that the fuzzer
// mutates the tar rather than the compression; with raw set, the input is handed over as it
// is). Whatever the input, Extract must not panic, must write nothing outside its folder, must
// keep within the byte and entry limits, and must fail only with its own sentinel errors.
func FuzzExtract(f *testing.F) {
	for _, seed := range extractSeeds(f) {
		f.Add(seed, false)
	}
	f.Add([]byte("plain text"), true)
	f.Add(gzipped(f, []byte("not a tar")), true)
	f.Fuzz(func(t *testing.T, data []byte, raw bool) {
		if !raw {
			data = gzipped(t, data)
		}
		root := t.TempDir()
		dir := filepath.Join(root, "target")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		err := Extract(bytes.NewReader(data), dir, fuzzLimits)
		if err != nil && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrInvalidArchive) {
			t.Fatalf("Extract = %v: neither ErrTooLarge nor ErrInvalidArchive", err)
		}
		if errors.Is(err, ErrUnsafePath) && !errors.Is(err, ErrInvalidArchive) {
			t.Fatalf("unsafe path %v is not ErrInvalidArchive", err)
		}
		// Nothing outside the folder: the folder is all its parent holds.
		if entries, rerr := os.ReadDir(root); rerr != nil || len(entries) != 1 {
			t.Fatalf("the target's parent holds %v (%v)", entries, rerr)
		}
		var files int
		var size int64
		werr := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || p == dir || d.IsDir() {
				return err
			}
			files++
			if d.Type()&fs.ModeSymlink != 0 {
				checkLinkStaysInside(t, dir, p)
				return nil
			}
			if !d.Type().IsRegular() {
				t.Errorf("%s is a %v", p, d.Type())
			}
			info, err := d.Info()
			if err == nil {
				size += info.Size()
			}
			return err
		})
		if werr != nil {
			t.Fatal(werr)
		}
		if size > fuzzLimits.MaxBytes {
			t.Errorf("%d bytes written, over the limit of %d", size, fuzzLimits.MaxBytes)
		}
		if files > fuzzLimits.MaxEntries {
			t.Errorf("%d files and links written, over the limit of %d", files, fuzzLimits.MaxEntries)
		}
		if err == nil {
			checkChainsStayInside(t, dir)
		}
	})
}

// checkLinkStaysInside fails when the symlink at p, on its own, points outside dir: Extract
// never makes such a link, even when it fails later.
func checkLinkStaysInside(t *testing.T, dir, p string) {
	t.Helper()
	target, err := os.Readlink(p)
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(dir, filepath.Join(filepath.Dir(p), target))
	if filepath.IsAbs(target) || err != nil || !filepath.IsLocal(rel) && rel != "." {
		t.Errorf("symlink %s points to %q, outside its folder", p, target)
	}
}

// checkChainsStayInside fails when a symlink under dir, followed through other links, leads
// outside dir: what Extract checks before it reports success.
func checkChainsStayInside(t *testing.T, dir string) {
	t.Helper()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	for _, l := range links(t, dir) {
		rel, _ := filepath.Rel(dir, l)
		if _, err := root.Stat(rel); err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("symlink %s resolves outside its folder: %v", rel, err)
		}
	}
}

// links lists the symlinks under dir.
func links(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type()&fs.ModeSymlink != 0 {
			out = append(out, p)
		}
		return err
	})
	return out
}

// extractSeeds are uncompressed tar streams: good archives and every hostile shape the unit
// tests know.
func extractSeeds(t testing.TB) [][]byte {
	many := make([]entry, 40)
	for i := range many {
		many[i] = entry{name: "f" + strings.Repeat("x", i)}
	}
	return [][]byte{
		tarOf(t, entry{name: "func.yaml", body: "name: a\nruntime: go\n"}, entry{name: "sub/", typ: tar.TypeDir},
			entry{name: "sub/h.go", body: "package a"}, entry{name: "l", typ: tar.TypeSymlink, link: "sub/h.go"}),
		tarOf(t, entry{name: "./", typ: tar.TypeDir}, entry{name: "./a/b.txt", body: "b"}),
		tarOf(t, entry{name: "pax", typ: tar.TypeXGlobalHeader}, entry{name: "a", body: "a"}),
		tarOf(t, entry{name: "../evil", body: "x"}),
		tarOf(t, entry{name: "/etc/evil", body: "x"}),
		tarOf(t, entry{name: "a/../../evil", body: "x"}),
		tarOf(t, entry{name: "l", typ: tar.TypeSymlink, link: "/etc"}, entry{name: "l/passwd", body: "x"}),
		tarOf(t, entry{name: "a", typ: tar.TypeSymlink, link: "."}, entry{name: "b", typ: tar.TypeSymlink, link: "a/../.."}),
		tarOf(t, entry{name: "d", typ: tar.TypeSymlink, link: ".."}, entry{name: "d/x", body: "x"}),
		tarOf(t, entry{name: "f", body: "x"}, entry{name: "l", typ: tar.TypeSymlink, link: "f"}, entry{name: "l", body: "y"}),
		tarOf(t, entry{name: "h", typ: tar.TypeLink, link: "f"}),
		tarOf(t, entry{name: "c", typ: tar.TypeChar}),
		tarOf(t, entry{name: "big", body: strings.Repeat("0", 70<<10)}),
		tarOf(t, many...),
		append(append(sparseTar("s1", 40<<10), sparseTar("s2", 40<<10)...), endOfTar()...),
		append(sparseTar("huge", 1<<40), endOfTar()...),
		{},
	}
}
