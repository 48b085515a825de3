package buildctx

import (
	"archive/tar"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"time"
)

// sourceFile is one file of a function's source as it goes into a tar: the name and a
// normalised mode, plus the target for a symlink.
type sourceFile struct {
	name string
	mode fs.FileMode // 0o644, 0o755, or fs.ModeSymlink|0o777
	link string
}

// walkSource calls fn, in lexical order, for every regular file and symlink of src that belongs
// in a function's source: .git is always left out, and so is whatever src's .hearthignore
// excludes. Other file types (sockets, pipes, devices) cannot go into an image and are skipped.
// A symlink pointing outside src is an error wrapping ErrUnsafePath.
func walkSource(src fs.FS, fn func(f sourceFile) error) error {
	ig, err := LoadIgnore(src)
	if err != nil {
		return err
	}
	return fs.WalkDir(src, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if name == "." {
			return nil
		}
		if d.Name() == ".git" || ig.Match(name, d.IsDir()) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		switch t := d.Type(); {
		case t.IsDir():
			return nil
		case t&fs.ModeSymlink != 0:
			target, err := fs.ReadLink(src, name)
			if err != nil {
				return err
			}
			if err := checkLink(name, target); err != nil {
				return err
			}
			return fn(sourceFile{name: name, mode: fs.ModeSymlink | 0o777, link: target})
		case t.IsRegular():
			info, err := d.Info()
			if err != nil {
				return err
			}
			return fn(sourceFile{name: name, mode: normalMode(info.Mode())})
		}
		return nil
	})
}

// normalMode keeps only whether a file is executable, so that umask and ownership never change
// a hash.
func normalMode(m fs.FileMode) fs.FileMode {
	if m&0o111 != 0 {
		return 0o755
	}
	return 0o644
}

// checkLink rejects a symlink at name (slash-separated, relative) whose target is absolute or
// climbs out of the root.
func checkLink(name, target string) error {
	if target == "" || path.IsAbs(target) {
		return fmt.Errorf("%w: symlink %s points to %q, outside the function's folder", ErrUnsafePath, name, target)
	}
	resolved := path.Join(path.Dir(name), target)
	if resolved == ".." || strings.HasPrefix(resolved, "../") {
		return fmt.Errorf("%w: symlink %s points to %q, outside the function's folder", ErrUnsafePath, name, target)
	}
	return nil
}

// epoch is every entry's mtime: a fixed time keeps tars, and Docker's COPY cache, independent
// of when files were touched.
var epoch = time.Unix(0, 0).UTC()

// writeEntry writes one normalised tar entry; body is read for regular files only.
func writeEntry(tw *tar.Writer, f sourceFile, size int64, body io.Reader) error {
	hdr := &tar.Header{
		Name:    f.name,
		Mode:    int64(f.mode.Perm()),
		ModTime: epoch,
		Format:  tar.FormatPAX,
	}
	if f.mode&fs.ModeSymlink != 0 {
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, f.link
		return tw.WriteHeader(hdr)
	}
	hdr.Typeflag, hdr.Size = tar.TypeReg, size
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	n, err := io.Copy(tw, body)
	if err == nil && n != size {
		err = fmt.Errorf("%s changed size while being read", f.name)
	}
	return err
}
