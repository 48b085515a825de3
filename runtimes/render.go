package runtimes

import (
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"text/template"
)

// DockerfilePath is where Render puts the Dockerfile in the build context: a hidden folder, so
// that it never clashes with a Dockerfile of the function's own.
const DockerfilePath = ".hearth/Dockerfile"

// BuildData is what a runtime's Dockerfile and shim templates are rendered with.
type BuildData struct {
	// Function is the function's name (already validated by funcfile).
	Function string
	// BuildImage is the runtime's toolchain image.
	BuildImage string
	// ShimDir is the folder the shim is rendered into.
	ShimDir string
	// Module is the Go module path from the function's go.mod.
	Module string
	// Vendor is true when the function vendors its dependencies (a vendor/ folder).
	Vendor bool
}

// File is one rendered file for the build context. Path is slash-separated and relative.
type File struct {
	Path string
	Data []byte
	Mode fs.FileMode
}

// Prepare reads from a function's source what the runtime's templates need, and checks that the
// source fits the runtime. Problems are errors wrapping ErrInvalidSource, worded for the
// function's developer.
func (r Runtime) Prepare(function string, src fs.FS) (BuildData, error) {
	d := BuildData{Function: function, BuildImage: r.BuildImage, ShimDir: r.ShimDir}
	for _, reserved := range []string{r.ShimDir, path.Dir(DockerfilePath)} {
		if _, err := fs.Stat(src, reserved); err == nil {
			return BuildData{}, fmt.Errorf("%w: %s/ is reserved for hearth's build files; rename that folder",
				ErrInvalidSource, reserved)
		}
	}
	switch r.language {
	case languageGo:
		if err := prepareGo(src, &d); err != nil {
			return BuildData{}, err
		}
	}
	return d, nil
}

// Render executes the runtime's Dockerfile and shim templates. The Dockerfile comes first, at
// DockerfilePath; shim files follow under ShimDir, with any ".tmpl" suffix dropped.
func (r Runtime) Render(d BuildData) ([]File, error) {
	dockerfile, err := execute(r.Template, "Dockerfile.tmpl", d)
	if err != nil {
		return nil, err
	}
	files := []File{{Path: DockerfilePath, Data: dockerfile, Mode: 0o644}}
	err = fs.WalkDir(r.Template, "shim", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		data, err := renderFile(r.Template, p, d)
		if err != nil {
			return err
		}
		rel := strings.TrimSuffix(strings.TrimPrefix(p, "shim/"), ".tmpl")
		files = append(files, File{Path: path.Join(d.ShimDir, rel), Data: data, Mode: 0o644})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("render %s shim: %w", r.Name, err)
	}
	return files, nil
}

// renderFile executes name as a template when it ends in ".tmpl" and returns it as is otherwise.
func renderFile(fsys fs.FS, name string, data any) ([]byte, error) {
	if !strings.HasSuffix(name, ".tmpl") {
		return fs.ReadFile(fsys, name)
	}
	return execute(fsys, name, data)
}

func execute(fsys fs.FS, name string, data any) ([]byte, error) {
	text, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, err
	}
	// missingkey=error: a template naming a field that is not there is a bug to surface, not
	// an empty string to build with.
	t, err := template.New(name).Option("missingkey=error").Parse(string(text))
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", name, err)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		return nil, fmt.Errorf("render %s: %w", name, err)
	}
	return buf.Bytes(), nil
}
