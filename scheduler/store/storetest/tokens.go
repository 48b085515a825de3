package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/store"
)

// RunTokens checks the TokenStore contract against stores made by open; each subtest gets a
// fresh, empty store.
func RunTokens(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("CreateGetList", func(t *testing.T) {
		s, ctx := open(t), context.Background()
		a := tokenRecord("aaaa", api.RoleAdmin, nil, at(1))
		b := tokenRecord("bbbb", api.RoleInvoker, []string{"hello", "greet"}, at(2))
		b.ExpiresAt = at(100)
		for _, r := range []store.TokenRecord{b, a} {
			if err := s.CreateToken(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.GetToken(ctx, "bbbb")
		if err != nil {
			t.Fatal(err)
		}
		sameToken(t, got, b)
		all, err := s.ListTokens(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 2 || all[0].ID != "aaaa" || all[1].ID != "bbbb" {
			t.Fatalf("list oldest first: got %+v", all)
		}
		sameToken(t, all[0], a)
		if err := s.CreateToken(ctx, a); err == nil {
			t.Fatal("a second token with the same id was stored")
		}
	})
	t.Run("DeleteAndNotFound", func(t *testing.T) {
		s, ctx := open(t), context.Background()
		if err := s.CreateToken(ctx, tokenRecord("cccc", api.RoleViewer, nil, at(1))); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteToken(ctx, "cccc"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetToken(ctx, "cccc"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("get of a deleted token: %v, want ErrNotFound", err)
		}
		if err := s.DeleteToken(ctx, "cccc"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("delete twice: %v, want ErrNotFound", err)
		}
		if all, err := s.ListTokens(ctx); err != nil || len(all) != 0 {
			t.Fatalf("list after delete: %v, %v", all, err)
		}
	})
	t.Run("TouchKeepsTheLatest", func(t *testing.T) {
		s, ctx := open(t), context.Background()
		if err := s.CreateToken(ctx, tokenRecord("dddd", api.RoleDeployer, []string{"x"}, at(1))); err != nil {
			t.Fatal(err)
		}
		if err := s.TouchTokens(ctx, map[string]time.Time{"dddd": at(50), "unknown": at(60)}); err != nil {
			t.Fatal(err)
		}
		if err := s.TouchTokens(ctx, map[string]time.Time{"dddd": at(40)}); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetToken(ctx, "dddd")
		if err != nil {
			t.Fatal(err)
		}
		if !got.LastUsedAt.Equal(at(50)) {
			t.Fatalf("last used: got %v, want %v (the later of two touches)", got.LastUsedAt, at(50))
		}
	})
}

func tokenRecord(id string, role api.Role, fns []string, created time.Time) store.TokenRecord {
	return store.TokenRecord{
		Token: api.Token{ID: id, Name: "token " + id, Role: role, Functions: fns, CreatedAt: created},
		Hash:  "hash-of-" + id,
	}
}

func sameToken(t *testing.T, got, want store.TokenRecord) {
	t.Helper()
	if got.ID != want.ID || got.Name != want.Name || got.Role != want.Role || got.Hash != want.Hash ||
		!slices.Equal(got.Functions, want.Functions) || !got.CreatedAt.Equal(want.CreatedAt) ||
		!got.ExpiresAt.Equal(want.ExpiresAt) || !got.LastUsedAt.Equal(want.LastUsedAt) {
		t.Fatalf("token:\n got %+v\nwant %+v", got, want)
	}
}
