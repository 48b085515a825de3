package registry_test

import (
	"errors"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/registry"
	"github.com/hearthfn/hearth/scheduler/store"
)

// deployN deploys n different versions of hello.
func deployN(t *testing.T, e *env, n int) {
	t.Helper()
	for i := range n {
		if _, _, _, err := e.deploy(t, "hello", source(helloYAML, "package main // v"+string(rune('1'+i))+"\n")); err != nil {
			t.Fatal(err)
		}
	}
}

// appliedNames are the pool entries the registry applied, in order.
func appliedNames(p *fakePool) []string {
	var names []string
	for _, fn := range p.Applied() {
		names = append(names, fn.Name)
	}
	return names
}

func TestRollback(t *testing.T) {
	e := newEnv(t, 0)
	deployN(t, e, 3)
	ctx := t.Context()

	fn, was, err := e.reg.Rollback(ctx, "hello", 0)
	if err != nil {
		t.Fatal(err)
	}
	if fn.Version.Number != 2 || was != 3 || fn.URL != baseURL+"/invoke/hello" {
		t.Fatalf("Rollback(0) = version %d (was %d), want 2 (was 3)", fn.Version.Number, was)
	}
	applied := e.pool.Applied()
	if last := applied[len(applied)-1]; last.Name != "hello" || last.Version.Number != 2 {
		t.Fatalf("the pool was last given %s v%d, want hello v2", last.Name, last.Version.Number)
	}
	if cur, _ := e.reg.Get(ctx, "hello"); cur.Version.Number != 2 {
		t.Fatalf("Get after the rollback: version %d, want 2", cur.Version.Number)
	}
	vs, err := e.reg.Versions(ctx, "hello", store.VersionPage{})
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 3 || vs[0].Current || !vs[1].Current || vs[2].Current {
		t.Fatalf("Versions marks the wrong current one: %+v", vs)
	}
	if fn, _, err = e.reg.Rollback(ctx, "hello", 0); err != nil || fn.Version.Number != 1 {
		t.Fatalf("a second Rollback(0): version %d, %v; want 1", fn.Version.Number, err)
	}
	if fn, _, err = e.reg.Rollback(ctx, "hello", 3); err != nil || fn.Version.Number != 3 {
		t.Fatalf("Rollback(3), forward again: version %d, %v", fn.Version.Number, err)
	}

	// A settings change starts from the current version, and a deploy numbers past the newest.
	if _, _, err := e.reg.Rollback(ctx, "hello", 1); err != nil {
		t.Fatal(err)
	}
	q := 7
	fn, err = e.reg.Configure(ctx, "hello", api.ConfigPatch{Queue: &q})
	if err != nil {
		t.Fatal(err)
	}
	v1, _ := e.store.ListVersions(ctx, "hello", store.VersionPage{})
	if fn.Version.Number != 4 || fn.Version.Image != v1[len(v1)-1].Image {
		t.Fatalf("Configure after a rollback to 1: version %d image %s, want 4 with version 1's image %s",
			fn.Version.Number, fn.Version.Image, v1[len(v1)-1].Image)
	}

	for _, tc := range []struct {
		version int
		want    string
	}{
		{4, "version 4 of hello is current already"},
		{9, "hello has no version 9 (its versions are 1 to 4: hearth versions hello)"},
		{-1, "version -1: versions are numbered from 1"},
	} {
		_, _, err := e.reg.Rollback(ctx, "hello", tc.version)
		var re *registry.RequestError
		if !errors.As(err, &re) || re.Field != "version" || err.Error() != tc.want || !errors.Is(err, registry.ErrInvalidRequest) {
			t.Errorf("Rollback(%d): %v, want a RequestError on version saying %q", tc.version, err, tc.want)
		}
	}
	if _, _, err := e.reg.Rollback(ctx, "nope", 0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Rollback of an unknown function: %v, want ErrNotFound", err)
	}
}

func TestRollbackWithNoOlderVersion(t *testing.T) {
	e := newEnv(t, 0)
	deployN(t, e, 1)
	_, _, err := e.reg.Rollback(t.Context(), "hello", 0)
	var re *registry.RequestError
	if !errors.As(err, &re) || re.Field != "version" || err.Error() != "hello has no version older than its current version 1 to roll back to" {
		t.Fatalf("Rollback(0) of a function with one version: %v", err)
	}
}

func TestAliasesApplyExtraEntries(t *testing.T) {
	e := newEnv(t, 0)
	deployN(t, e, 3)
	ctx := t.Context()
	e.pool.statuses["hello"] = api.PoolStatus{Instances: []api.InstanceStatus{{ID: "a", Version: 3, StartedAt: time.Unix(2, 0)}}}
	e.pool.statuses["hello@1"] = api.PoolStatus{Instances: []api.InstanceStatus{{ID: "b", Version: 1, StartedAt: time.Unix(1, 0)}}}

	a, err := e.reg.SetAlias(ctx, "hello", "live", []api.AliasWeight{{Version: 1, Weight: 90}, {Version: 3, Weight: 10}})
	if err != nil {
		t.Fatal(err)
	}
	if a.Name != "live" || api.FormatWeights(a.Weights) != "1=90 3=10" || a.UpdatedAt.IsZero() {
		t.Fatalf("SetAlias = %+v", a)
	}
	// Version 1 gets an entry of its own; 3 is current and served by "hello".
	if got := appliedNames(e.pool); got[len(got)-1] != "hello@1" || slices.Contains(got, "hello@3") {
		t.Fatalf("entries applied: %v, want hello@1 last and no hello@3", got)
	}
	entry := e.pool.Applied()[len(e.pool.Applied())-1]
	if entry.Version.Number != 1 {
		t.Fatalf("hello@1 runs version %d", entry.Version.Number)
	}
	rs := e.reg.Routing("hello")
	if rs.Current != 3 || rs.Default != "" || api.FormatWeights(rs.Aliases["live"]) != "1=90 3=10" {
		t.Fatalf("Routing = %+v", rs)
	}
	fn, err := e.reg.Get(ctx, "hello")
	if err != nil {
		t.Fatal(err)
	}
	if len(fn.Aliases) != 1 || fn.Aliases[0].Name != "live" || fn.Pool == nil || len(fn.Pool.Instances) != 2 ||
		fn.Pool.Instances[0].ID != "b" || fn.Pool.Instances[1].ID != "a" {
		t.Fatalf("Get merges the aliases and both entries' instances (oldest first): %+v %+v", fn.Aliases, fn.Pool)
	}
	vs, _ := e.reg.Versions(ctx, "hello", store.VersionPage{})
	if !slices.Equal(vs[0].Aliases, []string{"live"}) || vs[1].Aliases != nil || !slices.Equal(vs[2].Aliases, []string{"live"}) {
		t.Fatalf("Versions names the aliases: %+v", vs)
	}

	// Rolling back to 1 makes "hello" serve it: its extra entry goes.
	if _, _, err := e.reg.Rollback(ctx, "hello", 1); err != nil {
		t.Fatal(err)
	}
	if got := e.pool.Removed(); !slices.Equal(got, []string{"hello@1"}) {
		t.Fatalf("removed after the rollback: %v, want hello@1", got)
	}
	// ...and version 3, which the alias still routes to, gets one.
	if got := appliedNames(e.pool); got[len(got)-1] != "hello@3" {
		t.Fatalf("entries applied: %v, want hello@3 last", got)
	}

	// The default alias: it cannot be deleted while it is the default.
	fn, err = e.reg.SetDefaultAlias(ctx, "hello", "live")
	if err != nil || fn.DefaultAlias != "live" || e.reg.Routing("hello").Default != "live" {
		t.Fatalf("SetDefaultAlias: %+v, %v", fn.DefaultAlias, err)
	}
	if err := e.reg.DeleteAlias(ctx, "hello", "live"); !errors.Is(err, registry.ErrConflict) {
		t.Fatalf("deleting the default alias: %v, want ErrConflict", err)
	}
	if _, err := e.reg.SetDefaultAlias(ctx, "hello", ""); err != nil {
		t.Fatal(err)
	}
	if err := e.reg.DeleteAlias(ctx, "hello", "live"); err != nil {
		t.Fatal(err)
	}
	if got := e.pool.Removed(); !slices.Equal(got, []string{"hello@1", "hello@3"}) {
		t.Fatalf("removed once no alias routes to 3: %v", got)
	}
	if rs := e.reg.Routing("hello"); len(rs.Aliases) != 0 || rs.Current != 1 {
		t.Fatalf("Routing after the alias went: %+v", rs)
	}
}

func TestAliasErrors(t *testing.T) {
	e := newEnv(t, 0)
	deployN(t, e, 2)
	ctx := t.Context()
	for _, tc := range []struct {
		alias   string
		weights []api.AliasWeight
		field   string
		want    string
	}{
		{"live", []api.AliasWeight{{Version: 1, Weight: 60}, {Version: 2, Weight: 50}}, "weights", "the weights add up to 110, not 100 (1=60 2=50)"},
		{"live", []api.AliasWeight{{Version: 7, Weight: 100}}, "weights", "function hello has no version 7 (its versions are 1 to 2: hearth versions hello)"},
		{"live", nil, "weights", "an alias needs at least one version, such as 3=100"},
		{"3", []api.AliasWeight{{Version: 1, Weight: 100}}, "alias", `alias "3" must start with a lowercase letter and have up to 32 lowercase letters, digits and '-' (a number names a version, not an alias)`},
	} {
		_, err := e.reg.SetAlias(ctx, "hello", tc.alias, tc.weights)
		var ae *api.AliasError
		if !errors.As(err, &ae) || ae.Field != tc.field || err.Error() != tc.want {
			t.Errorf("SetAlias(%s, %s): %v, want %s: %q", tc.alias, api.FormatWeights(tc.weights), err, tc.field, tc.want)
		}
	}
	if _, err := e.reg.SetAlias(ctx, "nope", "live", []api.AliasWeight{{Version: 1, Weight: 100}}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetAlias of an unknown function: %v", err)
	}
	if err := e.reg.DeleteAlias(ctx, "hello", "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteAlias of an unknown alias: %v", err)
	}
	if _, err := e.reg.SetDefaultAlias(ctx, "hello", "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetDefaultAlias to an unknown alias: %v", err)
	}
}

func TestPin(t *testing.T) {
	e := newEnv(t, 0)
	deployN(t, e, 3)
	ctx := t.Context()
	if entry, err := e.reg.Pin(ctx, "hello", 3); err != nil || entry != "hello" {
		t.Fatalf("Pin of the current version: %q, %v", entry, err)
	}
	before := len(e.pool.Applied())
	entry, err := e.reg.Pin(ctx, "hello", 1)
	if err != nil || entry != "hello@1" {
		t.Fatalf("Pin(1): %q, %v", entry, err)
	}
	applied := e.pool.Applied()
	if len(applied) != before+1 || applied[before].Name != "hello@1" || applied[before].Version.Number != 1 {
		t.Fatalf("Pin(1) applied %v", appliedNames(e.pool)[before:])
	}
	// Pinned only: no instance is kept warm for it.
	if applied[before].Version.Spec.MinInstances != 0 {
		t.Fatalf("a pinned entry keeps %d instances warm", applied[before].Version.Spec.MinInstances)
	}
	if _, err := e.reg.Pin(ctx, "hello", 1); err != nil || len(e.pool.Applied()) != before+1 {
		t.Fatalf("a second Pin(1) applied again (%v)", err)
	}
	// A deploy keeps the pinned entry; a delete removes it.
	deployN(t, e, 1)
	if slices.Contains(e.pool.Removed(), "hello@1") {
		t.Fatal("a deploy removed the pinned entry")
	}
	if _, err := e.reg.Pin(ctx, "hello", 9); !errors.Is(err, store.ErrNotFound) || err.Error() != "function hello has no version 9 (its newest is 4)" {
		t.Fatalf("Pin(9): %v", err)
	}
	if err := e.reg.Delete(ctx, "hello"); err != nil {
		t.Fatal(err)
	}
	if got := e.pool.Removed(); !slices.Contains(got, "hello") || !slices.Contains(got, "hello@1") {
		t.Fatalf("removed by the delete: %v", got)
	}
	if rs := e.reg.Routing("hello"); rs.Current != 0 {
		t.Fatalf("Routing after the delete: %+v", rs)
	}
}

func TestRestoreAppliesAliasEntries(t *testing.T) {
	e := newEnv(t, 0)
	deployN(t, e, 2)
	ctx := t.Context()
	if _, err := e.reg.SetAlias(ctx, "hello", "live", []api.AliasWeight{{Version: 1, Weight: 50}, {Version: 2, Weight: 50}}); err != nil {
		t.Fatal(err)
	}
	// A new registry on the same store, as at a server start.
	p := &fakePool{statuses: map[string]api.PoolStatus{}}
	reg := registry.New(registry.Config{BaseURL: baseURL, WorkDir: t.TempDir()}, e.store, e.builder, p, slog.New(slog.DiscardHandler))
	if err := reg.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	if got := appliedNames(p); !slices.Equal(got, []string{"hello", "hello@1"}) {
		t.Fatalf("Restore applied %v, want hello then hello@1", got)
	}
	if rs := reg.Routing("hello"); rs.Current != 2 || len(rs.Aliases["live"]) != 2 {
		t.Fatalf("Routing after Restore: %+v", rs)
	}
}
