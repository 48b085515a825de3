package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/store"
)

// runPages checks the paging of ListFunctions and ListVersions, and GetVersion.
func runPages(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("FunctionPages", func(t *testing.T) {
		s, ctx := open(t), context.Background()
		var want []string
		for i := range 7 {
			n := fmt.Sprintf("fn-%d", 6-i) // added out of order: the page's order is the names'
			if _, err := s.AddVersion(ctx, n, version("img", "h")); err != nil {
				t.Fatal(err)
			}
			want = append(want, n)
		}
		slices.Sort(want)
		var got []string
		after := ""
		for pages := 0; ; pages++ {
			if pages > 4 {
				t.Fatalf("pages of 3 never end: %v", got)
			}
			fs, err := s.ListFunctions(ctx, store.FunctionPage{After: after, Limit: 3})
			if err != nil {
				t.Fatal(err)
			}
			if len(fs) > 3 {
				t.Fatalf("a page of at most 3 has %d functions", len(fs))
			}
			if len(fs) == 0 {
				break
			}
			for _, f := range fs {
				got = append(got, f.Name)
			}
			after = fs[len(fs)-1].Name
		}
		if !slices.Equal(got, want) {
			t.Fatalf("pages of 3 = %v, want %v", got, want)
		}
		fs, err := s.ListFunctions(ctx, store.FunctionPage{Names: []string{"fn-5", "fn-1", "unknown"}})
		if err != nil || len(fs) != 2 || fs[0].Name != "fn-1" || fs[1].Name != "fn-5" {
			t.Fatalf("Names fn-5, fn-1 and an unknown one = %+v, %v; want fn-1 and fn-5", fs, err)
		}
		fs, err = s.ListFunctions(ctx, store.FunctionPage{Names: []string{"fn-1", "fn-3", "fn-5"}, After: "fn-1", Limit: 1})
		if err != nil || len(fs) != 1 || fs[0].Name != "fn-3" {
			t.Fatalf("Names after fn-1, limit 1 = %+v, %v; want fn-3", fs, err)
		}
		if fs, err = s.ListFunctions(ctx, store.FunctionPage{Names: []string{}}); err != nil || len(fs) != 0 {
			t.Fatalf("empty Names = %+v, %v; want none", fs, err)
		}
	})
	t.Run("VersionPages", func(t *testing.T) {
		s, ctx := open(t), context.Background()
		for i := range 5 {
			if _, err := s.AddVersion(ctx, "hello", version(fmt.Sprintf("img:%d", i+1), "h")); err != nil {
				t.Fatal(err)
			}
		}
		numbers := func(vs []api.Version) []int {
			var out []int
			for _, v := range vs {
				out = append(out, v.Number)
			}
			return out
		}
		for _, c := range []struct {
			page store.VersionPage
			want []int
		}{
			{store.VersionPage{}, []int{5, 4, 3, 2, 1}},
			{store.VersionPage{Limit: 2}, []int{5, 4}},
			{store.VersionPage{Before: 4, Limit: 2}, []int{3, 2}},
			{store.VersionPage{Before: 2, Limit: 2}, []int{1}},
			{store.VersionPage{Before: 1, Limit: 2}, nil},
		} {
			vs, err := s.ListVersions(ctx, "hello", c.page)
			if err != nil || !slices.Equal(numbers(vs), c.want) {
				t.Errorf("ListVersions %+v = %v, %v; want %v", c.page, numbers(vs), err, c.want)
			}
		}
		if _, err := s.ListVersions(ctx, "nope", store.VersionPage{Before: 3, Limit: 2}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a page of an unknown function's versions: want ErrNotFound, got %v", err)
		}
		v, err := s.GetVersion(ctx, "hello", 3)
		if err != nil || v.Number != 3 || v.Image != "img:3" || v.Spec.Runtime != "go" {
			t.Errorf("GetVersion 3 = %+v, %v", v, err)
		}
		if _, err := s.GetVersion(ctx, "hello", 9); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetVersion of an unknown version: want ErrNotFound, got %v", err)
		}
	})
}
