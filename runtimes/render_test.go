package runtimes

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

const handlerSrc = "package handler\n\nimport \"net/http\"\n\nfunc Handle(w http.ResponseWriter, r *http.Request) {}\n"

func TestPrepareGo(t *testing.T) {
	tests := []struct {
		name       string
		src        fstest.MapFS
		wantModule string
		wantVendor bool
		wantErr    string // substring; empty means success
	}{
		{"simple module", fstest.MapFS{
			"go.mod": {Data: []byte("module example.com/hello\n\ngo 1.26\n")}, "h.go": {Data: []byte(handlerSrc)},
		}, "example.com/hello", false, ""},
		{"quoted module path and comment", fstest.MapFS{
			"go.mod": {Data: []byte("// my fn\nmodule \"hello\" // the function\n")}, "h.go": {Data: []byte(handlerSrc)},
		}, "hello", false, ""},
		{"vendored", fstest.MapFS{
			"go.mod": {Data: []byte("module hello\n")}, "h.go": {Data: []byte(handlerSrc)},
			"vendor/modules.txt": {Data: []byte("")},
		}, "hello", true, ""},
		{"generator in package main beside the handler", fstest.MapFS{
			"go.mod": {Data: []byte("module hello\n")}, "h.go": {Data: []byte(handlerSrc)},
			"gen.go": {Data: []byte("//go:build ignore\n\npackage main\n")},
		}, "hello", false, ""},
		{"test files in package main are not counted", fstest.MapFS{
			"go.mod": {Data: []byte("module hello\n")}, "h.go": {Data: []byte(handlerSrc)},
			"h_test.go": {Data: []byte("package main\n")},
		}, "hello", false, ""},
		{"no go.mod", fstest.MapFS{"h.go": {Data: []byte(handlerSrc)}}, "", false, "needs a go.mod"},
		{"no module line", fstest.MapFS{
			"go.mod": {Data: []byte("go 1.26\n")}, "h.go": {Data: []byte(handlerSrc)},
		}, "", false, "no module line"},
		{"root package is main", fstest.MapFS{
			"go.mod": {Data: []byte("module hello\n")}, "main.go": {Data: []byte("package main\n\nfunc main() {}\n")},
		}, "", false, "package main"},
		{"no go files at the root", fstest.MapFS{
			"go.mod": {Data: []byte("module hello\n")}, "sub/h.go": {Data: []byte(handlerSrc)},
		}, "", false, "no .go files"},
		{"shim folder taken", fstest.MapFS{
			"go.mod": {Data: []byte("module hello\n")}, "h.go": {Data: []byte(handlerSrc)},
			"hearthmain/x.go": {Data: []byte("package main\n")},
		}, "", false, "hearthmain/ is reserved"},
		{"build folder taken", fstest.MapFS{
			"go.mod": {Data: []byte("module hello\n")}, "h.go": {Data: []byte(handlerSrc)},
			".hearth/Dockerfile": {Data: []byte("FROM scratch\n")},
		}, "", false, ".hearth/ is reserved"},
	}
	rt := lookup(t, "go")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := rt.Prepare("hello", tt.src)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrInvalidSource) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Prepare = %v, want ErrInvalidSource containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Prepare: %v", err)
			}
			if d.Module != tt.wantModule || d.Vendor != tt.wantVendor || d.Function != "hello" ||
				d.BuildImage != rt.BuildImage || d.ShimDir != "hearthmain" {
				t.Fatalf("Prepare = %+v", d)
			}
		})
	}
}

func TestRenderGo(t *testing.T) {
	rt := lookup(t, "go")
	for _, vendor := range []bool{false, true} {
		files, err := rt.Render(BuildData{Function: "hello", BuildImage: "hearth/go-build:test", RunImage: "hearth/go-run:test",
			ShimDir: "hearthmain", Module: `example.com/odd"path`, Vendor: vendor})
		if err != nil {
			t.Fatal(err)
		}
		if len(files) != 2 || files[0].Path != DockerfilePath || files[1].Path != "hearthmain/main.go" {
			t.Fatalf("Render paths = %v", paths(files))
		}
		df := string(files[0].Data)
		mod := "-mod=mod"
		if vendor {
			mod = "-mod=vendor"
		}
		for _, want := range []string{
			"FROM hearth/go-build:test AS build",
			"hearth.function=hello",
			mod,
			"CGO_ENABLED=0", "GOPROXY=off",
			`RUN ["go", "-C", "/src", "build", "-trimpath", "-ldflags", "-s -w", "-o", "/hearth-function", "./hearthmain"]`,
			"FROM hearth/go-run:test\nCOPY --from=build /hearth-function /function",
		} {
			if !strings.Contains(df, want) {
				t.Errorf("Dockerfile lacks %q:\n%s", want, df)
			}
		}
		for _, line := range strings.Split(df, "\n") {
			if strings.HasPrefix(line, "RUN ") && !strings.HasPrefix(line, "RUN [") {
				t.Errorf("RUN in shell form (the build image has no shell): %s", line)
			}
		}
		shim := string(files[1].Data)
		if !strings.Contains(shim, `function "example.com/odd\"path"`) {
			t.Errorf("shim does not import the module as a quoted string:\n%s", shim)
		}
		if strings.Contains(shim, "{{") {
			t.Error("shim has unrendered template actions")
		}
	}
}

func TestRenderMissingFieldIsAnError(t *testing.T) {
	tmpl := fstest.MapFS{"Dockerfile.tmpl": {Data: []byte("FROM {{.Nope}}\n")}}
	rt := Runtime{Name: "x", Template: tmpl}
	if _, err := rt.Render(BuildData{}); err == nil {
		t.Fatal("Render with an unknown field succeeded")
	}
}

func paths(files []File) []string {
	var out []string
	for _, f := range files {
		out = append(out, f.Path)
	}
	return out
}

// lookup is the catalog's runtime name.
func lookup(t *testing.T, name string) Runtime {
	t.Helper()
	rt, err := New().Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

// render prepares s with rt and renders it: the Dockerfile first, then the shim's files.
func render(t *testing.T, rt Runtime, s Source) []File {
	t.Helper()
	d, err := rt.PrepareSource(s)
	if err != nil {
		t.Fatal(err)
	}
	files, err := rt.Render(d)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// finalStage is the last stage of a multi-stage Dockerfile: what the image is made of.
func finalStage(dockerfile string) string {
	return dockerfile[strings.LastIndex(dockerfile, "\nFROM "):]
}

// writeShim writes the rendered shim's files (all but the Dockerfile) under root, where the
// image has them under its work folder.
func writeShim(t *testing.T, root string, files []File) {
	t.Helper()
	for _, f := range files[1:] {
		p := filepath.Join(root, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Data, f.Mode); err != nil {
			t.Fatal(err)
		}
	}
}
