package buildctx

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strconv"
)

// Context is a build context being assembled. Files are held in memory (function sources are
// small, and uploads are size-limited) so that the tar always has exactly the bytes that were
// hashed. A Context is not safe for concurrent use.
type Context struct {
	files map[string]contextFile
	meta  map[string]string
}

type contextFile struct {
	sourceFile
	data []byte
}

// New returns an empty Context.
func New() *Context {
	return &Context{files: make(map[string]contextFile), meta: make(map[string]string)}
}

// AddFS adds a function's source: every regular file and symlink of src, except .git and what
// src's .hearthignore excludes. A symlink pointing outside src is an error wrapping
// ErrUnsafePath; a path already in the Context is an error wrapping fs.ErrExist.
func (c *Context) AddFS(src fs.FS) error {
	return walkSource(src, func(f sourceFile) error {
		var data []byte
		if f.mode&fs.ModeSymlink == 0 {
			var err error
			if data, err = fs.ReadFile(src, f.name); err != nil {
				return err
			}
		}
		return c.add(contextFile{sourceFile: f, data: data})
	})
}

// AddFile adds one generated file, such as a rendered Dockerfile; name is slash-separated and
// relative. Any execute bit in mode makes it 0755, otherwise it is 0644. A name already in the
// Context is an error wrapping fs.ErrExist.
func (c *Context) AddFile(name string, data []byte, mode fs.FileMode) error {
	if !fs.ValidPath(name) || name == "." {
		return fmt.Errorf("%w: %q is not a relative path", ErrUnsafePath, name)
	}
	return c.add(contextFile{sourceFile: sourceFile{name: name, mode: normalMode(mode)}, data: data})
}

func (c *Context) add(f contextFile) error {
	if _, dup := c.files[f.name]; dup {
		return fmt.Errorf("build context: %s: %w", f.name, fs.ErrExist)
	}
	c.files[f.name] = f
	return nil
}

// SetMeta records a value that is part of the hash but not of the tar, such as the runtime's
// name, version and build image: a change to any of them must give a new image.
func (c *Context) SetMeta(key, value string) { c.meta[key] = value }

// Paths returns the Context's paths, sorted.
func (c *Context) Paths() []string {
	names := make([]string, 0, len(c.files))
	for n := range c.files {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Size is the total size of the Context's file contents, in bytes.
func (c *Context) Size() int64 {
	var n int64
	for _, f := range c.files {
		n += int64(len(f.data))
	}
	return n
}

// Hash returns the hex SHA-256 of the Context: every path with its mode and content (or link
// target), and every meta value. It does not depend on the tar encoding, so a change to
// archive/tar cannot change image tags.
func (c *Context) Hash() string {
	h := sha256.New()
	field := func(s string) {
		// Length-prefixed fields keep the encoding unambiguous whatever the names contain.
		io.WriteString(h, strconv.Itoa(len(s)))
		io.WriteString(h, ":")
		io.WriteString(h, s)
	}
	field("hearth-buildctx-v1")
	keys := make([]string, 0, len(c.meta))
	for k := range c.meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		field("meta")
		field(k)
		field(c.meta[k])
	}
	for _, name := range c.Paths() {
		f := c.files[name]
		field("file")
		field(name)
		field(strconv.FormatUint(uint64(f.mode), 8))
		if f.mode&fs.ModeSymlink != 0 {
			field(f.link)
			continue
		}
		sum := sha256.Sum256(f.data)
		field(hex.EncodeToString(sum[:]))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// WriteTar writes the Context as an uncompressed tar, entries sorted by path.
func (c *Context) WriteTar(w io.Writer) error {
	tw := tar.NewWriter(w)
	for _, name := range c.Paths() {
		f := c.files[name]
		if err := writeEntry(tw, f.sourceFile, int64(len(f.data)), bytes.NewReader(f.data)); err != nil {
			return fmt.Errorf("build context: %s: %w", name, err)
		}
	}
	return tw.Close()
}
