package runtimes

import (
	"errors"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

func TestCatalogLookup(t *testing.T) {
	c := New()
	rt, err := c.Lookup("go")
	if err != nil {
		t.Fatalf("Lookup(go): %v", err)
	}
	if rt.Name != "go" || rt.Version != "1.26" || rt.BuildImage != "hearth/go-build:1.26.8" ||
		rt.ShimDir != "hearthmain" || rt.Description == "" {
		t.Fatalf("go runtime = %+v", rt)
	}
	for _, name := range []string{"Dockerfile.tmpl", "shim/main.go.tmpl", "runtime.yaml", "README.md"} {
		if _, err := fs.Stat(rt.Template, name); err != nil {
			t.Errorf("Template lacks %s: %v", name, err)
		}
	}
	for _, name := range []string{"func.yaml.tmpl", "go.mod.tmpl", "handler.go.tmpl"} {
		if _, err := fs.Stat(rt.Scaffold, name); err != nil {
			t.Errorf("Scaffold lacks %s: %v", name, err)
		}
	}
}

func TestCatalogUnknown(t *testing.T) {
	for _, name := range []string{"", "rust", "Go", "contract"} {
		_, err := New().Lookup(name)
		if !errors.Is(err, ErrUnknownRuntime) {
			t.Fatalf("Lookup(%q) = %v, want ErrUnknownRuntime", name, err)
		}
		if !strings.Contains(err.Error(), "known runtimes: ") || !strings.Contains(err.Error(), "go") {
			t.Fatalf("message %q does not list the known runtimes", err)
		}
	}
}

func TestCatalogList(t *testing.T) {
	c := New()
	list := c.List()
	var names []string
	for _, rt := range list {
		names = append(names, rt.Name)
	}
	if !slices.IsSorted(names) || !slices.Contains(names, "go") || !slices.Contains(names, "docker") {
		t.Fatalf("List names = %v, want sorted with go and docker", names)
	}
	first := list[0].Name
	list[0].Name = "changed"
	if c.List()[0].Name != first {
		t.Fatal("List shares its slice with the catalog")
	}
}

// TestEmbeddedRuntimesAreWhole checks every embedded runtime against the rules a new runtime
// must follow, so that a runtime added by a folder alone cannot ship half made.
func TestEmbeddedRuntimesAreWhole(t *testing.T) {
	for _, rt := range New().List() {
		t.Run(rt.Name, func(t *testing.T) {
			if rt.Description == "" {
				t.Error("no description (hearth runtimes shows it)")
			}
			if _, err := fs.Stat(rt.Template, "README.md"); err != nil {
				t.Errorf("no README.md: %v", err)
			}
			if _, err := fs.Stat(rt.Scaffold, "func.yaml.tmpl"); err != nil {
				t.Errorf("scaffold has no func.yaml.tmpl: %v", err)
			}
			for _, img := range rt.Images {
				if _, err := fs.Stat(rt.Template, img.Dockerfile); err != nil {
					t.Errorf("image %s: %v", img.Tag, err)
				}
			}
			if rt.Dockerfile() == "Dockerfile" && rt.BuildImage != "" {
				t.Errorf("build_image %s is set but there is no Dockerfile.tmpl to use it", rt.BuildImage)
			}
		})
	}
}

func TestLoadManifestKeys(t *testing.T) {
	root := fstest.MapFS{
		"py/runtime.yaml": {Data: []byte(`name: py
version: "3.11"
description: test
build_image: b:1
run_image: r:1
default_handler: main.handle
required_files: [main.py]
images:
  - {tag: r:1, dockerfile: images/run.Dockerfile}
shim_dir: .hearth/shim
`)},
		"py/Dockerfile.tmpl":         {Data: []byte("FROM {{.RunImage}}\n")},
		"py/shim/x.py":               {Data: []byte("")},
		"py/images/run.Dockerfile":   {Data: []byte("FROM hearth/debian:bookworm\n")},
		"custom/runtime.yaml":        {Data: []byte("name: custom\nversion: '1'\nrequired_files: [Dockerfile]\n")},
		"not-a-runtime/README.md":    {Data: []byte("hi")},
		"custom/scaffold/func.yaml":  {Data: []byte("")},
		"py/scaffold/func.yaml.tmpl": {Data: []byte("")},
	}
	c, err := load(root)
	if err != nil {
		t.Fatal(err)
	}
	if names := c.names; !slices.Equal(names, []string{"custom", "py"}) {
		t.Fatalf("names = %v", names)
	}
	py, _ := c.Lookup("py")
	want := []Image{{Tag: "r:1", Dockerfile: "images/run.Dockerfile"}}
	if py.RunImage != "r:1" || py.DefaultHandler != "main.handle" || !slices.Equal(py.RequiredFiles, []string{"main.py"}) ||
		!slices.Equal(py.Images, want) || py.Dockerfile() != DockerfilePath || py.language != "" {
		t.Fatalf("py = %+v", py)
	}
	custom, _ := c.Lookup("custom")
	if custom.Dockerfile() != "Dockerfile" || custom.BuildImage != "" {
		t.Fatalf("custom = %+v", custom)
	}
}

func TestLoadRejectsBrokenManifests(t *testing.T) {
	tests := map[string]string{
		"name differs from folder": "name: other\nversion: '1'\nbuild_image: x\nshim_dir: s\nlanguage: go\n",
		"missing build image":      "name: go\nversion: '1'\nshim_dir: s\nlanguage: go\n",
		"unknown key":              "name: go\nversion: '1'\nbuild_image: x\nshim_dir: s\nlanguage: go\nextra: 1\n",
		"unknown language":         "name: go\nversion: '1'\nbuild_image: x\nshim_dir: s\nlanguage: cobol\n",
		"missing shim dir":         "name: go\nversion: '1'\nbuild_image: x\n",
		"missing version":          "name: go\nbuild_image: x\nshim_dir: s\n",
		"image without dockerfile": "name: go\nversion: '1'\nbuild_image: x\nshim_dir: s\nimages: [{tag: a}]\n",
		"image dockerfile missing": "name: go\nversion: '1'\nbuild_image: x\nshim_dir: s\nimages: [{tag: a, dockerfile: nope}]\n",
	}
	for name, manifest := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := load(fstest.MapFS{"go/runtime.yaml": {Data: []byte(manifest)},
				"go/Dockerfile.tmpl": {Data: []byte("FROM x\n")}, "go/shim/main.go": {Data: []byte("package main\n")}})
			if err == nil {
				t.Fatal("load succeeded")
			}
		})
	}
}
