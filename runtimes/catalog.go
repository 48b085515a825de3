package runtimes

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Runtime is one language runtime: what the builder needs to turn a function's source into an
// image, and what `hearth init` writes for a new function.
type Runtime struct {
	// Name is what func.yaml's "runtime" field says ("go").
	Name string
	// Version is the language version the runtime builds with ("1.26" for Go).
	Version string
	// Description is one line for `hearth runtimes` and the docs.
	Description string
	// BuildImage is the toolchain image the Dockerfile builds in ("hearth/go-build:1.26.8"). It
	// is made locally (`hearth images bootstrap`), never pulled. Empty for the docker runtime,
	// whose Dockerfile is the user's.
	BuildImage string
	// RunImage is the image the function's final stage starts from ("hearth/python:3.11").
	// Empty when the runtime has none (docker: the function's own Dockerfile says).
	RunImage string
	// DefaultHandler is the handler used when func.yaml sets none ("main.handle" in Python).
	DefaultHandler string
	// RequiredFiles are paths every function's source must have ("Dockerfile" for docker);
	// Prepare names the missing one.
	RequiredFiles []string
	// Images are the base images `hearth images bootstrap` builds for this runtime, in order,
	// from the Dockerfiles in the runtime's images/ folder.
	Images []Image
	// ShimDir is the folder of the build context the shim is rendered into. A function's source
	// may not have a folder of that name. Empty when the runtime has no shim.
	ShimDir string
	// Template holds Dockerfile.tmpl, shim/ and images/; Render executes the first two. A
	// runtime without Dockerfile.tmpl builds the Dockerfile at the root of the function's source.
	Template fs.FS
	// Scaffold holds the files of a new function; names ending in ".tmpl" are templates.
	Scaffold fs.FS

	// language selects the source checks and template data Prepare computes beyond the generic
	// ones; only "go" has any.
	language string
}

// Image is one base image a runtime declares in runtime.yaml.
type Image struct {
	// Tag is the image's name ("hearth/python:3.11").
	Tag string `yaml:"tag"`
	// Dockerfile is the Dockerfile's path in the runtime's folder ("images/run.Dockerfile"); the
	// build context is the folder holding it.
	Dockerfile string `yaml:"dockerfile"`
}

// manifest is runtime.yaml.
type manifest struct {
	Name           string   `yaml:"name"`
	Version        string   `yaml:"version"`
	Description    string   `yaml:"description"`
	BuildImage     string   `yaml:"build_image"`
	RunImage       string   `yaml:"run_image"`
	DefaultHandler string   `yaml:"default_handler"`
	RequiredFiles  []string `yaml:"required_files"`
	Images         []Image  `yaml:"images"`
	Language       string   `yaml:"language"`
	ShimDir        string   `yaml:"shim_dir"`
}

// languages are the values runtime.yaml's optional "language" may take. Only languageGo changes
// what Prepare does; the others document the runtime and take the generic path.
var languages = map[string]bool{"": true, languageGo: true, "python": true, "node": true, "java": true,
	"docker": true, "generic": true}

// Catalog is the set of runtimes compiled into the binary. It is immutable once made, so one
// Catalog may be shared by any number of goroutines.
type Catalog struct {
	byName map[string]Runtime
	names  []string // sorted
}

// New returns the catalog of the embedded runtimes. The embedded files are part of the binary
// and covered by tests, so a malformed runtime is a programming error and New panics on it, as
// template.Must does.
func New() *Catalog {
	c, err := load(embedded)
	if err != nil {
		panic(fmt.Sprintf("runtimes: embedded catalog is broken: %v", err))
	}
	return c
}

func load(root fs.FS) (*Catalog, error) {
	entries, err := fs.ReadDir(root, ".")
	if err != nil {
		return nil, err
	}
	c := &Catalog{byName: make(map[string]Runtime)}
	for _, e := range entries {
		// A folder without runtime.yaml (a runtime being written, or a package's README) is
		// not a runtime.
		if !e.IsDir() {
			continue
		}
		if _, err := fs.Stat(root, path.Join(e.Name(), "runtime.yaml")); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		rt, err := loadRuntime(root, e.Name())
		if err != nil {
			return nil, fmt.Errorf("runtime %s: %w", e.Name(), err)
		}
		c.byName[rt.Name] = rt
		c.names = append(c.names, rt.Name)
	}
	sort.Strings(c.names)
	return c, nil
}

func loadRuntime(root fs.FS, dir string) (Runtime, error) {
	data, err := fs.ReadFile(root, path.Join(dir, "runtime.yaml"))
	if err != nil {
		return Runtime{}, err
	}
	var m manifest
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil {
		return Runtime{}, fmt.Errorf("runtime.yaml: %w", err)
	}
	tmpl, err := fs.Sub(root, dir)
	if err != nil {
		return Runtime{}, err
	}
	if err := m.check(dir, tmpl); err != nil {
		return Runtime{}, fmt.Errorf("runtime.yaml: %w", err)
	}
	scaffold, err := fs.Sub(root, path.Join(dir, "scaffold"))
	if err != nil {
		return Runtime{}, err
	}
	return Runtime{
		Name:           m.Name,
		Version:        m.Version,
		Description:    m.Description,
		BuildImage:     m.BuildImage,
		RunImage:       m.RunImage,
		DefaultHandler: m.DefaultHandler,
		RequiredFiles:  m.RequiredFiles,
		Images:         m.Images,
		ShimDir:        m.ShimDir,
		Template:       tmpl,
		Scaffold:       scaffold,
		language:       m.Language,
	}, nil
}

// check rejects a manifest that does not fit the files of its folder (tmpl).
func (m manifest) check(dir string, tmpl fs.FS) error {
	_, tmplErr := fs.Stat(tmpl, "Dockerfile.tmpl")
	_, shimErr := fs.Stat(tmpl, "shim")
	switch {
	case m.Name != dir:
		return fmt.Errorf("name %q does not match its folder", m.Name)
	case m.Version == "":
		return errors.New("version is required")
	case !languages[m.Language]:
		return fmt.Errorf("unknown language %q", m.Language)
	case tmplErr == nil && m.BuildImage == "":
		return errors.New("build_image is required with a Dockerfile.tmpl")
	case shimErr == nil && m.ShimDir == "":
		return errors.New("shim_dir is required with a shim/ folder")
	}
	for i, img := range m.Images {
		if img.Tag == "" || img.Dockerfile == "" {
			return fmt.Errorf("images[%d]: tag and dockerfile are required", i)
		}
		if _, err := fs.Stat(tmpl, img.Dockerfile); err != nil {
			return fmt.Errorf("images[%d]: %w", i, err)
		}
	}
	return nil
}

// Dockerfile returns the path, in the build context, of the Dockerfile a function of this
// runtime is built from: the rendered one, or the user's own at the source's root when the
// runtime has no Dockerfile.tmpl (runtime: docker).
func (r Runtime) Dockerfile() string {
	if !r.hasTemplate() {
		return "Dockerfile"
	}
	return DockerfilePath
}

func (r Runtime) hasTemplate() bool {
	_, err := fs.Stat(r.Template, "Dockerfile.tmpl")
	return err == nil
}

// Lookup returns the runtime called name. An unknown name is an error wrapping
// ErrUnknownRuntime whose message lists the known runtimes.
func (c *Catalog) Lookup(name string) (Runtime, error) {
	rt, ok := c.byName[name]
	if !ok {
		return Runtime{}, fmt.Errorf("%w %q (known runtimes: %s)", ErrUnknownRuntime, name,
			strings.Join(c.names, ", "))
	}
	return rt, nil
}

// List returns every runtime, sorted by name. The slice is the caller's.
func (c *Catalog) List() []Runtime {
	out := make([]Runtime, 0, len(c.names))
	for _, n := range c.names {
		out = append(out, c.byName[n])
	}
	return out
}
