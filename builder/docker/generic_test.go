package docker

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/hearthfn/hearth/builder"
	"github.com/hearthfn/hearth/runtimes"
)

func dockerSource() fstest.MapFS {
	return fstest.MapFS{
		"Dockerfile": {Data: []byte("FROM hearth/python:3.11\nCOPY server.py /\n")},
		"server.py":  {Data: []byte("print('hi')\n")},
		"func.yaml":  {Data: []byte("name: custom\nruntime: docker\n")},
	}
}

func TestBuildDockerRuntime(t *testing.T) {
	// The engine has none of hearth's images: a docker function names its own base, and
	// whether the engine has it is the build's business.
	f := newFakeEngine()
	res, err := fakeBuilder(f).Build(context.Background(), builder.Request{Function: "custom", Runtime: "docker", Source: dockerSource()})
	if err != nil {
		t.Fatal(err)
	}
	opts := f.builds[0]
	if opts.Dockerfile != labeledDockerfilePath || opts.Labels["hearth.runtime"] != "docker" || !strings.HasPrefix(res.Image, "hearth/custom:") {
		t.Fatalf("options = %+v, result %+v", opts, res)
	}
	files := tarFiles(t, f.contexts[0])
	if len(files) != 4 || files["Dockerfile"] != "FROM hearth/python:3.11\nCOPY server.py /\n" ||
		!strings.HasPrefix(files[labeledDockerfilePath], files["Dockerfile"]+"LABEL ") {
		t.Fatalf("context = %v: the user's files, as they are, and the labelled copy of the Dockerfile", files)
	}

	noDockerfile := dockerSource()
	delete(noDockerfile, "Dockerfile")
	_, err = fakeBuilder(f).Build(context.Background(), builder.Request{Function: "custom", Runtime: "docker", Source: noDockerfile})
	if !errors.Is(err, builder.ErrInvalidSource) || !strings.Contains(err.Error(), "needs Dockerfile") {
		t.Fatalf("Build without a Dockerfile = %v", err)
	}
}

func TestBuildCABundle(t *testing.T) {
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	write := func(s string) {
		if err := os.WriteFile(bundle, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("-----BEGIN CERTIFICATE-----\none\n")
	ctx := context.Background()
	req := builder.Request{Function: "custom", Runtime: "docker", Source: dockerSource()}

	plain, err := fakeBuilder(newFakeEngine()).Build(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	f := newFakeEngine()
	b := withConfig(t, f, Config{CABundle: bundle})
	one, err := b.Build(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if files := tarFiles(t, f.contexts[0]); files[runtimes.CABundlePath] != "-----BEGIN CERTIFICATE-----\none\n" {
		t.Fatalf("context lacks the bundle at %s: %v", runtimes.CABundlePath, files)
	}
	write("-----BEGIN CERTIFICATE-----\ntwo\n")
	two, err := withConfig(t, f, Config{CABundle: bundle}).Build(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if one.Hash == plain.Hash || two.Hash == one.Hash {
		t.Fatalf("hashes without, with one and with another bundle: %s %s %s; want all different", plain.Hash, one.Hash, two.Hash)
	}

	for name, path := range map[string]string{"missing": filepath.Join(t.TempDir(), "nope.pem"), "empty": emptyFile(t)} {
		if _, err := New(Config{CABundle: path}); err == nil {
			t.Errorf("New with a %s CA bundle succeeded", name)
		}
	}
}

func TestBuildImageOverrides(t *testing.T) {
	ctx := context.Background()
	req := builder.Request{Function: "hello", Runtime: "go", Source: helloSource()}
	plain, err := fakeBuilder(newFakeEngine(goBuildImage, goRunImage)).Build(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	f := newFakeEngine("golang:1.26", goRunImage)
	b := withConfig(t, f, Config{Images: map[string]RuntimeImages{"go": {Build: "golang:1.26"}}})
	res, err := b.Build(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Hash == plain.Hash {
		t.Fatal("the build image override does not change the hash")
	}
	if df := tarFiles(t, f.contexts[0])[runtimes.DockerfilePath]; !strings.Contains(df, "FROM golang:1.26 AS build") {
		t.Fatalf("Dockerfile does not use the override:\n%s", df)
	}

	_, err = withConfig(t, newFakeEngine(), Config{Images: map[string]RuntimeImages{"go": {Build: "golang:1.26"}}}).Build(ctx, req)
	if !errors.Is(err, ErrBuildImageMissing) || !strings.Contains(err.Error(), "golang:1.26") {
		t.Fatalf("Build with a missing override image = %v", err)
	}
}

func TestBuildPassesHandler(t *testing.T) {
	ctx := context.Background()
	f := newFakeEngine(goBuildImage, goRunImage)
	b := fakeBuilder(f)
	a, err := b.Build(ctx, builder.Request{Function: "hello", Runtime: "go", Source: helloSource()})
	if err != nil {
		t.Fatal(err)
	}
	h, err := b.Build(ctx, builder.Request{Function: "hello", Runtime: "go", Handler: "Other", Source: helloSource()})
	if err != nil {
		t.Fatal(err)
	}
	if a.Hash == h.Hash {
		t.Fatal("a different handler builds the same image")
	}
}

// withConfig is New's handling of cfg on a fake engine.
func withConfig(t *testing.T, f *fakeEngine, cfg Config) *Builder {
	t.Helper()
	real, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	real.Close()
	b := fakeBuilder(f)
	b.images, b.caBundle = real.images, real.caBundle
	return b
}

func emptyFile(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "empty.pem")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestLabelLineFallsBack: the labels go the engine's way (one step each) when the Dockerfile
// cannot take a line at its end. (A source cannot hold the copy's path: .hearth/ is reserved.)
func TestLabelLineFallsBack(t *testing.T) {
	for name, files := range map[string]fstest.MapFS{
		"continued last line": {"Dockerfile": {Data: []byte("FROM hearth/python:3.11\nCMD [\"a\", \\\n")}},
	} {
		t.Run(name, func(t *testing.T) {
			files["func.yaml"] = &fstest.MapFile{Data: []byte("name: custom\nruntime: docker\n")}
			f := newFakeEngine()
			if _, err := fakeBuilder(f).Build(context.Background(), builder.Request{Function: "custom", Runtime: "docker", Source: files}); err != nil {
				t.Fatal(err)
			}
			opts := f.builds[0]
			if opts.Dockerfile != "Dockerfile" || opts.Labels["hearth.function"] != "custom" {
				t.Fatalf("options = %+v: want the function's own Dockerfile and the labels as options", opts)
			}
		})
	}
}
