package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/hearthfn/hearth/scheduler/store"
)

// CreateJoinToken implements store.JoinTokenStore.
func (s *Store) CreateJoinToken(ctx context.Context, t store.JoinTokenRecord) (err error) {
	defer s.unavailable(&err)
	if err := s.writable(); err != nil {
		return err
	}
	labels, err := encodeLabels(t.Labels)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO join_tokens (id, secret_hash, labels, created_at, expires_at, revoked)
		VALUES (?, ?, ?, ?, ?, ?)`, t.ID, t.SecretHash, labels, t.CreatedAt.UnixNano(), t.ExpiresAt.UnixNano(), t.Revoked)
	if err != nil {
		return fmt.Errorf("save join token %s: %w", t.ID, err)
	}
	return nil
}

const selectJoinToken = `SELECT id, secret_hash, labels, created_at, expires_at, revoked FROM join_tokens`

// GetJoinToken implements store.JoinTokenStore.
func (s *Store) GetJoinToken(ctx context.Context, id string) (_ store.JoinTokenRecord, err error) {
	defer s.unavailable(&err)
	return queryOne(ctx, s.rdb, scanJoinToken, "join token", id, selectJoinToken+` WHERE id = ?`, id)
}

// ListJoinTokens implements store.JoinTokenStore.
func (s *Store) ListJoinTokens(ctx context.Context) (_ []store.JoinTokenRecord, err error) {
	defer s.unavailable(&err)
	return queryAll(ctx, s.rdb, scanJoinToken, selectJoinToken+` ORDER BY created_at, id`)
}

// RevokeJoinToken implements store.JoinTokenStore.
func (s *Store) RevokeJoinToken(ctx context.Context, id string) (err error) {
	defer s.unavailable(&err)
	return s.execOne(ctx, "revoke", "join token", id, `UPDATE join_tokens SET revoked = 1 WHERE id = ?`, id)
}

func scanJoinToken(row scanner) (store.JoinTokenRecord, error) {
	var (
		t                store.JoinTokenRecord
		labels           string
		created, expires int64
	)
	if err := row.Scan(&t.ID, &t.SecretHash, &labels, &created, &expires, &t.Revoked); err != nil {
		return store.JoinTokenRecord{}, err
	}
	var err error
	if t.Labels, err = decodeLabels(labels); err != nil {
		return store.JoinTokenRecord{}, fmt.Errorf("decode labels of join token %s: %w", t.ID, err)
	}
	t.CreatedAt = time.Unix(0, created).UTC()
	t.ExpiresAt = time.Unix(0, expires).UTC()
	return t, nil
}
