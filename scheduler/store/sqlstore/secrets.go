package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/hearthfn/hearth/scheduler/store"
)

// PutSecret implements store.SecretStore. The insert takes its row from a select that finds
// the function, so that a secret of a function that does not exist is no row (ErrNotFound)
// rather than a foreign-key error.
func (s *Store) PutSecret(ctx context.Context, r store.SecretRecord) (err error) {
	defer s.unavailable(&err)
	at := r.UpdatedAt
	if at.IsZero() {
		at = s.now()
	}
	return s.execOne(ctx, "save secret of", "function", r.Function, `INSERT INTO secrets (function, key, sealed, updated_at)
		SELECT name, ?, ?, ? FROM functions WHERE name = ?
		ON CONFLICT(function, key) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at`,
		r.Key, r.Sealed, at.UnixNano(), r.Function)
}

// ListSecrets implements store.SecretStore.
func (s *Store) ListSecrets(ctx context.Context, function string) (_ []store.SecretRecord, err error) {
	defer s.unavailable(&err)
	return queryAll(ctx, s.rdb, scanSecret, `SELECT function, key, sealed, updated_at FROM secrets
		WHERE function = ? ORDER BY key`, function)
}

// DeleteSecret implements store.SecretStore.
func (s *Store) DeleteSecret(ctx context.Context, function, key string) (err error) {
	defer s.unavailable(&err)
	err = s.execOne(ctx, "delete", "secret", key, `DELETE FROM secrets WHERE function = ? AND key = ?`, function, key)
	if err != nil {
		return fmt.Errorf("function %q: %w", function, err)
	}
	return nil
}

func scanSecret(row scanner) (store.SecretRecord, error) {
	var (
		r  store.SecretRecord
		at int64
	)
	if err := row.Scan(&r.Function, &r.Key, &r.Sealed, &at); err != nil {
		return store.SecretRecord{}, err
	}
	r.UpdatedAt = time.Unix(0, at).UTC()
	return r, nil
}
