package storetest

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/hearthfn/hearth/scheduler/store"
)

// RunSecrets checks the SecretStore contract against stores made by open; each subtest gets a
// fresh, empty store.
func RunSecrets(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("PutListReplace", func(t *testing.T) {
		s := open(t)
		addFunction(t, s, "hello")
		addFunction(t, s, "other")
		put(t, s, store.SecretRecord{Function: "hello", Key: "B_KEY", Sealed: []byte{0, 1, 2}, UpdatedAt: at(1)})
		put(t, s, store.SecretRecord{Function: "hello", Key: "A_KEY", Sealed: []byte("sealed-a"), UpdatedAt: at(2)})
		put(t, s, store.SecretRecord{Function: "other", Key: "A_KEY", Sealed: []byte("other-a"), UpdatedAt: at(3)})
		got := listSecrets(t, s, "hello")
		if len(got) != 2 || got[0].Key != "A_KEY" || got[1].Key != "B_KEY" {
			t.Fatalf("list sorted by key: got %+v", got)
		}
		if got[0].Function != "hello" || !bytes.Equal(got[0].Sealed, []byte("sealed-a")) || !got[0].UpdatedAt.Equal(at(2)) {
			t.Fatalf("stored as given: got %+v", got[0])
		}
		if !bytes.Equal(got[1].Sealed, []byte{0, 1, 2}) {
			t.Fatalf("binary values kept byte for byte: got %v", got[1].Sealed)
		}
		put(t, s, store.SecretRecord{Function: "hello", Key: "A_KEY", Sealed: []byte("sealed-a2"), UpdatedAt: at(4)})
		got = listSecrets(t, s, "hello")
		if len(got) != 2 || !bytes.Equal(got[0].Sealed, []byte("sealed-a2")) || !got[0].UpdatedAt.Equal(at(4)) {
			t.Fatalf("put again replaces: got %+v", got)
		}
		if o := listSecrets(t, s, "other"); len(o) != 1 || !bytes.Equal(o[0].Sealed, []byte("other-a")) {
			t.Fatalf("another function's secret of the same key is apart: got %+v", o)
		}
	})
	t.Run("UnknownFunction", func(t *testing.T) {
		s, ctx := open(t), context.Background()
		err := s.PutSecret(ctx, store.SecretRecord{Function: "nope", Key: "K", Sealed: []byte("x"), UpdatedAt: at(1)})
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("put for an unknown function: %v, want ErrNotFound", err)
		}
		if got := listSecrets(t, s, "nope"); got == nil || len(got) != 0 {
			t.Fatalf("list of an unknown function: want an empty slice, got %#v", got)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		s, ctx := open(t), context.Background()
		addFunction(t, s, "hello")
		put(t, s, store.SecretRecord{Function: "hello", Key: "K", Sealed: []byte("x"), UpdatedAt: at(1)})
		if err := s.DeleteSecret(ctx, "hello", "K"); err != nil {
			t.Fatal(err)
		}
		if got := listSecrets(t, s, "hello"); len(got) != 0 {
			t.Fatalf("after delete: %+v", got)
		}
		if err := s.DeleteSecret(ctx, "hello", "K"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("delete twice: %v, want ErrNotFound", err)
		}
	})
	t.Run("DeletingTheFunctionDeletesItsSecrets", func(t *testing.T) {
		s, ctx := open(t), context.Background()
		addFunction(t, s, "gone")
		put(t, s, store.SecretRecord{Function: "gone", Key: "K", Sealed: []byte("x"), UpdatedAt: at(1)})
		if err := s.DeleteFunction(ctx, "gone"); err != nil {
			t.Fatal(err)
		}
		addFunction(t, s, "gone")
		if got := listSecrets(t, s, "gone"); len(got) != 0 {
			t.Fatalf("a function made again under the same name inherits no secret: %+v", got)
		}
	})
}

func addFunction(t *testing.T, s store.Store, name string) {
	t.Helper()
	if _, err := s.AddVersion(context.Background(), name, version("img", "h")); err != nil {
		t.Fatal(err)
	}
}

func put(t *testing.T, s store.Store, r store.SecretRecord) {
	t.Helper()
	if err := s.PutSecret(context.Background(), r); err != nil {
		t.Fatal(err)
	}
}

func listSecrets(t *testing.T, s store.Store, function string) []store.SecretRecord {
	t.Helper()
	got, err := s.ListSecrets(context.Background(), function)
	if err != nil {
		t.Fatal(err)
	}
	return got
}
