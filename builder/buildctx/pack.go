package buildctx

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// PackDir writes the function folder dir to w as a gzip-compressed tar, as `hearth deploy`
// uploads it: .git and whatever .hearthignore excludes are left out, and the archive is
// deterministic (same files, same bytes).
func PackDir(w io.Writer, dir string) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	return PackFS(w, root.FS())
}

// PackFS is PackDir for any file system. Files are streamed, not held in memory.
func PackFS(w io.Writer, src fs.FS) error {
	// The gzip header carries no name or mtime, so equal sources give equal archives.
	zw := gzip.NewWriter(w)
	tw := tar.NewWriter(zw)
	err := walkSource(src, func(f sourceFile) error {
		if f.mode&fs.ModeSymlink != 0 {
			return writeEntry(tw, f, 0, nil)
		}
		fh, err := src.Open(f.name)
		if err != nil {
			return err
		}
		defer fh.Close()
		info, err := fh.Stat()
		if err != nil {
			return err
		}
		return writeEntry(tw, f, info.Size(), fh)
	})
	if err != nil {
		return fmt.Errorf("pack function source: %w", err)
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

// DefaultMaxEntries is the usual Limits.MaxEntries: far more files than a function's source
// has, far fewer than it takes to exhaust inodes or make a build context's walk slow.
const DefaultMaxEntries = 10_000

// Limits bound what Extract unpacks. Both must be positive.
type Limits struct {
	// MaxBytes bounds the uncompressed tar stream (headers included) and, separately, the
	// bytes written to files.
	MaxBytes int64
	// MaxEntries bounds the archive's entries: files, folders, links and metadata headers.
	MaxEntries int
}

// Extract unpacks a gzip-compressed tar (as PackDir writes it) into dir, which should be empty.
// It is the server's side of an upload and trusts nothing in the archive:
//   - an entry with an absolute path or a ".." component, a symlink pointing outside dir, or
//     an entry other than a file, folder or symlink is an error wrapping ErrUnsafePath;
//   - an archive whose uncompressed tar stream exceeds lim.MaxBytes, or that has more than
//     lim.MaxEntries entries, is an error wrapping ErrTooLarge (checked as it is read, so a
//     compression bomb costs at most MaxBytes);
//   - input that is not a gzip-compressed tar is an error wrapping ErrInvalidArchive, as are
//     the unsafe entries above.
//
// Files are written through an os.Root, so no entry can escape dir even through a symlink
// the archive created. On error dir may hold part of the archive; the caller removes it.
func Extract(r io.Reader, dir string, lim Limits) error {
	err := extract(r, dir, lim)
	if errors.Is(err, ErrUnsafePath) {
		return archiveError{err}
	}
	return err
}

func extract(r io.Reader, dir string, lim Limits) error {
	if lim.MaxBytes <= 0 || lim.MaxEntries <= 0 {
		return fmt.Errorf("extract: limits must be positive, not %d bytes and %d entries", lim.MaxBytes, lim.MaxEntries)
	}
	zr, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("%w: not a gzip-compressed tar: %v", ErrInvalidArchive, err)
	}
	defer zr.Close()
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	tr := tar.NewReader(&limitedReader{r: zr, left: lim.MaxBytes, limit: lim.MaxBytes})
	// The stream's limit does not bound what is written: a sparse entry expands holes that
	// take no room in the stream. written does.
	written := &limitedReader{left: lim.MaxBytes, limit: lim.MaxBytes}
	var links []string
	for entries := 1; ; entries++ {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if errors.Is(err, ErrTooLarge) {
				return err
			}
			return fmt.Errorf("%w: not a readable tar: %v", ErrInvalidArchive, err)
		}
		if entries > lim.MaxEntries {
			return fmt.Errorf("%w: more than %d files, folders and links", ErrTooLarge, lim.MaxEntries)
		}
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			continue // metadata only, as `git archive` writes
		}
		name, err := entryName(hdr.Name)
		if err != nil {
			return err
		}
		if name == "." {
			continue
		}
		if hdr.Size > lim.MaxBytes {
			return fmt.Errorf("%w: %s is %d bytes, over the limit of %d", ErrTooLarge, name, hdr.Size, lim.MaxBytes)
		}
		if err := extractEntry(root, tr, hdr, name, written); err != nil {
			return err
		}
		if hdr.Typeflag == tar.TypeSymlink {
			links = append(links, name)
		}
	}
	// Each link was checked on its own when it was made; a chain of links ("a" -> ".",
	// "b" -> "a/..") can still lead out, which only resolving them shows.
	for _, name := range links {
		if _, err := root.Stat(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w: symlink %s resolves outside the function's folder", ErrUnsafePath, name)
		}
	}
	return nil
}

// entryName cleans an archive path ("./a/b" -> "a/b") and rejects one that is not local.
func entryName(raw string) (string, error) {
	name := path.Clean(strings.TrimPrefix(raw, "./"))
	if name == "." {
		return name, nil
	}
	if strings.HasPrefix(raw, "/") || !filepath.IsLocal(filepath.FromSlash(name)) {
		return "", fmt.Errorf("%w: archive entry %q is not inside the function's folder", ErrUnsafePath, raw)
	}
	return name, nil
}

func extractEntry(root *os.Root, tr *tar.Reader, hdr *tar.Header, name string, written *limitedReader) error {
	parent := path.Dir(name)
	if parent != "." {
		if err := root.MkdirAll(parent, 0o755); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrUnsafePath, name, err)
		}
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := root.MkdirAll(name, 0o755); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrUnsafePath, name, err)
		}
		return nil
	case tar.TypeReg:
		// O_EXCL: an entry that appears twice, or lands on a link, is refused rather than
		// written through.
		f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, normalMode(fs.FileMode(hdr.Mode)))
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrUnsafePath, name, err)
		}
		written.r = tr
		_, err = io.Copy(f, written)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			if errors.Is(err, ErrTooLarge) {
				return err
			}
			return fmt.Errorf("%w: %s: %v", ErrInvalidArchive, name, err)
		}
		return nil
	case tar.TypeSymlink:
		if err := checkLink(name, hdr.Linkname); err != nil {
			return err
		}
		if err := root.Symlink(hdr.Linkname, name); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrUnsafePath, name, err)
		}
		return nil
	}
	return fmt.Errorf("%w: %s is a %s; only files, folders and symlinks are allowed",
		ErrUnsafePath, name, typeName(hdr.Typeflag))
}

func typeName(t byte) string {
	switch t {
	case tar.TypeLink:
		return "hard link"
	case tar.TypeChar, tar.TypeBlock:
		return "device"
	case tar.TypeFifo:
		return "named pipe"
	}
	return fmt.Sprintf("tar entry of type %q", t)
}

// limitedReader fails with ErrTooLarge once more than limit bytes have been read.
type limitedReader struct {
	r           io.Reader
	left, limit int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, fmt.Errorf("%w: more than %d bytes uncompressed", ErrTooLarge, l.limit)
	}
	// Read one byte past the limit so that an archive of exactly limit bytes passes.
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		// The byte past the limit only shows that there is one: it is not handed on.
		return n + int(l.left), fmt.Errorf("%w: more than %d bytes uncompressed", ErrTooLarge, l.limit)
	}
	return n, err
}
