package sqlstore

import (
	"context"
	"encoding/json"
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
	return queryOne(ctx, s.rdb, scanNode, "node", id, selectNode+` WHERE id = ?`, id)
}

// ListNodes implements store.NodeStore.
func (s *Store) ListNodes(ctx context.Context) (_ []store.NodeRecord, err error) {
	defer s.unavailable(&err)
	return queryAll(ctx, s.rdb, scanNode, selectNode+` ORDER BY id`)
}

// SetNodeState implements store.NodeStore.
func (s *Store) SetNodeState(ctx context.Context, id string, state store.NodeState) (err error) {
	defer s.unavailable(&err)
	if err := checkNodeState(state); err != nil {
		return err
	}
	return s.execOne(ctx, "set state of", "node", id, `UPDATE nodes SET state = ? WHERE id = ?`, string(state), id)
}

// TouchNodes implements store.NodeStore.
func (s *Store) TouchNodes(ctx context.Context, seen map[string]time.Time) (err error) {
	defer s.unavailable(&err)
	return s.touch(ctx, `UPDATE nodes SET last_seen = MAX(last_seen, ?) WHERE id = ?`, seen,
		"record when node %s was seen: %w")
}

// DeleteNode implements store.NodeStore.
func (s *Store) DeleteNode(ctx context.Context, id string) (err error) {
	defer s.unavailable(&err)
	return s.execOne(ctx, "delete", "node", id, `DELETE FROM nodes WHERE id = ?`, id)
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
