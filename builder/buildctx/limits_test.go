package buildctx

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExtractEntryLimit(t *testing.T) {
	// Each file written costs a create in one folder, slow on some file systems: the limit here
	// is smaller than DefaultMaxEntries, which works the same.
	many := make([]entry, 501)
	for i := range many {
		many[i] = entry{name: fmt.Sprintf("d%d/f%d", i%10, i)}
	}
	err := Extract(bytes.NewReader(archive(t, many...)), t.TempDir(), Limits{MaxBytes: 64 << 20, MaxEntries: 500})
	if !errors.Is(err, ErrTooLarge) || errors.Is(err, ErrInvalidArchive) {
		t.Fatalf("Extract of %d entries = %v, want ErrTooLarge only", len(many), err)
	}
	if !strings.Contains(err.Error(), "more than 500 files, folders and links") {
		t.Fatalf("message %q does not say how many entries are allowed", err)
	}

	// Every entry counts, folders and metadata included; exactly the limit passes.
	exact := []entry{{name: "pax", typ: tar.TypeXGlobalHeader}, {name: "a/", typ: tar.TypeDir}, {name: "a/b", body: "b"}}
	if err := Extract(bytes.NewReader(archive(t, exact...)), t.TempDir(), Limits{MaxBytes: 1 << 20, MaxEntries: 3}); err != nil {
		t.Fatalf("Extract of exactly MaxEntries entries: %v", err)
	}
	err = Extract(bytes.NewReader(archive(t, exact...)), t.TempDir(), Limits{MaxBytes: 1 << 20, MaxEntries: 2})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Extract of MaxEntries+1 entries = %v, want ErrTooLarge", err)
	}
}

func TestExtractNeedsLimits(t *testing.T) {
	data := archive(t, entry{name: "a", body: "a"})
	for _, lim := range []Limits{{MaxBytes: 1 << 20}, {MaxEntries: 10}, {MaxBytes: -1, MaxEntries: 10}} {
		if err := Extract(bytes.NewReader(data), t.TempDir(), lim); err == nil {
			t.Errorf("Extract with limits %+v succeeded", lim)
		}
	}
}

// TestExtractSparseFilesCountWhatTheyWrite: a sparse entry's holes take no room in the tar
// stream but are written out in full, so the stream's size alone would let a small archive
// fill the disk.
func TestExtractSparseFilesCountWhatTheyWrite(t *testing.T) {
	const limit = 1 << 20
	data := gzipped(t, sparseTar("a", limit*6/10), sparseTar("b", limit*6/10), endOfTar())
	dst := t.TempDir()
	err := Extract(bytes.NewReader(data), dst, Limits{MaxBytes: limit, MaxEntries: 10})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Extract of two sparse files of 0.6 MiB each, limit 1 MiB = %v, want ErrTooLarge", err)
	}
	if n := diskBytes(t, dst); n > limit {
		t.Fatalf("%d bytes written, over the limit of %d", n, limit)
	}
	// One of them alone fits.
	data = gzipped(t, sparseTar("a", limit*6/10), endOfTar())
	if err := Extract(bytes.NewReader(data), t.TempDir(), Limits{MaxBytes: limit, MaxEntries: 10}); err != nil {
		t.Fatalf("Extract of one sparse file under the limit: %v", err)
	}
}

// sparseTar is a PAX sparse (format 1.0) regular file of realSize bytes whose only data is its
// last byte: archive/tar reads such files but cannot write them.
func sparseTar(name string, realSize int64) []byte {
	pax := paxRecord("GNU.sparse.major", "1") + paxRecord("GNU.sparse.minor", "0") +
		paxRecord("GNU.sparse.name", name) + paxRecord("GNU.sparse.realsize", fmt.Sprint(realSize))
	var out bytes.Buffer
	out.Write(rawHeader("PaxHeaders/"+name, tar.TypeXHeader, int64(len(pax))))
	out.Write(padBlock([]byte(pax)))
	body := padBlock(fmt.Appendf(nil, "1\n%d\n1\n", realSize-1))
	body = append(body, 'x')
	out.Write(rawHeader(name, tar.TypeReg, int64(len(body))))
	out.Write(padBlock(body))
	return out.Bytes()
}

func endOfTar() []byte { return make([]byte, 1024) }

// rawHeader is a ustar header block, made by hand because tar.Writer refuses sparse records.
func rawHeader(name string, typ byte, size int64) []byte {
	var b [512]byte
	copy(b[0:100], name)
	copy(b[100:108], "0000644\x00")
	copy(b[108:116], "0000000\x00")
	copy(b[116:124], "0000000\x00")
	copy(b[124:136], fmt.Sprintf("%011o\x00", size))
	copy(b[136:148], "00000000000\x00")
	b[156] = typ
	copy(b[257:265], "ustar\x0000")
	copy(b[148:156], "        ")
	var sum int64
	for _, c := range b {
		sum += int64(c)
	}
	copy(b[148:156], fmt.Sprintf("%06o\x00 ", sum))
	return b[:]
}

func padBlock(b []byte) []byte {
	if r := len(b) % 512; r != 0 {
		b = append(b, make([]byte, 512-r)...)
	}
	return b
}

// paxRecord is one "length key=value\n" record, its length counting itself.
func paxRecord(k, v string) string {
	s := " " + k + "=" + v + "\n"
	for n := len(s); ; {
		r := fmt.Sprint(n) + s
		if len(r) == n {
			return r
		}
		n = len(r)
	}
}

func gzipped(t testing.TB, parts ...[]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	for _, p := range parts {
		if _, err := zw.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// diskBytes is the total size of the regular files under dir.
func diskBytes(t testing.TB, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		info, err := d.Info()
		n += info.Size()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
