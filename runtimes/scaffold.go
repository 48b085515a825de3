package runtimes

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/hearthfn/hearth/runtimes/funcfile"
)

// ScaffoldData is what a runtime's scaffold templates are rendered with.
type ScaffoldData struct {
	// Name is the function's name.
	Name string
	// Module is the module or package name of the new function (the function's name).
	Module string
	// Runtime and RuntimeVersion are the runtime's Name and Version.
	Runtime        string
	RuntimeVersion string
}

// RenderScaffold returns the files of a new function called name, without writing them.
func (r Runtime) RenderScaffold(name string) ([]File, error) {
	if err := funcfile.ValidateName(name); err != nil {
		return nil, err
	}
	data := ScaffoldData{Name: name, Module: name, Runtime: r.Name, RuntimeVersion: r.Version}
	var files []File
	err := fs.WalkDir(r.Scaffold, ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		out, err := renderFile(r.Scaffold, p, data)
		if err != nil {
			return err
		}
		files = append(files, File{Path: strings.TrimSuffix(p, ".tmpl"), Data: out, Mode: 0o644})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("render %s scaffold: %w", r.Name, err)
	}
	return files, nil
}

// WriteScaffold writes a new function called name into dir, creating dir if needed. It never
// overwrites: if any file it would write exists, it writes nothing and returns an error
// wrapping fs.ErrExist that names those files.
func (r Runtime) WriteScaffold(dir, name string) error {
	files, err := r.RenderScaffold(name)
	if err != nil {
		return err
	}
	var existing []string
	for _, f := range files {
		target := filepath.Join(dir, filepath.FromSlash(f.Path))
		if _, err := os.Lstat(target); err == nil {
			existing = append(existing, target)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if len(existing) > 0 {
		return fmt.Errorf("%w: %s; remove them or choose another folder", fs.ErrExist, strings.Join(existing, ", "))
	}
	for _, f := range files {
		target := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		// O_EXCL keeps the no-overwrite promise even if a file appeared since the check.
		fh, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, f.Mode)
		if err != nil {
			return err
		}
		_, werr := fh.Write(f.Data)
		if cerr := fh.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return fmt.Errorf("write %s: %w", path.Base(target), werr)
		}
	}
	return nil
}
