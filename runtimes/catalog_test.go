package runtimes

import (
	"errors"
	"io/fs"
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
		if !strings.Contains(err.Error(), "known runtimes: go") {
			t.Fatalf("message %q does not list the known runtimes", err)
		}
	}
}

func TestCatalogList(t *testing.T) {
	c := New()
	list := c.List()
	if len(list) != 1 || list[0].Name != "go" {
		t.Fatalf("List = %+v", list)
	}
	list[0].Name = "changed"
	if c.List()[0].Name != "go" {
		t.Fatal("List shares its slice with the catalog")
	}
}

func TestLoadRejectsBrokenManifests(t *testing.T) {
	tests := map[string]string{
		"name differs from folder": "name: other\nversion: '1'\nbuild_image: x\nshim_dir: s\nlanguage: go\n",
		"missing build image":      "name: go\nversion: '1'\nshim_dir: s\nlanguage: go\n",
		"unknown key":              "name: go\nversion: '1'\nbuild_image: x\nshim_dir: s\nlanguage: go\nextra: 1\n",
		"unknown language":         "name: go\nversion: '1'\nbuild_image: x\nshim_dir: s\nlanguage: cobol\n",
	}
	for name, manifest := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := load(fstest.MapFS{"go/runtime.yaml": {Data: []byte(manifest)}})
			if err == nil {
				t.Fatal("load succeeded")
			}
		})
	}
}
