package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/store"
)

// RunAliases checks the AliasStore contract (and the alias and version fields of call records)
// against stores made by open; each subtest gets a fresh, empty store.
func RunAliases(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("SetCurrent", func(t *testing.T) {
		s, ctx := open(t), context.Background()
		for _, img := range []string{"img:1", "img:2", "img:3"} {
			if _, err := s.AddVersion(ctx, "hello", version(img, img)); err != nil {
				t.Fatal(err)
			}
		}
		f, err := s.SetCurrent(ctx, "hello", 1)
		if err != nil {
			t.Fatal(err)
		}
		if f.Version.Number != 1 || f.Version.Image != "img:1" {
			t.Fatalf("SetCurrent 1: got version %+v", f.Version)
		}
		if f, err = s.GetFunction(ctx, "hello"); err != nil || f.Version.Number != 1 {
			t.Fatalf("GetFunction after a rollback: version %d, %v; want 1", f.Version.Number, err)
		}
		if fs, err := s.ListFunctions(ctx, store.FunctionPage{}); err != nil || len(fs) != 1 || fs[0].Version.Number != 1 {
			t.Fatalf("ListFunctions after a rollback: %+v, %v", fs, err)
		}
		// A new version is numbered past the newest, not past the current, and becomes current.
		if f, err = s.AddVersion(ctx, "hello", version("img:4", "h4")); err != nil || f.Version.Number != 4 {
			t.Fatalf("AddVersion after a rollback: version %d, %v; want 4", f.Version.Number, err)
		}
		if _, err := s.SetCurrent(ctx, "hello", 9); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("SetCurrent to an unknown version: want ErrNotFound, got %v", err)
		}
		if _, err := s.SetCurrent(ctx, "nope", 1); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("SetCurrent of an unknown function: want ErrNotFound, got %v", err)
		}
	})
	t.Run("Aliases", func(t *testing.T) {
		s, ctx := open(t), context.Background()
		for _, img := range []string{"img:1", "img:2"} {
			if _, err := s.AddVersion(ctx, "hello", version(img, img)); err != nil {
				t.Fatal(err)
			}
		}
		at := time.Unix(1700000000, 0).UTC()
		live := api.Alias{Name: "live", Weights: []api.AliasWeight{{Version: 1, Weight: 90}, {Version: 2, Weight: 10}}, UpdatedAt: at}
		for _, a := range []api.Alias{live, {Name: "beta", Weights: []api.AliasWeight{{Version: 2, Weight: 100}}}} {
			if err := s.PutAlias(ctx, "hello", a); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.SetDefaultAlias(ctx, "hello", "live"); err != nil {
			t.Fatal(err)
		}
		as, err := s.ListAliases(ctx, "hello")
		if err != nil {
			t.Fatal(err)
		}
		if len(as) != 2 || as[0].Name != "beta" || as[1].Name != "live" || as[0].Default || !as[1].Default ||
			api.FormatWeights(as[1].Weights) != "1=90 2=10" || !as[1].UpdatedAt.Equal(at) || as[0].UpdatedAt.IsZero() {
			t.Fatalf("ListAliases: got %+v", as)
		}
		if f, err := s.GetFunction(ctx, "hello"); err != nil || f.DefaultAlias != "live" {
			t.Fatalf("GetFunction: default alias %q, %v; want live", f.DefaultAlias, err)
		}
		// Replacing keeps one alias of the name.
		live.Weights = []api.AliasWeight{{Version: 2, Weight: 100}}
		if err := s.PutAlias(ctx, "hello", live); err != nil {
			t.Fatal(err)
		}
		if as, _ = s.ListAliases(ctx, "hello"); len(as) != 2 || api.FormatWeights(as[1].Weights) != "2=100" {
			t.Fatalf("after replacing live: %+v", as)
		}
		// Deleting the default alias clears the default.
		if err := s.DeleteAlias(ctx, "hello", "live"); err != nil {
			t.Fatal(err)
		}
		if f, _ := s.GetFunction(ctx, "hello"); f.DefaultAlias != "" {
			t.Fatalf("default alias after deleting it: %q", f.DefaultAlias)
		}
		if err := s.SetDefaultAlias(ctx, "hello", "beta"); err != nil {
			t.Fatal(err)
		}
		if err := s.SetDefaultAlias(ctx, "hello", ""); err != nil {
			t.Fatal(err)
		}
		if f, _ := s.GetFunction(ctx, "hello"); f.DefaultAlias != "" {
			t.Fatalf("default alias after clearing it: %q", f.DefaultAlias)
		}
		// Aliases go with their function.
		if err := s.DeleteFunction(ctx, "hello"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddVersion(ctx, "hello", version("img:1", "h")); err != nil {
			t.Fatal(err)
		}
		if as, err := s.ListAliases(ctx, "hello"); err != nil || len(as) != 0 {
			t.Fatalf("aliases of a function deployed again after a delete: %+v, %v", as, err)
		}
	})
	t.Run("NotFound", func(t *testing.T) {
		s, ctx := open(t), context.Background()
		a := api.Alias{Name: "live", Weights: []api.AliasWeight{{Version: 1, Weight: 100}}}
		if err := s.PutAlias(ctx, "nope", a); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("PutAlias of an unknown function: want ErrNotFound, got %v", err)
		}
		if _, err := s.ListAliases(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("ListAliases of an unknown function: want ErrNotFound, got %v", err)
		}
		if _, err := s.AddVersion(ctx, "hello", version("img", "h")); err != nil {
			t.Fatal(err)
		}
		if as, err := s.ListAliases(ctx, "hello"); err != nil || as == nil || len(as) != 0 {
			t.Errorf("ListAliases of a function without aliases: want [], got %#v, %v", as, err)
		}
		if err := s.DeleteAlias(ctx, "hello", "live"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("DeleteAlias of an unknown alias: want ErrNotFound, got %v", err)
		}
		if err := s.SetDefaultAlias(ctx, "hello", "live"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("SetDefaultAlias to an unknown alias: want ErrNotFound, got %v", err)
		}
		if err := s.SetDefaultAlias(ctx, "nope", ""); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("SetDefaultAlias of an unknown function: want ErrNotFound, got %v", err)
		}
	})
	t.Run("CallsByVersionAndAlias", func(t *testing.T) {
		s, ctx := open(t), context.Background()
		base := time.Unix(1700000000, 0).UTC()
		var calls []api.Call
		for i, v := range []int{1, 2, 1, 2, 2} {
			c := api.Call{ID: string(rune('a' + i)), Function: "hello", Version: v, Status: api.CallSucceeded,
				CreatedAt: base.Add(time.Duration(i) * time.Second), FinishedAt: base.Add(time.Duration(i) * time.Second)}
			if i%2 == 0 {
				c.Alias = "live"
			}
			calls = append(calls, c)
		}
		if err := s.RecordCalls(ctx, calls); err != nil {
			t.Fatal(err)
		}
		got, err := s.ListCalls(ctx, store.CallFilter{Function: "hello", Version: 2})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 || got[0].ID != "e" || got[1].ID != "d" || got[2].ID != "b" {
			t.Fatalf("calls of version 2: got %+v", got)
		}
		if got[0].Alias != "live" || got[1].Alias != "" {
			t.Fatalf("aliases of the calls: got %q and %q, want live and none", got[0].Alias, got[1].Alias)
		}
		c, err := s.GetCall(ctx, "a")
		if err != nil || c.Alias != "live" || c.Version != 1 {
			t.Fatalf("GetCall: %+v, %v", c, err)
		}
		async := api.Call{ID: "q", Function: "hello", Alias: "live", Async: true, Status: api.CallQueued, CreatedAt: base}
		if err := s.EnqueueAsync(ctx, async, store.AsyncRequest{Method: "POST", Path: "/"}, 10); err != nil {
			t.Fatal(err)
		}
		claimed, err := s.ClaimAsync(ctx, base.Add(time.Hour), 10)
		if err != nil || len(claimed) != 1 || claimed[0].Call.Alias != "live" {
			t.Fatalf("ClaimAsync keeps the alias: %+v, %v", claimed, err)
		}
	})
}
