package sqlstore

import (
	"context"
	"fmt"

	"github.com/hearthfn/hearth/scheduler/store"
)

var _ store.TriggerStore = (*Store)(nil)

// ListTriggerStates implements store.TriggerStore.
func (s *Store) ListTriggerStates(ctx context.Context) (_ []store.TriggerState, err error) {
	defer s.unavailable(&err)
	return queryAll(ctx, s.rdb, scanTriggerState, `SELECT function, name, schedule, registered_at, last_fired,
		last_call_id FROM trigger_states ORDER BY function, name`)
}

// PutTriggerState implements store.TriggerStore.
func (s *Store) PutTriggerState(ctx context.Context, t store.TriggerState) (err error) {
	defer s.unavailable(&err)
	if err := s.writable(); err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO trigger_states (function, name, schedule, registered_at, last_fired, last_call_id)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (function, name) DO UPDATE SET schedule = excluded.schedule, registered_at = excluded.registered_at,
			last_fired = excluded.last_fired, last_call_id = excluded.last_call_id`,
		t.Function, t.Name, t.Schedule, unixOrZero(t.RegisteredAt), unixOrZero(t.LastFired), t.LastCallID)
	if err != nil {
		return fmt.Errorf("save the state of trigger %s of %s: %w", t.Name, t.Function, err)
	}
	return nil
}

// DeleteTriggerState implements store.TriggerStore.
func (s *Store) DeleteTriggerState(ctx context.Context, function, name string) (err error) {
	defer s.unavailable(&err)
	if err := s.writable(); err != nil {
		return err
	}
	if name == "" {
		_, err = s.db.ExecContext(ctx, `DELETE FROM trigger_states WHERE function = ?`, function)
	} else {
		_, err = s.db.ExecContext(ctx, `DELETE FROM trigger_states WHERE function = ? AND name = ?`, function, name)
	}
	if err != nil {
		return fmt.Errorf("remove trigger state of %s: %w", function, err)
	}
	return nil
}

func scanTriggerState(row scanner) (store.TriggerState, error) {
	var (
		t                 store.TriggerState
		registered, fired int64
	)
	if err := row.Scan(&t.Function, &t.Name, &t.Schedule, &registered, &fired, &t.LastCallID); err != nil {
		return store.TriggerState{}, err
	}
	t.RegisteredAt, t.LastFired = timeOrZero(registered), timeOrZero(fired)
	return t, nil
}
