package runtimes

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"text/template"
)

// DockerfilePath is where Render puts the Dockerfile in the build context: a hidden folder, so
// that it never clashes with a Dockerfile of the function's own.
const DockerfilePath = ".hearth/Dockerfile"

// CABundlePath is where the builder puts the operator's CA bundle in a build context, when one
// is configured (BuildData.CABundle). Templates use it in build stages only.
const CABundlePath = ".hearth/ca-bundle.crt"

// BuildData is what a runtime's Dockerfile and shim templates are rendered with.
type BuildData struct {
	// Function is the function's name (already validated by funcfile).
	Function string
	// BuildImage is the runtime's toolchain image, RunImage the image its final stage starts
	// from: the manifest's values unless the operator overrode them.
	BuildImage string
	RunImage   string
	// ShimDir is the folder the shim is rendered into.
	ShimDir string
	// Handler is func.yaml's handler, or the runtime's default_handler when func.yaml has none.
	Handler string
	// CABundle is true when the build context holds the operator's CA bundle at CABundlePath.
	CABundle bool
	// Module is the Go module path from the function's go.mod.
	Module string
	// Vendor is true when the function vendors its dependencies (a vendor/ folder).
	Vendor bool
	// Server is the identity of the server the image is built for (Source.Server); the build
	// stage carries it as the hearth.server label, so that the server can remove what it made.
	Server string

	src fs.FS // the function's source, for Has
}

// Has reports whether the function's source has the file or folder at the slash-separated path
// p, so that a template can write {{if .Has "requirements.txt"}}.
func (d BuildData) Has(p string) bool {
	if d.src == nil {
		return false
	}
	_, err := fs.Stat(d.src, path.Clean(strings.TrimPrefix(p, "./")))
	return err == nil
}

// Source is what Runtime.PrepareSource reads a function from.
type Source struct {
	// Function is the function's name.
	Function string
	// Handler is func.yaml's handler; empty means the runtime's default.
	Handler string
	// FS is the function's source folder.
	FS fs.FS
	// CABundle is true when the builder adds the operator's CA bundle to the build context.
	CABundle bool
	// BuildImage and RunImage override the manifest's images when not empty (operator settings).
	BuildImage string
	RunImage   string
	// Server is the identity of the server the image is built for (its node id); empty for none.
	// It must be a valid label value without spaces or quotes (the builder checks it).
	Server string
}

// File is one rendered file for the build context. Path is slash-separated and relative.
type File struct {
	Path string
	Data []byte
	Mode fs.FileMode
}

// Prepare is PrepareSource for a function with the default handler, no CA bundle and the
// manifest's images.
func (r Runtime) Prepare(function string, src fs.FS) (BuildData, error) {
	return r.PrepareSource(Source{Function: function, FS: src})
}

// PrepareSource reads from a function's source what the runtime's templates need, and checks
// that the source fits the runtime: reserved folders are free, required_files are there, and
// the language's own checks pass. Problems are errors wrapping ErrInvalidSource, worded for the
// function's developer.
func (r Runtime) PrepareSource(s Source) (BuildData, error) {
	d := BuildData{Function: s.Function, BuildImage: r.BuildImage, RunImage: r.RunImage, ShimDir: r.ShimDir,
		Handler: r.DefaultHandler, CABundle: s.CABundle, Server: s.Server, src: s.FS}
	if s.Handler != "" {
		d.Handler = s.Handler
	}
	if s.BuildImage != "" {
		d.BuildImage = s.BuildImage
	}
	if s.RunImage != "" {
		d.RunImage = s.RunImage
	}
	for _, reserved := range []string{r.ShimDir, path.Dir(DockerfilePath)} {
		if _, err := fs.Stat(s.FS, reserved); reserved != "" && err == nil {
			return BuildData{}, fmt.Errorf("%w: %s/ is reserved for hearth's build files; rename it",
				ErrInvalidSource, reserved)
		}
	}
	for _, req := range r.RequiredFiles {
		if !d.Has(req) {
			return BuildData{}, fmt.Errorf("%w: the %s runtime needs %s at the function's root; %s",
				ErrInvalidSource, r.Name, req, r.requiredHint())
		}
	}
	switch r.language {
	case languageGo:
		if err := prepareGo(s.FS, &d); err != nil {
			return BuildData{}, err
		}
	}
	return d, nil
}

// requiredHint says how to get a function with the files the runtime requires.
func (r Runtime) requiredHint() string {
	return fmt.Sprintf("`hearth init --runtime %s NAME` writes a working example (see the %s runtime's docs)",
		r.Name, r.Name)
}

// Render executes the runtime's Dockerfile and shim templates. The Dockerfile comes first, at
// DockerfilePath; shim files follow under ShimDir, with any ".tmpl" suffix dropped. A runtime
// without Dockerfile.tmpl (docker) renders nothing: the source's own Dockerfile is built.
func (r Runtime) Render(d BuildData) ([]File, error) {
	if !r.hasTemplate() {
		return nil, nil
	}
	dockerfile, err := execute(r.Template, "Dockerfile.tmpl", d)
	if err != nil {
		return nil, err
	}
	files := []File{{Path: DockerfilePath, Data: dockerfile, Mode: 0o644}}
	if _, err := fs.Stat(r.Template, "shim"); errors.Is(err, fs.ErrNotExist) {
		return files, nil
	}
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
