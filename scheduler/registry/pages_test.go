package registry_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/registry"
	"github.com/hearthfn/hearth/scheduler/store"
)

// Restore reads the store in pages; every function reaches the pool, in order, once.
func TestRestoreReadsEveryPage(t *testing.T) {
	e := newEnv(t, 0)
	var want []string
	for i := range 1001 {
		name := fmt.Sprintf("fn-%04d", i)
		if _, err := e.store.AddVersion(t.Context(), name, api.Version{Image: "img", Spec: api.FunctionSpec{Name: name, Runtime: "go"}}); err != nil {
			t.Fatal(err)
		}
		want = append(want, name)
	}
	if err := e.reg.Restore(t.Context()); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, fn := range e.pool.Applied() {
		got = append(got, fn.Name)
	}
	if !slices.Equal(got, want) {
		t.Errorf("Restore applied %d functions (first %v), want the %d stored in order", len(got), got[:min(3, len(got))], len(want))
	}
}

func TestVersionsPage(t *testing.T) {
	e := newEnv(t, 0)
	for i := range 4 {
		if _, _, _, err := e.deploy(t, "hello", source("name: hello\nruntime: go\n", fmt.Sprintf("// v%d", i+1))); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := e.reg.Rollback(t.Context(), "hello", 2); err != nil {
		t.Fatal(err)
	}
	vs, err := e.reg.Versions(t.Context(), "hello", store.VersionPage{Before: 4, Limit: 2})
	if err != nil || len(vs) != 2 || vs[0].Number != 3 || vs[1].Number != 2 || vs[0].Current || !vs[1].Current {
		t.Fatalf("versions below 4, 2 of them = %+v, %v; want 3 and 2, 2 current", vs, err)
	}
	if vs, err = e.reg.Versions(t.Context(), "hello", store.VersionPage{Before: 1}); err != nil || len(vs) != 0 {
		t.Errorf("versions below 1 = %+v, %v; want none and no error", vs, err)
	}
}

// listingStore fails the test when a deploy, a GET or a pinned call reads a whole list: those
// must cost the same with 1,000 functions (or versions) as with 10.
type listingStore struct {
	registryStore
	t *testing.T
}

// registryStore is the store the registry takes (registry.Store).
type registryStore interface {
	store.FunctionStore
	store.AliasStore
}

func (s listingStore) ListFunctions(ctx context.Context, page store.FunctionPage) ([]api.Function, error) {
	s.t.Errorf("ListFunctions(%+v) on a path that must not list the functions", page)
	return s.registryStore.ListFunctions(ctx, page)
}

func (s listingStore) ListVersions(ctx context.Context, name string, page store.VersionPage) ([]api.Version, error) {
	if page.Limit <= 0 || page.Limit > 1 {
		s.t.Errorf("ListVersions(%s, %+v) on a path that must read one version at a time", name, page)
	}
	return s.registryStore.ListVersions(ctx, name, page)
}

func TestDeployGetAndPinReadNoList(t *testing.T) {
	e := newEnv(t, 0)
	for i := range 3 {
		if _, _, _, err := e.deploy(t, "hello", source("name: hello\nruntime: go\n", fmt.Sprintf("// v%d", i+1))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.reg.SetAlias(t.Context(), "hello", "canary", []api.AliasWeight{{Version: 3, Weight: 90}, {Version: 1, Weight: 10}}); err != nil {
		t.Fatal(err)
	}
	// The same store, read through the spy, by a registry as a restarted server has it (its
	// start, Restore, lists the functions: that is its job).
	spied := listingStore{registryStore: e.store, t: t}
	strict := &env{store: e.store, builder: &fakeBuilder{workDir: e.workDir}, pool: &fakePool{statuses: map[string]api.PoolStatus{}}, workDir: e.workDir}
	strict.reg = registry.New(registry.Config{BaseURL: baseURL, WorkDir: e.workDir}, spied, strict.builder, strict.pool,
		slog.New(slog.NewTextHandler(t.Output(), nil)))
	ctx := t.Context()
	if _, _, _, err := strict.deploy(t, "hello", source("name: hello\nruntime: go\n", "// v4")); err != nil {
		t.Fatal(err)
	}
	if _, err := strict.reg.Get(ctx, "hello"); err != nil {
		t.Fatal(err)
	}
	if _, err := strict.reg.Pin(ctx, "hello", 2); err != nil {
		t.Fatal(err)
	}
	if _, err := strict.reg.Pin(ctx, "hello", 9); err == nil {
		t.Fatal("Pin of version 9 of 4 worked")
	}
	if _, err := strict.reg.SetAlias(ctx, "hello", "canary", []api.AliasWeight{{Version: 4, Weight: 50}, {Version: 2, Weight: 50}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := strict.reg.Rollback(ctx, "hello", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := strict.reg.Configure(ctx, "hello", api.ConfigPatch{Timeout: ptr(api.Duration(7 * time.Second))}); err != nil {
		t.Fatal(err)
	}
}
