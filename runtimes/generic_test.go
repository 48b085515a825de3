package runtimes

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/hearthfn/hearth/runtimes/funcfile"
)

// genericRuntime is a runtime that uses every generic template field and manifest key, the way
// the python, node and java runtimes do.
func genericRuntime(t *testing.T) Runtime {
	t.Helper()
	c, err := load(fstest.MapFS{
		"lang/runtime.yaml": {Data: []byte(`name: lang
version: "1"
description: test
build_image: lang-build:1
run_image: lang:1
default_handler: main.handle
required_files: [main.src]
shim_dir: .hearth/shim
`)},
		"lang/Dockerfile.tmpl": {Data: []byte(`FROM {{.BuildImage}} AS build
{{if .CABundle}}COPY .hearth/ca-bundle.crt /ca.crt
{{end}}{{if .Has "deps.txt"}}RUN install deps.txt
{{end}}{{if .Has "lib"}}COPY lib /lib
{{end}}FROM {{.RunImage}}
CMD ["run", "{{.Handler}}", "{{.Function}}"]
`)},
		"lang/shim/server.src.tmpl": {Data: []byte("handler={{.Handler}} dir={{.ShimDir}}\n")},
		"lang/shim/static.txt":      {Data: []byte("{{not a template}}")},
	})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := c.Lookup("lang")
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

func TestPrepareGeneric(t *testing.T) {
	rt := genericRuntime(t)
	src := fstest.MapFS{"main.src": {}, "deps.txt": {}, "lib/a.jar": {}}

	d, err := rt.PrepareSource(Source{Function: "fn", FS: src})
	if err != nil {
		t.Fatal(err)
	}
	if d.Handler != "main.handle" || d.BuildImage != "lang-build:1" || d.RunImage != "lang:1" || d.CABundle {
		t.Fatalf("defaults: %+v", d)
	}
	for p, want := range map[string]bool{"deps.txt": true, "./deps.txt": true, "lib": true, "lib/a.jar": true,
		"nope.txt": false, "../main.src": false, "/main.src": false} {
		if got := d.Has(p); got != want {
			t.Errorf("Has(%q) = %v, want %v", p, got, want)
		}
	}

	d, err = rt.PrepareSource(Source{Function: "fn", Handler: "app.run", FS: src, CABundle: true,
		BuildImage: "python:3.11", RunImage: "python:3.11-slim"})
	if err != nil {
		t.Fatal(err)
	}
	if d.Handler != "app.run" || d.BuildImage != "python:3.11" || d.RunImage != "python:3.11-slim" || !d.CABundle {
		t.Fatalf("overrides: %+v", d)
	}
}

func TestPrepareRequiredFiles(t *testing.T) {
	rt := genericRuntime(t)
	_, err := rt.Prepare("fn", fstest.MapFS{"other.src": {}})
	if !errors.Is(err, ErrInvalidSource) || !strings.Contains(err.Error(), "needs main.src") ||
		!strings.Contains(err.Error(), "hearth init --runtime lang") {
		t.Fatalf("Prepare = %v, want ErrInvalidSource naming main.src and how to start", err)
	}
	_, err = rt.Prepare("fn", fstest.MapFS{"main.src": {}, ".hearth/x": {}})
	if !errors.Is(err, ErrInvalidSource) || !strings.Contains(err.Error(), ".hearth/ is reserved") {
		t.Fatalf("Prepare with .hearth/ = %v", err)
	}
}

func TestRenderGeneric(t *testing.T) {
	rt := genericRuntime(t)
	src := fstest.MapFS{"main.src": {}, "deps.txt": {}}
	d, err := rt.PrepareSource(Source{Function: "fn", FS: src, CABundle: true})
	if err != nil {
		t.Fatal(err)
	}
	files, err := rt.Render(d)
	if err != nil {
		t.Fatal(err)
	}
	got := paths(files)
	if want := []string{DockerfilePath, ".hearth/shim/server.src", ".hearth/shim/static.txt"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("paths = %v, want %v", got, want)
	}
	df := string(files[0].Data)
	for _, want := range []string{"FROM lang-build:1 AS build", "COPY .hearth/ca-bundle.crt", "RUN install deps.txt",
		"FROM lang:1", `CMD ["run", "main.handle", "fn"]`} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q:\n%s", want, df)
		}
	}
	if strings.Contains(df, "COPY lib") {
		t.Errorf("Dockerfile copies lib/, which the source does not have:\n%s", df)
	}
	if string(files[1].Data) != "handler=main.handle dir=.hearth/shim\n" || string(files[2].Data) != "{{not a template}}" {
		t.Errorf("shim files = %q, %q", files[1].Data, files[2].Data)
	}
}

func TestDockerRuntime(t *testing.T) {
	rt, err := New().Lookup("docker")
	if err != nil {
		t.Fatal(err)
	}
	if rt.Dockerfile() != "Dockerfile" || rt.BuildImage != "" || rt.RunImage != "" {
		t.Fatalf("docker runtime = %+v", rt)
	}
	_, err = rt.Prepare("fn", fstest.MapFS{"server.py": {}})
	if !errors.Is(err, ErrInvalidSource) || !strings.Contains(err.Error(), "needs Dockerfile") {
		t.Fatalf("Prepare without a Dockerfile = %v", err)
	}
	d, err := rt.Prepare("fn", fstest.MapFS{"Dockerfile": {Data: []byte("FROM x\n")}})
	if err != nil {
		t.Fatal(err)
	}
	files, err := rt.Render(d)
	if err != nil || len(files) != 0 {
		t.Fatalf("Render = %v, %v; want nothing: the user's Dockerfile is built as it is", paths(files), err)
	}
	scaffold, err := rt.RenderScaffold("hello")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(paths(scaffold), " "); got != "Dockerfile func.yaml server.py" {
		t.Fatalf("scaffold = %s", got)
	}
	if !strings.Contains(string(scaffold[0].Data), "FROM hearth/python:3.11") {
		t.Errorf("the scaffold's Dockerfile does not start from a bootstrap image:\n%s", scaffold[0].Data)
	}
}

// TestEveryRuntimeFitsTogether holds every embedded runtime to what the builder and the e2e
// suite rely on: its scaffold is a function of that runtime that Prepare accepts and Render
// renders completely (with and without a CA bundle), and it ships a contract function set up
// as contracttest expects.
func TestEveryRuntimeFitsTogether(t *testing.T) {
	for _, rt := range New().List() {
		t.Run(rt.Name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "fn")
			if err := rt.WriteScaffold(dir, "fn"); err != nil {
				t.Fatal(err)
			}
			spec, err := funcfile.Load(dir)
			if err != nil || spec.Runtime != rt.Name {
				t.Fatalf("the scaffold's func.yaml: %+v, %v", spec, err)
			}
			for _, ca := range []bool{false, true} {
				d, err := rt.PrepareSource(Source{Function: "fn", Handler: spec.Handler, FS: os.DirFS(dir), CABundle: ca})
				if err != nil {
					t.Fatalf("the scaffold does not fit its runtime: %v", err)
				}
				files, err := rt.Render(d)
				if err != nil {
					t.Fatalf("Render (CA bundle %v): %v", ca, err)
				}
				for _, f := range files {
					if strings.HasSuffix(f.Path, ".tmpl") {
						t.Errorf("rendered file %s keeps its .tmpl suffix", f.Path)
					}
				}
			}

			contract, err := funcfile.Load(filepath.Join(rt.Name, "testdata", "contract"))
			if err != nil {
				t.Fatalf("testdata/contract: %v", err)
			}
			if contract.Name != "contract-"+rt.Name || contract.Runtime != rt.Name || contract.Concurrency != 16 ||
				time.Duration(contract.Timeout) != 2*time.Second ||
				contract.Env["CONTRACT_ENV"] != "from-func-yaml" {
				t.Errorf("testdata/contract/func.yaml = %+v, want name contract-%s, runtime %s, timeout 2s, concurrency 16, "+
					"env CONTRACT_ENV: from-func-yaml", contract, rt.Name, rt.Name)
			}
		})
	}
}
