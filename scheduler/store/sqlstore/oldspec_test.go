package sqlstore_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/store/sqlstore"
)

// Rows written before memory and cpu had func.yaml's names hold specs with "memory_mb" and
// "cpu_milli" (millicores). They must still read after an upgrade; new rows use the new names.
func TestSpecsStoredInTheOldFormRead(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hearth.db")
	s, err := sqlstore.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddVersion(ctx, "hello", api.Version{Image: "hearth/hello:abc", SourceHash: "abc", CreatedAt: time.Now(),
		Spec: api.FunctionSpec{Name: "hello", Runtime: "go", MemoryMB: 64, CPUMilli: 250}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var stored string
	if err := db.QueryRowContext(ctx, `SELECT spec FROM versions WHERE function = 'hello'`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stored, `"memory":64`) || !strings.Contains(stored, `"cpu":"250m"`) || strings.Contains(stored, "memory_mb") {
		t.Errorf("a new row holds %s: want memory and cpu by their new names", stored)
	}
	// What an earlier hearth wrote.
	const old = `{"name":"hello","runtime":"go","memory_mb":256,"cpu_milli":500,"timeout":"0s","idle_timeout":"0s",` +
		`"pause_timeout":"0s","concurrency":0,"min_instances":0,"max_instances":0,"queue":0}`
	if _, err := db.ExecContext(ctx, `UPDATE versions SET spec = ? WHERE function = 'hello'`, old); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = sqlstore.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fn, err := s.GetFunction(ctx, "hello")
	if err != nil {
		t.Fatal(err)
	}
	if got := fn.Version.Spec; got.MemoryMB != 256 || got.CPUMilli != 500 || got.Runtime != "go" {
		t.Errorf("spec read from the old row = %+v, want memory 256 MB, cpu 500m", got)
	}
}
