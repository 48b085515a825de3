package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hearthfn/hearth/scheduler/store"
)

// UpsertNode implements store.NodeStore.
func (s *Store) UpsertNode(ctx context.Context, n store.NodeRecord) (_ store.NodeRecord, err error) {
	defer s.unavailable(&err)
	if err := s.writable(); err != nil {
		return store.NodeRecord{}, err
	}
	if n.State == "" {
		n.State = store.NodeReady
	}
	if err := checkNodeState(n.State); err != nil {
		return store.NodeRecord{}, err
	}
	labels, err := encodeLabels(n.Labels)
	if err != nil {
		return store.NodeRecord{}, err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return store.NodeRecord{}, err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if _, err := tx.ExecContext(ctx, `INSERT INTO nodes (id, name, labels, advertise_addr, state, joined_at, last_seen)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(id) DO UPDATE SET name = excluded.name, labels = excluded.labels,
			advertise_addr = excluded.advertise_addr, last_seen = MAX(last_seen, excluded.last_seen)`,
		n.ID, n.Name, labels, n.AdvertiseAddr, string(n.State), n.JoinedAt.UnixNano(), unixOrZero(n.LastSeen)); err != nil {
		return store.NodeRecord{}, fmt.Errorf("save node %s: %w", n.ID, err)
	}
	got, err := scanNode(tx.QueryRowContext(ctx, selectNode+` WHERE id = ?`, n.ID))
	if err != nil {
		return store.NodeRecord{}, err
	}
	return got, tx.Commit()
}

const selectNode = `SELECT id, name, labels, advertise_addr, state, joined_at, last_seen FROM nodes`

// GetNode implements store.NodeStore.
func (s *Store) GetNode(ctx context.Context, id string) (_ store.NodeRecord, err error) {
	defer s.unavailable(&err)
	n, err := scanNode(s.rdb.QueryRowContext(ctx, selectNode+` WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.NodeRecord{}, fmt.Errorf("node %q: %w", id, store.ErrNotFound)
	}
	return n, err
}

// ListNodes implements store.NodeStore.
func (s *Store) ListNodes(ctx context.Context) (_ []store.NodeRecord, err error) {
	defer s.unavailable(&err)
	rows, err := s.rdb.QueryContext(ctx, selectNode+` ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []store.NodeRecord{}
	for rows.Next() {
		n, err := scanNode(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// SetNodeState implements store.NodeStore.
func (s *Store) SetNodeState(ctx context.Context, id string, state store.NodeState) (err error) {
	defer s.unavailable(&err)
	if err := checkNodeState(state); err != nil {
		return err
	}
	if err := s.writable(); err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, `UPDATE nodes SET state = ? WHERE id = ?`, string(state), id)
	if err != nil {
		return fmt.Errorf("set state of node %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("node %q: %w", id, store.ErrNotFound)
	}
	return nil
}

// TouchNodes implements store.NodeStore.
func (s *Store) TouchNodes(ctx context.Context, seen map[string]time.Time) (err error) {
	defer s.unavailable(&err)
	if len(seen) == 0 {
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
	for id, at := range seen {
		if _, err := tx.ExecContext(ctx, `UPDATE nodes SET last_seen = MAX(last_seen, ?) WHERE id = ?`,
			at.UnixNano(), id); err != nil {
			return fmt.Errorf("record when node %s was seen: %w", id, err)
		}
	}
	return tx.Commit()
}

// DeleteNode implements store.NodeStore.
func (s *Store) DeleteNode(ctx context.Context, id string) (err error) {
	defer s.unavailable(&err)
	if err := s.writable(); err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, `DELETE FROM nodes WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete node %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("node %q: %w", id, store.ErrNotFound)
	}
	return nil
}

func scanNode(row scanner) (store.NodeRecord, error) {
	var (
		n              store.NodeRecord
		labels, state  string
		joined, seenAt int64
	)
	if err := row.Scan(&n.ID, &n.Name, &labels, &n.AdvertiseAddr, &state, &joined, &seenAt); err != nil {
		return store.NodeRecord{}, err
	}
	var err error
	if n.Labels, err = decodeLabels(labels); err != nil {
		return store.NodeRecord{}, fmt.Errorf("decode labels of node %s: %w", n.ID, err)
	}
	n.State = store.NodeState(state)
	n.JoinedAt = time.Unix(0, joined).UTC()
	n.LastSeen = timeOrZero(seenAt)
	return n, nil
}

func checkNodeState(st store.NodeState) error {
	switch st {
	case store.NodeReady, store.NodeDraining:
		return nil
	}
	return fmt.Errorf("node state %q: want %q or %q", st, store.NodeReady, store.NodeDraining)
}

// encodeLabels stores labels as a JSON object; no labels is {}.
func encodeLabels(labels map[string]string) (string, error) {
	if len(labels) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(labels)
	return string(b), err
}

// decodeLabels reads what encodeLabels wrote; {} reads as nil.
func decodeLabels(s string) (map[string]string, error) {
	var labels map[string]string
	if err := json.Unmarshal([]byte(s), &labels); err != nil {
		return nil, err
	}
	if len(labels) == 0 {
		return nil, nil
	}
	return labels, nil
}
