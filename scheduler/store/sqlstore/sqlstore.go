// Package sqlstore implements the scheduler's store on SQLite through a pure-Go driver
// (modernc.org/sqlite: no cgo, so hearth stays one static binary). The schema lives in ordered,
// embedded SQL migrations applied at Open.
package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/store"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

var _ store.Store = (*Store)(nil)

// Store is a store.Store on one SQLite file.
type Store struct {
	// db writes, and reads inside writes; rdb serves reads that stand alone.
	db, rdb *sql.DB
	path    string
	busy    time.Duration // SQLite's busy timeout
	now     func() time.Time

	lockMu      sync.Mutex
	lockedUntil time.Time // guarded by lockMu; see writable
	lockErr     error     // guarded by lockMu
}

// readConns bounds the connections of standalone reads.
const readConns = 4

// busyTimeout is how long a write waits for another process's write lock before it fails with
// store.ErrUnavailable.
const busyTimeout = 5 * time.Second

// Open opens (creating when missing) the SQLite database at path and brings its schema up to
// date.
func Open(ctx context.Context, path string) (*Store, error) {
	return open(ctx, path, busyTimeout)
}

func open(ctx context.Context, path string, busy time.Duration) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create store directory: %w", err)
	}
	// WAL with synchronous=NORMAL: a commit survives the process being killed, not a power
	// loss. _txlock=immediate takes the write lock at BEGIN, so a transaction that reads then
	// writes (ClaimAsync) cannot fail on a lock upgrade if another process opens the file.
	dsn := "file:" + path + fmt.Sprintf("?_pragma=busy_timeout(%d)", busy.Milliseconds()) + "&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	// One write connection: SQLite serialises writers anyway, and writers of this process
	// then wait their turn here, at once, rather than in SQLite's busy handler.
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if err := migrate(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate store %s: %w", path, err)
	}
	// Standalone reads have connections of their own. In WAL mode a read takes no lock that a
	// writer holds, so reads (the API's GETs) go on while a write waits for the write lock
	// held by another process, up to the busy timeout, rather than queue behind that write on
	// the one write connection. query_only keeps them to reading.
	rdb, err := sql.Open("sqlite", "file:"+path+fmt.Sprintf("?_pragma=busy_timeout(%d)", busy.Milliseconds())+"&_pragma=foreign_keys(1)&_pragma=query_only(1)")
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	rdb.SetMaxOpenConns(readConns)
	return &Store{db: db, rdb: rdb, path: path, busy: busy, now: time.Now}, nil
}

// Close closes the database.
func (s *Store) Close() error { return errors.Join(s.rdb.Close(), s.db.Close()) }

// AddVersion implements store.FunctionStore.
func (s *Store) AddVersion(ctx context.Context, name string, v api.Version) (_ api.Function, err error) {
	defer s.unavailable(&err)
	if err := s.writable(); err != nil {
		return api.Function{}, err
	}
	spec, err := json.Marshal(v.Spec)
	if err != nil {
		return api.Function{}, err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return api.Function{}, err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	now := v.CreatedAt
	if now.IsZero() {
		now = time.Now()
	}
	var next int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(number), 0) + 1 FROM versions WHERE function = ?`, name).Scan(&next); err != nil {
		return api.Function{}, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO functions (name, current_version, created_at, updated_at)
		VALUES (?, ?, ?, ?)
		ON CONFLICT(name) DO UPDATE SET current_version = excluded.current_version, updated_at = excluded.updated_at`,
		name, next, now.UnixNano(), now.UnixNano()); err != nil {
		return api.Function{}, fmt.Errorf("save function %s: %w", name, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO versions (function, number, image, source_hash, spec, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`, name, next, v.Image, v.SourceHash, string(spec), now.UnixNano()); err != nil {
		return api.Function{}, fmt.Errorf("save version %d of %s: %w", next, name, err)
	}
	if err := tx.Commit(); err != nil {
		return api.Function{}, err
	}
	return s.GetFunction(ctx, name)
}

const selectFunction = `SELECT f.name, f.created_at, f.updated_at, f.default_alias,
	v.number, v.image, v.source_hash, v.spec, v.created_at
	FROM functions f JOIN versions v ON v.function = f.name AND v.number = f.current_version`

// GetFunction implements store.FunctionStore.
func (s *Store) GetFunction(ctx context.Context, name string) (_ api.Function, err error) {
	defer s.unavailable(&err)
	return queryOne(ctx, s.rdb, scanFunction, "function", name, selectFunction+` WHERE f.name = ?`, name)
}

// ListFunctions implements store.FunctionStore.
func (s *Store) ListFunctions(ctx context.Context, page store.FunctionPage) (_ []api.Function, err error) {
	defer s.unavailable(&err)
	q, args, err := functionPageQuery(page)
	if err != nil {
		return nil, err
	}
	return queryAll(ctx, s.rdb, scanFunction, q, args...)
}

// functionPageQuery is the query of a page of functions. The functions' primary key orders
// the page and starts it at page.After, so that a page reads its own rows only (plan_test.go
// checks SQLite's plan).
func functionPageQuery(page store.FunctionPage) (string, []any, error) {
	q, args := selectFunction+` WHERE f.name > ?`, []any{page.After}
	if page.Names != nil {
		// One parameter whatever the number of names: a token may name many.
		names, err := json.Marshal(page.Names)
		if err != nil {
			return "", nil, err
		}
		q += ` AND f.name IN (SELECT value FROM json_each(?))`
		args = append(args, string(names))
	}
	return q + ` ORDER BY f.name LIMIT ?`, append(args, limit(page.Limit)), nil
}

// limit is a page's bound as SQLite's LIMIT takes it: -1 for none.
func limit(n int) int {
	if n <= 0 {
		return -1
	}
	return n
}

const selectVersion = `SELECT number, image, source_hash, spec, created_at FROM versions`

// ListVersions implements store.FunctionStore.
func (s *Store) ListVersions(ctx context.Context, name string, page store.VersionPage) (_ []api.Version, err error) {
	defer s.unavailable(&err)
	q, args := versionPageQuery(name, page)
	out, err := queryAll(ctx, s.rdb, scanVersion, q, args...)
	if err != nil || len(out) > 0 {
		return out, err
	}
	// No version: an unknown function, or a page past the oldest version of a known one.
	var one int
	err = s.rdb.QueryRowContext(ctx, `SELECT 1 FROM functions WHERE name = ?`, name).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("function %q: %w", name, store.ErrNotFound)
	}
	return out, err
}

// versionPageQuery is the query of a page of a function's versions: the versions' primary key
// (function, number) orders it and starts it below page.Before.
func versionPageQuery(name string, page store.VersionPage) (string, []any) {
	q, args := selectVersion+` WHERE function = ?`, []any{name}
	if page.Before > 0 {
		q += ` AND number < ?`
		args = append(args, page.Before)
	}
	return q + ` ORDER BY number DESC LIMIT ?`, append(args, limit(page.Limit))
}

// GetVersion implements store.FunctionStore.
func (s *Store) GetVersion(ctx context.Context, name string, number int) (_ api.Version, err error) {
	defer s.unavailable(&err)
	return queryOne(ctx, s.rdb, scanVersion, "version", fmt.Sprintf("%s@%d", name, number),
		selectVersion+` WHERE function = ? AND number = ?`, name, number)
}

// DeleteFunction implements store.FunctionStore.
func (s *Store) DeleteFunction(ctx context.Context, name string) (err error) {
	defer s.unavailable(&err)
	return s.execOne(ctx, "delete", "function", name, `DELETE FROM functions WHERE name = ?`, name)
}

// execOne runs a write meant for the one row named id (its args end with it): doing says what
// the write does and kind what the row is, for errors ("delete", "node"). A write that
// matched no row is store.ErrNotFound.
func (s *Store) execOne(ctx context.Context, doing, kind, id, query string, args ...any) error {
	if err := s.writable(); err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("%s %s %s: %w", doing, kind, id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%s %q: %w", kind, id, store.ErrNotFound)
	}
	return nil
}

type scanner interface{ Scan(dest ...any) error }

// queryOne runs query, meant for the one row named id (its args end with it), on db and reads
// the row with scan. No row is store.ErrNotFound, the row named kind ("node") in the error.
func queryOne[T any](ctx context.Context, db *sql.DB, scan func(scanner) (T, error), kind, id, query string, args ...any) (T, error) {
	v, err := scan(db.QueryRowContext(ctx, query, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return v, fmt.Errorf("%s %q: %w", kind, id, store.ErrNotFound)
	}
	return v, err
}

// queryAll runs query on db and reads every row with scan. No row is an empty slice, not nil:
// a list encodes as [].
func queryAll[T any](ctx context.Context, db *sql.DB, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func scanFunction(row scanner) (api.Function, error) {
	var (
		f                  api.Function
		created, updated   int64
		vnum, vcreated     int64
		image, hash, specs string
	)
	if err := row.Scan(&f.Name, &created, &updated, &f.DefaultAlias, &vnum, &image, &hash, &specs, &vcreated); err != nil {
		return api.Function{}, err
	}
	f.CreatedAt, f.UpdatedAt = time.Unix(0, created).UTC(), time.Unix(0, updated).UTC()
	f.Version = api.Version{Number: int(vnum), Image: image, SourceHash: hash, CreatedAt: time.Unix(0, vcreated).UTC()}
	if err := json.Unmarshal([]byte(specs), &f.Version.Spec); err != nil {
		return api.Function{}, fmt.Errorf("decode spec of %s: %w", f.Name, err)
	}
	return f, nil
}

func scanVersion(row scanner) (api.Version, error) {
	var (
		v            api.Version
		num, created int64
		specs        string
	)
	if err := row.Scan(&num, &v.Image, &v.SourceHash, &specs, &created); err != nil {
		return api.Version{}, err
	}
	v.Number, v.CreatedAt = int(num), time.Unix(0, created).UTC()
	if err := json.Unmarshal([]byte(specs), &v.Spec); err != nil {
		return api.Version{}, fmt.Errorf("decode spec of version %d: %w", v.Number, err)
	}
	return v, nil
}
