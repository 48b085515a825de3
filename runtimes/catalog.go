package runtimes

import (
	"bytes"
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
	// is made locally (`hearth images bootstrap`), never pulled.
	BuildImage string
	// ShimDir is the folder of the build context the shim is rendered into. A function's source
	// may not have a folder of that name.
	ShimDir string
	// Template holds Dockerfile.tmpl and shim/; Render executes them.
	Template fs.FS
	// Scaffold holds the files of a new function; names ending in ".tmpl" are templates.
	Scaffold fs.FS

	// language selects the source checks and template data Prepare computes.
	language string
}

// manifest is runtime.yaml.
type manifest struct {
	Name        string `yaml:"name"`
	Version     string `yaml:"version"`
	Description string `yaml:"description"`
	BuildImage  string `yaml:"build_image"`
	Language    string `yaml:"language"`
	ShimDir     string `yaml:"shim_dir"`
}

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
		if !e.IsDir() {
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
	switch {
	case m.Name != dir:
		return Runtime{}, fmt.Errorf("runtime.yaml: name %q does not match its folder", m.Name)
	case m.Version == "" || m.BuildImage == "" || m.ShimDir == "":
		return Runtime{}, fmt.Errorf("runtime.yaml: version, build_image and shim_dir are required")
	case m.Language != languageGo:
		return Runtime{}, fmt.Errorf("runtime.yaml: unknown language %q", m.Language)
	}
	tmpl, err := fs.Sub(root, dir)
	if err != nil {
		return Runtime{}, err
	}
	scaffold, err := fs.Sub(root, path.Join(dir, "scaffold"))
	if err != nil {
		return Runtime{}, err
	}
	return Runtime{
		Name:        m.Name,
		Version:     m.Version,
		Description: m.Description,
		BuildImage:  m.BuildImage,
		ShimDir:     m.ShimDir,
		Template:    tmpl,
		Scaffold:    scaffold,
		language:    m.Language,
	}, nil
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
