package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/hearthfn/hearth/builder"
	"github.com/hearthfn/hearth/runtimes"
)

// fakeEngine is an in-memory engine: images are a set of tags, a build records its options and
// context and answers with a canned output.
type fakeEngine struct {
	mu       sync.Mutex
	images   map[string]bool
	labels   map[string]map[string]string
	output   string // the build's JSON output; an "error" in it means the build fails
	builds   []build.ImageBuildOptions
	contexts [][]byte
	imports  []fakeImport
	// listed are the images ImageList reports (filtered by label); removeErr, by reference,
	// fails ImageRemove; removed are the references removed (remove_test.go).
	listed    []image.Summary
	removeErr map[string]error
	removed   []string
	// buildGate, when set, holds every ImageBuild until it is closed, after telling
	// buildStarted (slots_test.go).
	buildGate    chan struct{}
	buildStarted chan string
	// pushOutput is every push's JSON output (default: a push that succeeds), pushErr fails
	// ImagePush itself; pushes are the references pushed, with their X-Registry-Auth
	// (push_test.go). version is the engine's, versionErr fails ServerVersion.
	pushOutput string
	pushErr    error
	pushes     []fakePush
	version    string
	versionErr error
}

// fakeImport is one ImageImport call: the image, its changes and the tar it was sent.
type fakeImport struct {
	ref     string
	changes []string
	data    []byte
}

func newFakeEngine(images ...string) *fakeEngine {
	f := &fakeEngine{images: map[string]bool{}, output: `{"stream":"Successfully built 1\n"}`}
	for _, i := range images {
		f.images[i] = true
	}
	return f
}

func (f *fakeEngine) ImageInspect(_ context.Context, ref string, _ ...client.ImageInspectOption) (image.InspectResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.images[ref] {
		return image.InspectResponse{ID: "sha256:" + ref, Config: &dockerspec.DockerOCIImageConfig{
			ImageConfig: ocispec.ImageConfig{Labels: f.labels[ref]}}}, nil
	}
	return image.InspectResponse{}, fmt.Errorf("no such image %s: %w", ref, cerrdefs.ErrNotFound)
}

func (f *fakeEngine) ImageBuild(ctx context.Context, r io.Reader, opts build.ImageBuildOptions) (build.ImageBuildResponse, error) {
	if f.buildGate != nil {
		f.buildStarted <- opts.Tags[0]
		select {
		case <-f.buildGate:
		case <-ctx.Done():
			return build.ImageBuildResponse{}, ctx.Err()
		}
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return build.ImageBuildResponse{}, err
	}
	// As the engine does: the image gets the options' labels and those of the Dockerfile's
	// LABEL lines (the builder puts its own on the last line: labels.go).
	opts.Labels = withDockerfileLabels(opts.Labels, tarFilesOf(data)[opts.Dockerfile])
	f.mu.Lock()
	defer f.mu.Unlock()
	f.builds = append(f.builds, opts)
	f.contexts = append(f.contexts, data)
	if !strings.Contains(f.output, `"error"`) {
		for _, tag := range opts.Tags {
			f.images[tag] = true
			if f.labels == nil {
				f.labels = map[string]map[string]string{}
			}
			f.labels[tag] = opts.Labels
		}
	}
	return build.ImageBuildResponse{Body: io.NopCloser(strings.NewReader(f.output))}, nil
}

func (f *fakeEngine) ImageImport(_ context.Context, src image.ImportSource, ref string, opts image.ImportOptions) (io.ReadCloser, error) {
	data, err := io.ReadAll(src.Source)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.imports = append(f.imports, fakeImport{ref: ref, changes: opts.Changes, data: data})
	f.images[ref] = true
	return io.NopCloser(strings.NewReader(`{"status":"sha256:0123"}`)), nil
}

func (f *fakeEngine) Close() error { return nil }

// The go runtime's images, which a fake engine must have for a go function to build.
const (
	goBuildImage = "hearth/go-build:1.26.8"
	goRunImage   = "hearth/go-run:1"
)

func fakeBuilder(f *fakeEngine) *Builder {
	return &Builder{api: f, catalog: runtimes.New(), host: "unix:///fake.sock", repo: "hearth"}
}

func helloSource() fstest.MapFS {
	return fstest.MapFS{
		"go.mod":     {Data: []byte("module hello\n\ngo 1.26\n")},
		"handler.go": {Data: []byte("package handler\n")},
		"func.yaml":  {Data: []byte("name: hello\nruntime: go\n")},
	}
}

func TestBuildRendersAndTags(t *testing.T) {
	f := newFakeEngine(goBuildImage, goRunImage)
	var lines []string
	res, err := fakeBuilder(f).Build(context.Background(), builder.Request{
		Function: "hello", Runtime: "go", Source: helloSource(),
		Progress: func(l string) { lines = append(lines, l) },
	})
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	if res.Cached || len(res.Hash) != 64 || res.Image != "hearth/hello:"+res.Hash[:16] {
		t.Fatalf("Result = %+v", res)
	}
	if !reflect.DeepEqual(lines, []string{"Successfully built 1"}) {
		t.Fatalf("progress = %q", lines)
	}
	opts := f.builds[0]
	if opts.Version != build.BuilderV1 || !opts.Remove || !opts.ForceRemove ||
		opts.Dockerfile != labeledDockerfilePath || !reflect.DeepEqual(opts.Tags, []string{res.Image}) ||
		opts.Labels["hearth.function"] != "hello" || opts.Labels["hearth.owner"] != "hearth" {
		t.Fatalf("build options = %+v", opts)
	}
	files := tarFiles(t, f.contexts[0])
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	want := []string{".hearth/Dockerfile", labeledDockerfilePath, "func.yaml", "go.mod", "handler.go", "hearthmain/main.go"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("context = %v, want %v", names, want)
	}
	if !strings.Contains(files[".hearth/Dockerfile"], "FROM "+goBuildImage+" AS build") {
		t.Fatalf("Dockerfile:\n%s", files[".hearth/Dockerfile"])
	}
	if !strings.Contains(files["hearthmain/main.go"], `function "hello"`) {
		t.Fatal("shim does not import the function's module")
	}
}

func TestBuildCachedAndHashes(t *testing.T) {
	f := newFakeEngine(goBuildImage, goRunImage)
	b := fakeBuilder(f)
	ctx := context.Background()
	req := builder.Request{Function: "hello", Runtime: "go", Source: helloSource()}
	first, err := b.Build(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	second, err := b.Build(ctx, req)
	if err != nil || !second.Cached || second.Image != first.Image || len(f.builds) != 1 {
		t.Fatalf("second build = %+v, %v (builds: %d)", second, err, len(f.builds))
	}
	changed := helloSource()
	changed["handler.go"] = &fstest.MapFile{Data: []byte("package handler // changed\n")}
	third, err := b.Build(ctx, builder.Request{Function: "hello", Runtime: "go", Source: changed})
	if err != nil || third.Cached || third.Hash == first.Hash {
		t.Fatalf("changed build = %+v, %v", third, err)
	}
	other, err := b.Build(ctx, builder.Request{Function: "hello-two", Runtime: "go", Source: helloSource()})
	if err != nil || other.Cached || !strings.HasPrefix(other.Image, "hearth/hello-two:") {
		t.Fatalf("other function = %+v, %v", other, err)
	}
}

func TestBuildErrors(t *testing.T) {
	noMod := helloSource()
	delete(noMod, "go.mod")
	escaping := helloSource()
	escaping["link"] = &fstest.MapFile{Data: []byte("../../etc/passwd"), Mode: os.ModeSymlink}
	tests := []struct {
		name   string
		engine *fakeEngine
		req    builder.Request
		want   []error
		parts  []string
	}{
		{"unknown runtime", newFakeEngine(goBuildImage, goRunImage),
			builder.Request{Function: "hello", Runtime: "cobol", Source: helloSource()},
			[]error{builder.ErrUnknownRuntime, runtimes.ErrUnknownRuntime}, []string{`"cobol"`, "known runtimes: ", "go"}},
		{"bad function name", newFakeEngine(goBuildImage, goRunImage),
			builder.Request{Function: "Hello_", Runtime: "go", Source: helloSource()},
			[]error{builder.ErrInvalidSource}, []string{"function name"}},
		{"no source", newFakeEngine(goBuildImage, goRunImage),
			builder.Request{Function: "hello", Runtime: "go"},
			[]error{builder.ErrInvalidSource}, []string{"no source"}},
		{"no go.mod", newFakeEngine(goBuildImage, goRunImage),
			builder.Request{Function: "hello", Runtime: "go", Source: noMod},
			[]error{builder.ErrInvalidSource, runtimes.ErrInvalidSource}, []string{"go.mod", "go mod init hello"}},
		{"symlink out of the source", newFakeEngine(goBuildImage, goRunImage),
			builder.Request{Function: "hello", Runtime: "go", Source: escaping},
			[]error{builder.ErrInvalidSource}, []string{"symlink link"}},
		{"build image missing", newFakeEngine(),
			builder.Request{Function: "hello", Runtime: "go", Source: helloSource()},
			[]error{builder.ErrUnavailable, ErrBuildImageMissing}, []string{goBuildImage, "hearth images bootstrap"}},
		{"build fails", &fakeEngine{images: map[string]bool{goBuildImage: true, goRunImage: true},
			output: `{"stream":"Step 6/9 : RUN go\n./handler.go:9:2: undefined: foo\n"}{"error":"returned a non-zero code: 1"}`},
			builder.Request{Function: "hello", Runtime: "go", Source: helloSource()},
			[]error{builder.ErrBuildFailed}, []string{"./handler.go:9:2: undefined: foo"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := fakeBuilder(tt.engine).Build(context.Background(), tt.req)
			for _, w := range tt.want {
				if !errors.Is(err, w) {
					t.Errorf("error %v is not %v", err, w)
				}
			}
			for _, p := range tt.parts {
				if err == nil || !strings.Contains(err.Error(), p) {
					t.Errorf("error %v lacks %q", err, p)
				}
			}
		})
	}
}

func TestBuildUnavailable(t *testing.T) {
	host := "unix://" + filepath.Join(t.TempDir(), "no-docker.sock")
	b, err := New(Config{Host: host})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	_, err = b.Build(context.Background(), builder.Request{Function: "hello", Runtime: "go", Source: helloSource()})
	if !errors.Is(err, builder.ErrUnavailable) || !strings.Contains(err.Error(), host) {
		t.Fatalf("Build against a missing engine = %v, want ErrUnavailable naming %s", err, host)
	}
	_, _, err = b.EnsureGoImage(context.Background(), fakeGoroot(t, "go1.26.8"), nil)
	if !errors.Is(err, builder.ErrUnavailable) {
		t.Fatalf("EnsureGoImage against a missing engine = %v, want ErrUnavailable", err)
	}
}

func TestBuildCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b, err := New(Config{Host: "unix://" + filepath.Join(t.TempDir(), "no-docker.sock")})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	_, err = b.Build(ctx, builder.Request{Function: "hello", Runtime: "go", Source: helloSource()})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Build with a cancelled ctx = %v", err)
	}
}

func TestEnsureGoImage(t *testing.T) {
	goroot := fakeGoroot(t, "go1.26.8")
	f := newFakeEngine()
	b := fakeBuilder(f)
	img, built, err := b.EnsureGoImage(context.Background(), goroot, nil)
	if err != nil || !built || img != goBuildImage {
		t.Fatalf("EnsureGoImage = %q, %v, %v", img, built, err)
	}
	files := tarFiles(t, f.contexts[0])
	for _, want := range []string{"Dockerfile", "go/VERSION", "go/bin/go", "go/src/fmt/print.go"} {
		if _, ok := files[want]; !ok {
			t.Errorf("context lacks %s", want)
		}
	}
	for _, skipped := range []string{"go/test/x.go", "go/api/go1.txt", "go/src/fmt/testdata/t.txt"} {
		if _, ok := files[skipped]; ok {
			t.Errorf("context has %s", skipped)
		}
	}
	if !strings.Contains(files["Dockerfile"], `RUN ["go", "build", "-trimpath", "std"]`) {
		t.Errorf("Dockerfile:\n%s", files["Dockerfile"])
	}
	if _, built, err := b.EnsureGoImage(context.Background(), goroot, nil); err != nil || built || len(f.builds) != 1 {
		t.Fatalf("second EnsureGoImage built again (built=%v, err=%v)", built, err)
	}
	if _, _, err := b.EnsureGoImage(context.Background(), fakeGoroot(t, "go1.25.0"), nil); err == nil ||
		!strings.Contains(err.Error(), "go1.25.0") {
		t.Fatalf("EnsureGoImage with the wrong Go = %v", err)
	}
	if _, _, err := b.EnsureGoImage(context.Background(), t.TempDir(), nil); err == nil {
		t.Fatal("EnsureGoImage of an empty folder succeeded")
	}
}

func fakeGoroot(t *testing.T, version string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range map[string]string{
		"VERSION": version + "\ntime 2026-01-01T00:00:00Z\n", "bin/go": "#!", "src/fmt/print.go": "package fmt",
		"test/x.go": "x", "api/go1.txt": "x", "src/fmt/testdata/t.txt": "x",
	} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func tarFiles(t *testing.T, data []byte) map[string]string {
	t.Helper()
	files, err := readTar(data)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// tarFilesOf is tarFiles for the fake engine, which has no t: a bad tar gives what was read.
func tarFilesOf(data []byte) map[string]string {
	files, _ := readTar(data)
	return files
}

func readTar(data []byte) (map[string]string, error) {
	files := map[string]string{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return files, nil
		}
		if err != nil {
			return files, err
		}
		if hdr.Typeflag == tar.TypeReg {
			b, _ := io.ReadAll(tr)
			files[hdr.Name] = string(b)
		}
	}
}

// withDockerfileLabels returns labels plus the key="value" pairs of the Dockerfile's last
// LABEL line, which is the final stage's when the builder wrote it.
func withDockerfileLabels(labels map[string]string, dockerfile string) map[string]string {
	out := maps.Clone(labels)
	if out == nil {
		out = map[string]string{}
	}
	lines := strings.Split(strings.TrimSpace(dockerfile), "\n")
	last, ok := strings.CutPrefix(lines[len(lines)-1], "LABEL ")
	if !ok {
		return out
	}
	for _, kv := range strings.Fields(last) {
		if k, v, ok := strings.Cut(kv, "="); ok {
			out[k] = strings.Trim(v, `"`)
		}
	}
	return out
}
