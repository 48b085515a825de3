package main

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/hearthfn/hearth/scheduler/store"
	"github.com/hearthfn/hearth/scheduler/store/sqlstore"
)

// TestSeedStore: the dashboard row's store holds the functions and the calls it was asked for,
// in a form the server reads (functions with a current version, calls listed newest first).
func TestSeedStore(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hearth.db")
	if err := seedStore(ctx, path, 20, 2500); err != nil {
		t.Fatal(err)
	}
	st, err := sqlstore.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	fns, err := st.ListFunctions(ctx, store.FunctionPage{})
	if err != nil || len(fns) != 20 {
		t.Fatalf("ListFunctions: %d functions, %v; want 20", len(fns), err)
	}
	if fns[0].Version.Number != 1 || fns[0].Version.Spec.Name != fns[0].Name {
		t.Errorf("seeded function %+v", fns[0])
	}
	total, before := 0, ""
	for {
		page, err := st.ListCalls(ctx, store.CallFilter{Before: before, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		total += len(page)
		if len(page) < 1000 {
			break
		}
		before = page[len(page)-1].ID
	}
	if total != 2500 {
		t.Errorf("%d calls stored, want 2500", total)
	}
}
