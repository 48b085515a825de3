// Package storetest is the conformance suite for store.Store: every implementation runs it.
// Run checks the FunctionStore contract, RunCalls the CallStore one (with a restart), RunTokens
// the TokenStore one, RunNodes the NodeStore and JoinTokenStore ones.
package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/store"
)

// Run checks the FunctionStore contract against stores made by open; each subtest gets a fresh,
// empty store.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	runPages(t, open)
	t.Run("VersionsNumberFromOne", func(t *testing.T) {
		s, ctx := open(t), context.Background()
		f, err := s.AddVersion(ctx, "hello", version("img:1", "h1"))
		if err != nil {
			t.Fatal(err)
		}
		if f.Name != "hello" || f.Version.Number != 1 || f.Version.Image != "img:1" || f.Version.Spec.Runtime != "go" {
			t.Fatalf("first version: got %+v", f)
		}
		f, err = s.AddVersion(ctx, "hello", version("img:2", "h2"))
		if err != nil {
			t.Fatal(err)
		}
		if f.Version.Number != 2 || f.Version.Image != "img:2" {
			t.Fatalf("second version: got %+v", f.Version)
		}
		vs, err := s.ListVersions(ctx, "hello", store.VersionPage{})
		if err != nil {
			t.Fatal(err)
		}
		if len(vs) != 2 || vs[0].Number != 2 || vs[1].Number != 1 || vs[1].SourceHash != "h1" {
			t.Fatalf("versions newest first: got %+v", vs)
		}
	})
	t.Run("GetAndList", func(t *testing.T) {
		s, ctx := open(t), context.Background()
		for _, n := range []string{"bravo", "alpha"} {
			if _, err := s.AddVersion(ctx, n, version("img", "h")); err != nil {
				t.Fatal(err)
			}
		}
		fs, err := s.ListFunctions(ctx, store.FunctionPage{})
		if err != nil {
			t.Fatal(err)
		}
		if len(fs) != 2 || fs[0].Name != "alpha" || fs[1].Name != "bravo" {
			t.Fatalf("list sorted by name: got %+v", fs)
		}
		f, err := s.GetFunction(ctx, "bravo")
		if err != nil || f.Name != "bravo" || f.Version.Spec.Timeout != api.Duration(5e9) {
			t.Fatalf("get: %+v, %v", f, err)
		}
	})
	t.Run("NotFound", func(t *testing.T) {
		s, ctx := open(t), context.Background()
		if _, err := s.GetFunction(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetFunction: want ErrNotFound, got %v", err)
		}
		if _, err := s.ListVersions(ctx, "nope", store.VersionPage{}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("ListVersions: want ErrNotFound, got %v", err)
		}
		if _, err := s.GetVersion(ctx, "nope", 1); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetVersion of an unknown function: want ErrNotFound, got %v", err)
		}
		if err := s.DeleteFunction(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("DeleteFunction: want ErrNotFound, got %v", err)
		}
	})
	t.Run("DeleteRemovesVersions", func(t *testing.T) {
		s, ctx := open(t), context.Background()
		if _, err := s.AddVersion(ctx, "gone", version("img", "h")); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteFunction(ctx, "gone"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ListVersions(ctx, "gone", store.VersionPage{}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("versions after delete: want ErrNotFound, got %v", err)
		}
		f, err := s.AddVersion(ctx, "gone", version("img", "h"))
		if err != nil || f.Version.Number != 1 {
			t.Fatalf("recreated function starts at version 1: %+v, %v", f, err)
		}
	})
}

func version(image, hash string) api.Version {
	return api.Version{Image: image, SourceHash: hash, Spec: api.FunctionSpec{Name: "x", Runtime: "go", Timeout: api.Duration(5e9)}}
}
