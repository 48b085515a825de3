package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/store"
)

// CreateToken implements store.TokenStore.
func (s *Store) CreateToken(ctx context.Context, t store.TokenRecord) (err error) {
	defer s.unavailable(&err)
	if err := s.writable(); err != nil {
		return err
	}
	fns := t.Functions
	if fns == nil {
		fns = []string{}
	}
	b, err := json.Marshal(fns)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO tokens (id, name, role, functions, hash, created_at, expires_at, last_used_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, t.ID, t.Name, string(t.Role), string(b), t.Hash,
		t.CreatedAt.UnixNano(), unixOrZero(t.ExpiresAt), unixOrZero(t.LastUsedAt))
	if err != nil {
		return fmt.Errorf("save token %s: %w", t.ID, err)
	}
	return nil
}

const selectToken = `SELECT id, name, role, functions, hash, created_at, expires_at, last_used_at FROM tokens`

// GetToken implements store.TokenStore.
func (s *Store) GetToken(ctx context.Context, id string) (_ store.TokenRecord, err error) {
	defer s.unavailable(&err)
	return queryOne(ctx, s.rdb, scanToken, "token", id, selectToken+` WHERE id = ?`, id)
}

// ListTokens implements store.TokenStore.
func (s *Store) ListTokens(ctx context.Context) (_ []store.TokenRecord, err error) {
	defer s.unavailable(&err)
	return queryAll(ctx, s.rdb, scanToken, selectToken+` ORDER BY created_at, id`)
}

// DeleteToken implements store.TokenStore.
func (s *Store) DeleteToken(ctx context.Context, id string) (err error) {
	defer s.unavailable(&err)
	return s.execOne(ctx, "delete", "token", id, `DELETE FROM tokens WHERE id = ?`, id)
}

// TouchTokens implements store.TokenStore.
func (s *Store) TouchTokens(ctx context.Context, used map[string]time.Time) (err error) {
	defer s.unavailable(&err)
	return s.touch(ctx, `UPDATE tokens SET last_used_at = MAX(last_used_at, ?) WHERE id = ?`, used,
		"record use of token %s: %w")
}

// touch runs update, which moves a row's time forward to its first argument (Unix
// nanoseconds) and never back, for each id (its second argument) of at, in one transaction:
// the batched writes of TouchNodes and TouchTokens. errFormat takes the id and the error.
func (s *Store) touch(ctx context.Context, update string, at map[string]time.Time, errFormat string) error {
	if len(at) == 0 {
		return nil
	}
	if err := s.writable(); err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	for id, t := range at {
		if _, err := tx.ExecContext(ctx, update, t.UnixNano(), id); err != nil {
			return fmt.Errorf(errFormat, id, err)
		}
	}
	return tx.Commit()
}

func scanToken(row scanner) (store.TokenRecord, error) {
	var (
		t                      store.TokenRecord
		role, fns              string
		created, expires, used int64
	)
	if err := row.Scan(&t.ID, &t.Name, &role, &fns, &t.Hash, &created, &expires, &used); err != nil {
		return store.TokenRecord{}, err
	}
	t.Role = api.Role(role)
	if err := json.Unmarshal([]byte(fns), &t.Functions); err != nil {
		return store.TokenRecord{}, fmt.Errorf("decode functions of token %s: %w", t.ID, err)
	}
	if len(t.Functions) == 0 {
		t.Functions = nil
	}
	t.CreatedAt = time.Unix(0, created).UTC()
	t.ExpiresAt = timeOrZero(expires)
	t.LastUsedAt = timeOrZero(used)
	return t, nil
}

func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func timeOrZero(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}
