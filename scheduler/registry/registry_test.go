package registry_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/builder"
	"github.com/hearthfn/hearth/builder/buildctx"
	"github.com/hearthfn/hearth/runtimes/funcfile"
	"github.com/hearthfn/hearth/scheduler/registry"
	"github.com/hearthfn/hearth/scheduler/store"
	"github.com/hearthfn/hearth/scheduler/store/sqlstore"
)

const baseURL = "http://hearth.test:8080"

type env struct {
	reg     *registry.Registry
	store   *sqlstore.Store
	builder *fakeBuilder
	pool    *fakePool
	workDir string
}

func newEnv(t *testing.T, maxSource int64) *env {
	t.Helper()
	st, err := sqlstore.Open(t.Context(), filepath.Join(t.TempDir(), "hearth.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return newEnvOn(t, st, maxSource)
}

func newEnvOn(t *testing.T, st *sqlstore.Store, maxSource int64) *env {
	t.Helper()
	// WorkDir does not exist yet: the registry makes it.
	workDir := filepath.Join(t.TempDir(), "work")
	b := &fakeBuilder{workDir: workDir, lines: []string{"Step 1/2 : FROM golang", "Step 2/2 : RUN go build"}}
	p := &fakePool{statuses: map[string]api.PoolStatus{}}
	reg := registry.New(registry.Config{BaseURL: baseURL, MaxSourceBytes: maxSource, WorkDir: workDir,
		ImageRemovalRetry: time.Millisecond}, st, b, p, slog.New(slog.NewTextHandler(t.Output(), nil)))
	e := &env{reg: reg, store: st, builder: b, pool: p, workDir: workDir}
	t.Cleanup(func() { e.assertWorkDirEmpty(t) })
	// The end of Run waits for every image removal, so that none outlives the test.
	t.Cleanup(func() {
		ctx, stop := context.WithCancel(context.Background())
		stop()
		_ = e.reg.Run(ctx)
	})
	return e
}

// assertWorkDirEmpty checks that no deploy left its unpacked source behind.
func (e *env) assertWorkDirEmpty(t *testing.T) {
	t.Helper()
	entries, err := os.ReadDir(e.workDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("WorkDir still holds %d entries after the deploys (first: %s)", len(entries), entries[0].Name())
	}
}

// deploy uploads files, packed as hearth deploy packs them, and collects the progress lines.
func (e *env) deploy(t *testing.T, name string, files map[string]string) (api.Function, bool, []string, error) {
	t.Helper()
	var lines []string
	fn, cached, err := e.reg.Deploy(t.Context(), name, bytes.NewReader(pack(t, files)), func(l string) { lines = append(lines, l) })
	return fn, cached, lines, err
}

func pack(t testing.TB, files map[string]string) []byte {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := buildctx.PackDir(&buf, dir); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const helloYAML = "name: hello\nruntime: go\n"

func source(yaml, code string) map[string]string {
	return map[string]string{"func.yaml": yaml, "main.go": code}
}

func versionNumbers(t *testing.T, e *env, name string) []int {
	t.Helper()
	vs, err := e.reg.Versions(t.Context(), name, store.VersionPage{})
	if err != nil {
		t.Fatalf("Versions(%s): %v", name, err)
	}
	var nums []int
	for _, v := range vs {
		nums = append(nums, v.Number)
	}
	return nums
}

func TestDeployRecordsVersionsAndApplies(t *testing.T) {
	e := newEnv(t, 0)

	fn1, cached, lines, err := e.deploy(t, "hello", source(helloYAML, "package main // v1\n"))
	if err != nil {
		t.Fatalf("first deploy: %v", err)
	}
	if fn1.Name != "hello" || fn1.Version.Number != 1 || cached {
		t.Errorf("first deploy = %s v%d cached=%v, want hello v1 not cached", fn1.Name, fn1.Version.Number, cached)
	}
	if !reflect.DeepEqual(lines, e.builder.lines) {
		t.Errorf("progress lines = %q, want the builder's %q", lines, e.builder.lines)
	}
	if fn1.URL != baseURL+"/invoke/hello" {
		t.Errorf("URL = %q", fn1.URL)
	}
	if !reflect.DeepEqual(fn1.Version.Spec, api.FunctionSpec{Name: "hello", Runtime: "go"}.WithDefaults()) {
		t.Errorf("spec = %+v, want the parsed spec with defaults", fn1.Version.Spec)
	}

	reqs := e.builder.requests()
	if len(reqs) != 1 {
		t.Fatalf("builds = %d, want 1", len(reqs))
	}
	wantReq := buildRequest{Function: "hello", Runtime: "go", WorkDirEntries: 1,
		Files: source(helloYAML, "package main // v1\n")}
	if !reflect.DeepEqual(reqs[0], wantReq) {
		t.Errorf("build request = %+v, want %+v", reqs[0], wantReq)
	}

	fn2, cached, _, err := e.deploy(t, "hello", source(helloYAML, "package main // v2\n"))
	if err != nil {
		t.Fatalf("second deploy: %v", err)
	}
	if fn2.Version.Number != 2 || cached || fn2.Version.Image == fn1.Version.Image {
		t.Errorf("second deploy = v%d image %s cached=%v, want v2 with a new image", fn2.Version.Number, fn2.Version.Image, cached)
	}

	applied := e.pool.Applied()
	if len(applied) != 2 {
		t.Fatalf("pool.Apply called %d times, want 2", len(applied))
	}
	for i, want := range []api.Function{fn1, fn2} {
		got := applied[i]
		if got.Name != "hello" || got.Version.Number != want.Version.Number || got.Version.Image != want.Version.Image {
			t.Errorf("Apply #%d got %s v%d %s, want v%d %s", i+1, got.Name, got.Version.Number, got.Version.Image,
				want.Version.Number, want.Version.Image)
		}
	}
	if got := versionNumbers(t, e, "hello"); !reflect.DeepEqual(got, []int{2, 1}) {
		t.Errorf("versions = %v, want [2 1]", got)
	}
	cur, err := e.store.GetFunction(t.Context(), "hello")
	if err != nil || cur.Version.Number != 2 || cur.Version.SourceHash == "" {
		t.Errorf("stored current version = %+v, %v; want v2 with its source hash", cur.Version, err)
	}
}

func TestDeployIdenticalIsCached(t *testing.T) {
	e := newEnv(t, 0)
	// Fields of every kind, so that the stored spec must survive the store's round trip.
	yaml := helloYAML + "version: 0.1.0\nmemory: 256\ncpu: 500m\ntimeout: 1m30s\nconcurrency: 4\nenv:\n  GREETING: hi\n"
	src := source(yaml, "package main\n")

	first, _, _, err := e.deploy(t, "hello", src)
	if err != nil {
		t.Fatal(err)
	}
	again, cached, _, err := e.deploy(t, "hello", src)
	if err != nil {
		t.Fatal(err)
	}
	if !cached || again.Version.Number != 1 || again.Version.Image != first.Version.Image {
		t.Errorf("identical redeploy = v%d cached=%v, want v1 cached", again.Version.Number, cached)
	}
	if again.URL != baseURL+"/invoke/hello" || again.Version.Spec.MaxInstances != api.DefaultMaxInstances {
		t.Errorf("cached answer not decorated: url %q spec %+v", again.URL, again.Version.Spec)
	}
	if got := versionNumbers(t, e, "hello"); !reflect.DeepEqual(got, []int{1}) {
		t.Errorf("versions = %v, want only [1]", got)
	}
	if n := len(e.pool.Applied()); n != 1 {
		t.Errorf("pool.Apply called %d times, want once (not for the identical redeploy)", n)
	}
}

func TestDeploySpecChangeWithSameImageIsNewVersion(t *testing.T) {
	e := newEnv(t, 0)
	// The builder finds the same image for both deploys, as it would when only a setting
	// that is not part of the build changed.
	e.builder.image, e.builder.cached = "hearth/hello:pinned", true
	if _, _, _, err := e.deploy(t, "hello", source(helloYAML, "package main\n")); err != nil {
		t.Fatal(err)
	}
	fn, cached, _, err := e.deploy(t, "hello", source(helloYAML+"memory: 512\n", "package main\n"))
	if err != nil {
		t.Fatal(err)
	}
	if fn.Version.Number != 2 || fn.Version.Spec.MemoryMB != 512 || fn.Version.Image != "hearth/hello:pinned" {
		t.Errorf("deploy with a new spec = v%d %s memory %d, want v2 of the same image with 512",
			fn.Version.Number, fn.Version.Image, fn.Version.Spec.MemoryMB)
	}
	if !cached {
		t.Error("cached = false, want the builder's Cached passed through")
	}
	if n := len(e.pool.Applied()); n != 2 {
		t.Errorf("pool.Apply called %d times, want 2", n)
	}
}

func TestDeployRejects(t *testing.T) {
	for _, tt := range []struct {
		name    string
		urlName string
		upload  func(t *testing.T) []byte
		check   func(t *testing.T, err error)
	}{
		{"name differs from the URL", "hello",
			func(t *testing.T) []byte { return pack(t, source("name: other\nruntime: go\n", "package main\n")) },
			wantField("name")},
		{"no func.yaml", "hello",
			func(t *testing.T) []byte { return pack(t, map[string]string{"main.go": "package main\n"}) },
			wantField(registry.FuncFile)},
		{"func.yaml in a subfolder only", "hello",
			func(t *testing.T) []byte { return pack(t, map[string]string{"sub/func.yaml": helloYAML}) },
			wantField(registry.FuncFile)},
		{"invalid field in func.yaml", "hello",
			func(t *testing.T) []byte { return pack(t, source(helloYAML+"memory: 1\n", "package main\n")) },
			wantField("memory")},
		{"func.yaml is not YAML", "hello",
			func(t *testing.T) []byte { return pack(t, source("name: [hello\n", "package main\n")) },
			func(t *testing.T, err error) {
				var se *funcfile.SyntaxError
				if !errors.Is(err, funcfile.ErrInvalid) || !errors.As(err, &se) {
					t.Errorf("error = %v, want a *funcfile.SyntaxError wrapping funcfile.ErrInvalid", err)
				}
			}},
		{"invalid URL name", "Hello_World",
			func(t *testing.T) []byte { return pack(t, source(helloYAML, "package main\n")) },
			wantField("name")},
		{"not an archive", "hello",
			func(*testing.T) []byte { return []byte("this is not gzip") },
			wantIs(buildctx.ErrInvalidArchive)},
		{"source too large", "hello",
			func(t *testing.T) []byte {
				return pack(t, source(helloYAML, "package main\n// "+strings.Repeat("x", 64<<10)+"\n"))
			},
			wantIs(buildctx.ErrTooLarge)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, 32<<10)
			fn, _, err := e.reg.Deploy(t.Context(), tt.urlName, bytes.NewReader(tt.upload(t)), func(string) {})
			if err == nil {
				t.Fatalf("Deploy succeeded with %+v, want an error", fn)
			}
			tt.check(t, err)
			if n := len(e.builder.requests()); n != 0 {
				t.Errorf("builder called %d times, want never", n)
			}
			if n := len(e.pool.Applied()); n != 0 {
				t.Errorf("pool.Apply called %d times, want never", n)
			}
			if fns, err := e.store.ListFunctions(t.Context(), store.FunctionPage{}); err != nil || len(fns) != 0 {
				t.Errorf("store holds %v (%v), want nothing", fns, err)
			}
		})
	}
}

func wantField(field string) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		var fe *funcfile.FieldError
		if !errors.As(err, &fe) || fe.Field != field {
			t.Errorf("error = %v, want a *funcfile.FieldError on %q", err, field)
		}
		if !errors.Is(err, funcfile.ErrInvalid) {
			t.Errorf("error %v does not wrap funcfile.ErrInvalid", err)
		}
	}
}

func wantIs(target error) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		if !errors.Is(err, target) {
			t.Errorf("error = %v, want %v", err, target)
		}
	}
}

func TestDeployInvalidNameTouchesNothing(t *testing.T) {
	e := newEnv(t, 0)
	_, _, _, err := e.deploy(t, "-bad", source(helloYAML, "package main\n"))
	if err == nil {
		t.Fatal("Deploy of -bad succeeded")
	}
	if _, err := os.Stat(e.workDir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("WorkDir exists (%v): an invalid name must be refused before any work", err)
	}
}

// TestDeployBuildFailureKeepsTheOldVersion: a build that fails, or an image that cannot be
// pushed to the registry, records nothing and rolls nothing out.
func TestDeployBuildFailureKeepsTheOldVersion(t *testing.T) {
	for _, sentinel := range []error{builder.ErrBuildFailed, builder.ErrPushFailed} {
		failure := fmt.Errorf("build hello: %w: the reason", sentinel)
		t.Run(sentinel.Error(), func(t *testing.T) {
			e := newEnv(t, 0)
			v1, _, _, err := e.deploy(t, "hello", source(helloYAML, "package main // v1\n"))
			if err != nil {
				t.Fatal(err)
			}

			e.builder.setErr(failure)
			_, _, lines, err := e.deploy(t, "hello", source(helloYAML, "package main // v2\n"))
			if !errors.Is(err, sentinel) || err.Error() != failure.Error() {
				t.Fatalf("deploy = %v, want the builder's %v", err, failure)
			}
			if len(lines) != len(e.builder.lines) {
				t.Errorf("progress lines = %q, want the build's lines before it failed", lines)
			}
			if got := versionNumbers(t, e, "hello"); !reflect.DeepEqual(got, []int{1}) {
				t.Errorf("versions = %v, want only [1]", got)
			}
			if n := len(e.pool.Applied()); n != 1 {
				t.Errorf("pool.Apply called %d times, want once (the failed deploy must not roll out)", n)
			}
			cur, err := e.reg.Get(t.Context(), "hello")
			if err != nil || cur.Version.Number != 1 || cur.Version.Image != v1.Version.Image {
				t.Errorf("current = v%d %s (%v), want v1 still serving", cur.Version.Number, cur.Version.Image, err)
			}
		})
	}
}

func TestDeleteFunction(t *testing.T) {
	e := newEnv(t, 0)
	if _, _, _, err := e.deploy(t, "hello", source(helloYAML, "package main\n")); err != nil {
		t.Fatal(err)
	}
	if err := e.reg.Delete(t.Context(), "hello"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if fns, err := e.reg.List(t.Context(), store.FunctionPage{}); err != nil || len(fns) != 0 {
		t.Errorf("List after Delete = %v, %v; want empty", fns, err)
	}
	if _, err := e.reg.Versions(t.Context(), "hello", store.VersionPage{}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Versions after Delete = %v, want store.ErrNotFound", err)
	}
	if got := e.pool.Removed(); !reflect.DeepEqual(got, []string{"hello"}) {
		t.Errorf("pool.Remove calls = %q, want [hello]", got)
	}

	if err := e.reg.Delete(t.Context(), "hello"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second Delete = %v, want store.ErrNotFound", err)
	}
	if err := e.reg.Delete(t.Context(), "never-deployed"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Delete of an unknown function = %v, want store.ErrNotFound", err)
	}
	if got := e.pool.Removed(); len(got) != 1 {
		t.Errorf("pool.Remove calls = %q, want only the first delete's", got)
	}
}

func TestRestoreAppliesEveryStoredFunction(t *testing.T) {
	first := newEnv(t, 0)
	for _, d := range []struct{ name, code string }{
		{"alpha", "// a1"}, {"alpha", "// a2"}, {"beta", "// b1"},
	} {
		if _, _, _, err := first.deploy(t, d.name, source("name: "+d.name+"\nruntime: go\n", d.code)); err != nil {
			t.Fatal(err)
		}
	}

	// A restarted server: same store, a new registry and an empty pool.
	restarted := newEnvOn(t, first.store, 0)
	if err := restarted.reg.Restore(t.Context()); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	want, err := first.store.ListFunctions(t.Context(), store.FunctionPage{})
	if err != nil {
		t.Fatal(err)
	}
	got := restarted.pool.Applied()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Restore applied\n%+v\nwant every stored function\n%+v", got, want)
	}
	if len(got) != 2 || got[0].Version.Number != 2 || got[1].Version.Number != 1 {
		t.Errorf("applied %d functions, want alpha v2 and beta v1", len(got))
	}
	if n := len(restarted.builder.requests()); n != 0 {
		t.Errorf("Restore built %d images, want none", n)
	}
}

func TestGetAndList(t *testing.T) {
	e := newEnv(t, 0)
	for _, name := range []string{"beta", "alpha"} {
		if _, _, _, err := e.deploy(t, name, source("name: "+name+"\nruntime: go\ntimeout: 10s\n", "package main\n")); err != nil {
			t.Fatal(err)
		}
	}
	status := api.PoolStatus{Instances: []api.InstanceStatus{{ID: "i1", Version: 1, State: "idle", Endpoint: "127.0.0.1:9"}}}
	e.pool.mu.Lock()
	e.pool.statuses["alpha"] = status
	e.pool.mu.Unlock()

	wantSpec := func(name string) api.FunctionSpec {
		return api.FunctionSpec{Name: name, Runtime: "go", Timeout: api.Duration(10 * time.Second)}.WithDefaults()
	}
	fn, err := e.reg.Get(t.Context(), "alpha")
	if err != nil {
		t.Fatal(err)
	}
	if fn.URL != baseURL+"/invoke/alpha" || !reflect.DeepEqual(fn.Version.Spec, wantSpec("alpha")) {
		t.Errorf("Get = url %q spec %+v, want the invoke URL and the spec with defaults", fn.URL, fn.Version.Spec)
	}
	if fn.Pool == nil || !reflect.DeepEqual(*fn.Pool, status) {
		t.Errorf("Get pool = %+v, want %+v", fn.Pool, status)
	}
	if fn, err := e.reg.Get(t.Context(), "beta"); err != nil || fn.Pool != nil {
		t.Errorf("Get(beta) pool = %+v (%v), want none: the pool does not know it", fn.Pool, err)
	}
	if _, err := e.reg.Get(t.Context(), "gamma"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get(gamma) = %v, want store.ErrNotFound", err)
	}

	fns, err := e.reg.List(t.Context(), store.FunctionPage{})
	if err != nil {
		t.Fatal(err)
	}
	if len(fns) != 2 || fns[0].Name != "alpha" || fns[1].Name != "beta" {
		t.Fatalf("List = %+v, want alpha and beta in order", fns)
	}
	for _, fn := range fns {
		if fn.URL != baseURL+"/invoke/"+fn.Name || !reflect.DeepEqual(fn.Version.Spec, wantSpec(fn.Name)) || fn.Pool != nil {
			t.Errorf("List item %s = url %q spec %+v pool %v, want decorated without pool", fn.Name, fn.URL, fn.Version.Spec, fn.Pool)
		}
	}
}

func TestConcurrentDeploysOfOneFunction(t *testing.T) {
	e := newEnv(t, 0)
	const n = 5
	var wg sync.WaitGroup
	errs := make([]error, n)
	srcs := make([][]byte, n)
	for i := range n {
		srcs[i] = pack(t, source(helloYAML, fmt.Sprintf("package main // %d\n", i)))
	}
	for i := range n {
		wg.Go(func() {
			_, _, errs[i] = e.reg.Deploy(context.Background(), "hello", bytes.NewReader(srcs[i]), nil)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("deploy %d: %v", i, err)
		}
	}
	if got := versionNumbers(t, e, "hello"); !reflect.DeepEqual(got, []int{5, 4, 3, 2, 1}) {
		t.Errorf("versions = %v, want 5..1", got)
	}
	if n := len(e.pool.Applied()); n != 5 {
		t.Errorf("pool.Apply called %d times, want 5", n)
	}
}
