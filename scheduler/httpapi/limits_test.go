package httpapi

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"testing"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/builder/buildctx"
)

// TestClassifyTooManyEntries: an upload with more entries than the registry unpacks is too
// large, as one over the size limit is, not a malformed archive.
func TestClassifyTooManyEntries(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for i := range 3 {
		if err := tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("f%d", i), Mode: 0o644, Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	err := buildctx.Extract(&buf, t.TempDir(), buildctx.Limits{MaxBytes: 1 << 20, MaxEntries: 2})
	status, code, _, msg := classify(fmt.Errorf("deploy hello: %w", err))
	if status != http.StatusRequestEntityTooLarge || code != api.CodeTooLarge {
		t.Fatalf("classify(%v) = %d %s, want 413 %s", err, status, code, api.CodeTooLarge)
	}
	if !bytes.Contains([]byte(msg), []byte("more than 2 files")) {
		t.Fatalf("message %q does not say what the limit is", msg)
	}
}
