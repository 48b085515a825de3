package sqlstore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/store"
	"github.com/hearthfn/hearth/scheduler/store/sqlstore"
	"github.com/hearthfn/hearth/scheduler/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, openFresh)
}

func TestAliasesConformance(t *testing.T) {
	storetest.RunAliases(t, openFresh)
}

func TestTokensConformance(t *testing.T) {
	storetest.RunTokens(t, openFresh)
}

func TestSecretsConformance(t *testing.T) {
	storetest.RunSecrets(t, openFresh)
}

// openFresh opens a new, empty store that is closed when the test ends.
func openFresh(t *testing.T) store.Store {
	s, err := sqlstore.Open(context.Background(), filepath.Join(t.TempDir(), "hearth.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestCallsConformance(t *testing.T) {
	storetest.RunCalls(t, fileStorage)
}

func TestNodesConformance(t *testing.T) {
	storetest.RunNodes(t, fileStorage)
}

func TestTriggersConformance(t *testing.T) { storetest.RunTriggers(t, fileStorage) }

// fileStorage is one SQLite file in a fresh directory; every store opened on it is closed when
// the test ends.
func fileStorage(t *testing.T) storetest.Storage {
	path := filepath.Join(t.TempDir(), "hearth.db")
	return func() store.Store {
		s, err := sqlstore.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
}

// TestReopenKeepsData checks that data survives a restart and that migrations run once.
func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hearth.db")
	s, err := sqlstore.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddVersion(ctx, "keep", api.Version{Image: "i", SourceHash: "h", Spec: api.FunctionSpec{Runtime: "go"}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlstore.Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	f, err := s.GetFunction(ctx, "keep")
	if err != nil || f.Version.Image != "i" {
		t.Fatalf("after reopen: %+v, %v", f, err)
	}
}
