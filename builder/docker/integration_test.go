//go:build integration

package docker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/hearthfn/hearth/builder"
	"github.com/hearthfn/hearth/runtimes"
)

// These tests use the real Docker Engine at $HEARTH_TEST_DOCKER_HOST (default: the local
// socket); without one they fail. Other tests share the engine, so every function, container
// and image here has a unique name, and everything but the shared, expensive
// hearth/go-build image is removed afterwards.

func dockerHost() string {
	if h := os.Getenv("HEARTH_TEST_DOCKER_HOST"); h != "" {
		return h
	}
	return client.DefaultDockerHost
}

func newIntegrationBuilder(t *testing.T) *Builder {
	t.Helper()
	b, err := New(Config{Host: dockerHost()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	if _, err := b.imageExists(context.Background(), "hearth-test/ping:none"); err != nil {
		t.Fatalf("Docker Engine at %s is required: %v", dockerHost(), err)
	}
	return b
}

var goImageOnce struct {
	sync.Once
	err error
}

// ensureGoImage makes the toolchain image once per test binary.
func ensureGoImage(t *testing.T, b *Builder) {
	t.Helper()
	goImageOnce.Do(func() {
		start := time.Now()
		img, built, err := b.EnsureGoImage(context.Background(), goroot(t), func(l string) { t.Log(l) })
		goImageOnce.err = err
		t.Logf("EnsureGoImage: %s built=%v in %v", img, built, time.Since(start).Round(time.Millisecond))
	})
	if goImageOnce.err != nil {
		t.Fatalf("EnsureGoImage: %v", goImageOnce.err)
	}
}

func goroot(t *testing.T) string {
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// uniqueName returns a function name no other test run uses.
func uniqueName(t *testing.T, prefix string) string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return prefix + "-" + hex.EncodeToString(b)
}

// cleanupFunctionImages removes every image built for function: the tagged images and the
// build stage's layers, which the Dockerfile labels hearth.function. A cancelled build may still
// commit a layer after Build returns, so removal repeats until the engine stays clean.
func cleanupFunctionImages(t *testing.T, function string) {
	t.Cleanup(func() {
		cli, err := client.NewClientWithOpts(client.WithHost(dockerHost()), client.WithAPIVersionNegotiation())
		if err != nil {
			t.Error(err)
			return
		}
		defer cli.Close()
		ctx := context.Background()
		label := filters.NewArgs(filters.Arg("label", "hearth.function="+function))
		for quiet, deadline := 0, time.Now().Add(15*time.Second); quiet < 2; {
			imgs, err := cli.ImageList(ctx, image.ListOptions{All: true, Filters: label})
			if err != nil {
				t.Error(err)
				return
			}
			if len(imgs) == 0 {
				quiet++
			} else {
				quiet = 0
			}
			if time.Now().After(deadline) {
				t.Errorf("%d images of %s left behind", len(imgs), function)
				return
			}
			// A parent cannot go before its children; the next round gets it.
			for _, img := range imgs {
				_, _ = cli.ImageRemove(ctx, img.ID, image.RemoveOptions{Force: true, PruneChildren: true})
			}
			time.Sleep(300 * time.Millisecond)
		}
	})
}

func writeSource(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func timedBuild(t *testing.T, b *Builder, what string, req builder.Request) builder.Result {
	t.Helper()
	var log []string
	req.Progress = func(l string) { log = append(log, l) }
	start := time.Now()
	res, err := b.Build(context.Background(), req)
	if err != nil {
		t.Fatalf("%s: %v\n%s", what, err, strings.Join(log, "\n"))
	}
	t.Logf("%s: %s cached=%v in %v (%d log lines)", what, res.Image, res.Cached, time.Since(start).Round(time.Millisecond), len(log))
	return res
}

func TestIntegrationEnsureGoImage(t *testing.T) {
	b := newIntegrationBuilder(t)
	ensureGoImage(t, b)
	start := time.Now()
	img, built, err := b.EnsureGoImage(context.Background(), goroot(t), nil)
	if err != nil || built || img != "hearth/go-build:1.26.8" {
		t.Fatalf("second EnsureGoImage = %q built=%v err=%v, want a no-op", img, built, err)
	}
	t.Logf("EnsureGoImage when present: %v", time.Since(start).Round(time.Millisecond))
}

func TestIntegrationBuildScaffold(t *testing.T) {
	b := newIntegrationBuilder(t)
	ensureGoImage(t, b)
	name := uniqueName(t, "it-hello")
	cleanupFunctionImages(t, name)
	dir := t.TempDir()
	rt, err := runtimes.New().Lookup("go")
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.WriteScaffold(dir, name); err != nil {
		t.Fatal(err)
	}
	req := builder.Request{Function: name, Runtime: "go", Source: os.DirFS(dir)}

	first := timedBuild(t, b, "first build", req)
	if first.Cached || !strings.HasPrefix(first.Image, "hearth/"+name+":") {
		t.Fatalf("first build = %+v", first)
	}
	second := timedBuild(t, b, "unchanged rebuild", req)
	if !second.Cached || second.Image != first.Image {
		t.Fatalf("second build = %+v, want the first image, cached", second)
	}

	inspect, err := b.api.ImageInspect(context.Background(), first.Image)
	if err != nil {
		t.Fatal(err)
	}
	cfg := inspect.Config
	if !slices.Equal(cfg.Entrypoint, []string{"/function"}) || !slices.Contains(cfg.Env, "PORT=8080") ||
		cfg.Labels["hearth.function"] != name || cfg.Labels["hearth.owner"] != "hearth" || len(inspect.RootFS.Layers) != 1 {
		t.Fatalf("image config: entrypoint %v env %v labels %v layers %d", cfg.Entrypoint, cfg.Env, cfg.Labels,
			len(inspect.RootFS.Layers))
	}
	t.Logf("function image size: %d bytes", inspect.Size)

	url := runContainer(t, first.Image)
	for body, want := range map[string]string{`{"name":"Ada"}`: "Hello, Ada!", "": "Hello, world!"} {
		resp, err := http.Post(url+"/", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(got) != want {
			t.Errorf("POST %q = %d %q, want 200 %q", body, resp.StatusCode, got, want)
		}
	}

	writeSource(t, dir, map[string]string{"extra.go": "package handler\n\nconst greeting = \"Hello\"\n"})
	third := timedBuild(t, b, "one-file-changed rebuild", req)
	if third.Cached || third.Hash == first.Hash {
		t.Fatalf("changed build = %+v", third)
	}
}

func TestIntegrationCompileError(t *testing.T) {
	b := newIntegrationBuilder(t)
	ensureGoImage(t, b)
	name := uniqueName(t, "it-broken")
	cleanupFunctionImages(t, name)
	dir := t.TempDir()
	writeSource(t, dir, map[string]string{
		"go.mod": "module " + name + "\n\ngo 1.26\n",
		"handler.go": `package handler

import "net/http"

// Handle does not compile.
func Handle(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(200)
	_ = r
	foo()
}
`,
	})
	var log []string
	_, err := b.Build(context.Background(), builder.Request{Function: name, Runtime: "go", Source: os.DirFS(dir),
		Progress: func(l string) { log = append(log, l) }})
	if !errors.Is(err, builder.ErrBuildFailed) {
		t.Fatalf("Build = %v, want ErrBuildFailed", err)
	}
	if !strings.Contains(err.Error(), "./handler.go:9:2: undefined: foo") {
		t.Fatalf("error lacks the compiler's message:\n%v", err)
	}
	if !slices.ContainsFunc(log, func(l string) bool { return strings.Contains(l, "undefined: foo") }) {
		t.Errorf("the compiler's message did not reach Progress: %q", log)
	}
	t.Logf("compile error as reported:\n%v", err)
}

// probeSource exercises the shim's error handling, deadline and shutdown inside the image.
const probeSource = `package probe

import (
	"fmt"
	"net/http"
	"time"
)

func Handle(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/panic":
		panic("probe exploded")
	case "/deadline":
		dl, ok := r.Context().Deadline()
		fmt.Fprint(w, ok, " ", dl.UTC().Format(time.RFC3339Nano))
	default:
		fmt.Fprint(w, "ok")
	}
}
`

func TestIntegrationShimInImage(t *testing.T) {
	b := newIntegrationBuilder(t)
	ensureGoImage(t, b)
	name := uniqueName(t, "it-probe")
	cleanupFunctionImages(t, name)
	dir := t.TempDir()
	writeSource(t, dir, map[string]string{"go.mod": "module example.com/probe\n\ngo 1.26\n", "probe.go": probeSource})
	res := timedBuild(t, b, "probe build", builder.Request{Function: name, Runtime: "go", Source: os.DirFS(dir)})
	url := runContainer(t, res.Image)

	req, _ := http.NewRequest("GET", url+"/panic", nil)
	req.Header.Set("Hearth-Call-Id", "it-call-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Error struct{ Code, Message string }
	}
	err = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 500 || resp.Header.Get("Hearth-Instance-Failed") != "true" ||
		body.Error.Code != "handler_error" || body.Error.Message != "probe exploded" {
		t.Fatalf("panic: %d %v %+v (%v)", resp.StatusCode, resp.Header, body, err)
	}

	dl := time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond)
	req, _ = http.NewRequest("GET", url+"/deadline", nil)
	req.Header.Set("Hearth-Deadline", dl.Format(time.RFC3339Nano))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(got) != "true "+dl.Format(time.RFC3339Nano) {
		t.Fatalf("deadline = %q", got)
	}

	container := containerOf(t, url)
	logs := docker(t, "logs", container)
	if !strings.Contains(logs, "call_id=it-call-1") {
		t.Errorf("no call log line with the call id:\n%s", logs)
	}
	// SIGTERM (docker stop) must end the shim cleanly, well inside the grace period.
	start := time.Now()
	docker(t, "stop", "-t", "20", container)
	if code := strings.TrimSpace(docker(t, "inspect", "-f", "{{.State.ExitCode}}", container)); code != "0" {
		t.Errorf("exit code after SIGTERM = %s", code)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("docker stop took %v: SIGTERM was not handled", d)
	}
}

func TestIntegrationBuildImageMissing(t *testing.T) {
	b := newIntegrationBuilder(t)
	rt, err := runtimes.New().Lookup("go")
	if err != nil {
		t.Fatal(err)
	}
	rt.BuildImage = "hearth-test/absent-" + uniqueName(t, "img") + ":0"
	b.catalog = fixedCatalog{rt}
	name := uniqueName(t, "it-nobase")
	_, err = b.Build(context.Background(), builder.Request{Function: name, Runtime: "go",
		Source: helloSource()})
	if !errors.Is(err, ErrBuildImageMissing) || !errors.Is(err, builder.ErrUnavailable) ||
		!strings.Contains(err.Error(), "hearth images bootstrap") {
		t.Fatalf("Build without its build image = %v", err)
	}
}

func TestIntegrationCancel(t *testing.T) {
	b := newIntegrationBuilder(t)
	ensureGoImage(t, b)
	name := uniqueName(t, "it-cancel")
	cleanupFunctionImages(t, name)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src := helloSource()
	src["handler.go"].Data = []byte("package handler\n\nimport \"net/http\"\n\nfunc Handle(http.ResponseWriter, *http.Request) {}\n")
	res, err := b.Build(ctx, builder.Request{Function: name, Runtime: "go", Source: src,
		Progress: func(string) { cancel() }})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Build cancelled from Progress = %+v, %v; want context.Canceled", res, err)
	}
}

type fixedCatalog struct{ rt runtimes.Runtime }

func (c fixedCatalog) Lookup(name string) (runtimes.Runtime, error) {
	if name != c.rt.Name {
		return runtimes.Runtime{}, fmt.Errorf("%w %q", runtimes.ErrUnknownRuntime, name)
	}
	return c.rt, nil
}

func (c fixedCatalog) List() []runtimes.Runtime { return []runtimes.Runtime{c.rt} }

// runContainer starts image with the docker CLI, removed at cleanup, and returns its base URL
// once GET /_/ready answers 200.
func runContainer(t *testing.T, image string) string {
	t.Helper()
	name := uniqueName(t, "hearth-test")
	docker(t, "run", "-d", "--label", "hearth.test=1", "--name", name, "-p", "127.0.0.1::8080", image)
	t.Cleanup(func() {
		if out, err := exec.Command("docker", "-H", dockerHost(), "rm", "-f", name).CombinedOutput(); err != nil {
			t.Errorf("docker rm %s: %v %s", name, err, out)
		}
	})
	addr := strings.TrimSpace(docker(t, "port", name, "8080/tcp"))
	addr = strings.Split(addr, "\n")[0]
	url := "http://" + addr
	containers.Store(url, name)
	start := time.Now()
	for {
		resp, err := http.Get(url + "/_/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				t.Logf("container %s ready in %v", name, time.Since(start).Round(time.Millisecond))
				return url
			}
		}
		if time.Since(start) > 20*time.Second {
			t.Fatalf("container %s never ready: %v\n%s", name, err, docker(t, "logs", name))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var containers sync.Map // url -> container name

func containerOf(t *testing.T, url string) string {
	name, ok := containers.Load(url)
	if !ok {
		t.Fatalf("no container for %s", url)
	}
	return name.(string)
}

func docker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", append([]string{"-H", dockerHost()}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestIntegrationVendoredDependency builds a function whose dependency is vendored: builds are
// offline, so vendor/ is how a function brings third-party code.
func TestIntegrationVendoredDependency(t *testing.T) {
	b := newIntegrationBuilder(t)
	ensureGoImage(t, b)
	name := uniqueName(t, "it-vendor")
	cleanupFunctionImages(t, name)
	dir := t.TempDir()
	writeSource(t, dir, map[string]string{
		"go.mod": "module " + name + "\n\ngo 1.26\n\nrequire example.com/greet v0.0.0\n\n" +
			"replace example.com/greet => ./third_party/greet\n",
		"third_party/greet/go.mod":   "module example.com/greet\n\ngo 1.26\n",
		"third_party/greet/greet.go": "package greet\n\nfunc Hello() string { return \"hi from vendor\" }\n",
		"handler.go": `package handler

import (
	"io"
	"net/http"

	"example.com/greet"
)

func Handle(w http.ResponseWriter, r *http.Request) { io.WriteString(w, greet.Hello()) }
`,
	})
	vendor := exec.Command("go", "mod", "vendor")
	vendor.Dir = dir
	vendor.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
	if out, err := vendor.CombinedOutput(); err != nil {
		t.Fatalf("go mod vendor: %v\n%s", err, out)
	}
	// Only vendor/ has the dependency now, so the build must use -mod=vendor.
	if err := os.RemoveAll(filepath.Join(dir, "third_party")); err != nil {
		t.Fatal(err)
	}
	res := timedBuild(t, b, "vendored build", builder.Request{Function: name, Runtime: "go", Source: os.DirFS(dir)})
	resp, err := http.Get(runContainer(t, res.Image) + "/")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(got) != "hi from vendor" {
		t.Fatalf("GET / = %q", got)
	}
}
