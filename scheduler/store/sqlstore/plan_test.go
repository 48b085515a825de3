package sqlstore

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/store"
)

// TestPlansUseIndexes checks that the queries of a deploy, a single-function GET and a page of
// a listing read their rows through an index: with 1,000 functions each costs what it costs
// with 10. SQLite's plan says SEARCH for a lookup through an index and SCAN for a read of a
// whole table (or of an index from its start), and needs a temp b-tree for an ORDER BY that no
// index gives.
func TestPlansUseIndexes(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "hearth.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, n := range []string{"a", "b", "c"} {
		for range 2 {
			if _, err := s.AddVersion(ctx, n, api.Version{Image: "img", Spec: api.FunctionSpec{Name: n, Runtime: "go"}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	page := func(p store.FunctionPage) (string, []any) {
		q, args, err := functionPageQuery(p)
		if err != nil {
			t.Fatal(err)
		}
		return q, args
	}
	type query struct {
		name, query string
		args        []any
	}
	queries := []query{
		{"one version", selectVersion + ` WHERE function = ? AND number = ?`, []any{"a", 1}},
		{"one function", selectFunction + ` WHERE f.name = ?`, []any{"a"}},
		{"next version number", `SELECT COALESCE(MAX(number), 0) + 1 FROM versions WHERE function = ?`, []any{"a"}},
	}
	for _, p := range []store.FunctionPage{{After: "a", Limit: 2}, {Limit: 2}, {Names: []string{"a", "c"}, Limit: 2}} {
		q, args := page(p)
		queries = append(queries, query{fmt.Sprintf("function page %+v", p), q, args})
	}
	for _, p := range []store.VersionPage{{Limit: 1}, {Before: 2, Limit: 1}} {
		q, args := versionPageQuery("a", p)
		queries = append(queries, query{fmt.Sprintf("version page %+v", p), q, args})
	}
	for _, c := range queries {
		plan := explain(t, s, c.query, c.args...)
		t.Logf("%s: %q", c.name, plan)
		for _, step := range plan {
			// json_each is the token's list of names, not a table.
			if (strings.HasPrefix(step, "SCAN") && !strings.Contains(step, "json_each")) || strings.Contains(step, "TEMP B-TREE") {
				t.Errorf("%s reads more than its rows: plan %q", c.name, plan)
				break
			}
		}
	}
}

// explain returns the steps of SQLite's plan for query.
func explain(t *testing.T, s *Store, query string, args ...any) []string {
	t.Helper()
	rows, err := s.rdb.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var steps []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		steps = append(steps, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return steps
}
