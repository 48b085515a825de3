package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/store"
)

var _ store.CallStore = (*Store)(nil)

const (
	// defaultListLimit and maxListLimit bound ListCalls pages.
	defaultListLimit = 50
	maxListLimit     = 1000
	// pruneBatch is how many calls one PruneCalls statement deletes: a long delete would hold
	// the only connection, and the write lock, while EnqueueAsync waits.
	pruneBatch = 1000
)

// RecordCalls implements store.CallStore in one transaction (INSERT ... ON CONFLICT DO
// NOTHING skips stored ids). A zero FinishedAt is stored as the time of writing, so that
// PruneCalls can reach the call.
func (s *Store) RecordCalls(ctx context.Context, calls []api.Call) (err error) {
	defer s.unavailable(&err)
	if err := s.writable(); err != nil {
		return err
	}
	for _, c := range calls {
		if c.ID == "" || c.CreatedAt.IsZero() || !c.Status.Finished() {
			return fmt.Errorf("record call %q (status %q): a call needs an id, a creation time and a finished status", c.ID, c.Status)
		}
	}
	if len(calls) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO calls (`+callColumns+`, `+resultColumns+`)
		VALUES (`+placeholders(callColumnCount+3)+`)
		ON CONFLICT (id) DO NOTHING`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	now := time.Now()
	for _, c := range calls {
		if c.FinishedAt.IsZero() {
			c.FinishedAt = now
		}
		res, err := resultArgs(c.Result)
		if err != nil {
			return fmt.Errorf("record call %s: %w", c.ID, err)
		}
		if _, err := stmt.ExecContext(ctx, append(callArgs(c), res...)...); err != nil {
			return fmt.Errorf("record call %s: %w", c.ID, err)
		}
	}
	return tx.Commit()
}

// EnqueueAsync implements store.CallStore. The bound is checked and the call inserted in one
// statement, so concurrent enqueues cannot overshoot it.
//
// Durable here means it survives the hearth process being killed (SIGKILL included): the
// commit is in the WAL when this returns. With synchronous=NORMAL the WAL is not synced on
// every commit, so a power loss or kernel crash can lose the last calls accepted.
func (s *Store) EnqueueAsync(ctx context.Context, c api.Call, req store.AsyncRequest, maxQueued int) (err error) {
	defer s.unavailable(&err)
	if err := s.writable(); err != nil {
		return err
	}
	if c.ID == "" || c.CreatedAt.IsZero() {
		return fmt.Errorf("enqueue call %q: a call needs an id and a creation time", c.ID)
	}
	c = api.Call{ID: c.ID, Function: c.Function, Version: c.Version, Async: true,
		Status: api.CallQueued, CreatedAt: c.CreatedAt, CallbackURL: c.CallbackURL, Trigger: c.Trigger,
		Alias: c.Alias}
	reqArgs, err := requestArgs(req)
	if err != nil {
		return fmt.Errorf("enqueue call %s: %w", c.ID, err)
	}
	args := append(callArgs(c), c.CreatedAt.UnixNano())
	args = append(args, reqArgs...)
	args = append(args, maxQueued)
	res, err := s.db.ExecContext(ctx, `INSERT INTO calls (`+callColumns+`, due, request, request_body)
		SELECT `+placeholders(callColumnCount+3)+`
		WHERE (SELECT count(*) FROM calls WHERE status IN ('queued', 'running') AND async = 1) < ?`,
		args...)
	if err != nil {
		return fmt.Errorf("enqueue call %s: %w", c.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return fmt.Errorf("enqueue call %s: %w (%d calls queued or running)", c.ID, store.ErrQueueFull, maxQueued)
	}
	return nil
}

// ClaimAsync implements store.CallStore in one transaction, which takes the write lock at
// BEGIN (_txlock=immediate), so no other writer slips between the select and the update.
func (s *Store) ClaimAsync(ctx context.Context, now time.Time, limit int) (_ []store.AsyncCall, err error) {
	defer s.unavailable(&err)
	if err := s.writable(); err != nil {
		return nil, err
	}
	if limit < 1 {
		return nil, nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	// status = 'queued' is written as in the partial index calls_due, so that SQLite uses it.
	rows, err := tx.QueryContext(ctx, `SELECT `+callColumns+`, due, request, request_body FROM calls
		WHERE status = 'queued' AND due <= ? ORDER BY due, created_at, id LIMIT ?`, now.UnixNano(), limit)
	if err != nil {
		return nil, fmt.Errorf("claim async calls: %w", err)
	}
	var claimed []store.AsyncCall
	for rows.Next() {
		a, err := scanAsync(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		claimed = append(claimed, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	started := time.Unix(0, now.UnixNano()).UTC()
	for i := range claimed {
		c := &claimed[i].Call
		if _, err := tx.ExecContext(ctx, `UPDATE calls SET status = 'running', attempts = attempts + 1,
			started_at = ? WHERE id = ?`, started.UnixNano(), c.ID); err != nil {
			return nil, fmt.Errorf("claim call %s: %w", c.ID, err)
		}
		c.Status, c.Attempts, c.StartedAt = api.CallRunning, c.Attempts+1, started
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return claimed, nil
}

// FinishAsync implements store.CallStore. c's status must be finished; a zero FinishedAt
// becomes now. Attempts stay as counted by ClaimAsync. The stored request body is dropped:
// nothing replays a finished call, and it would double what a call keeps until pruned.
func (s *Store) FinishAsync(ctx context.Context, c api.Call) (err error) {
	defer s.unavailable(&err)
	if err := s.writable(); err != nil {
		return err
	}
	if !c.Status.Finished() {
		return fmt.Errorf("finish call %s: status %q is not a finished one", c.ID, c.Status)
	}
	if c.FinishedAt.IsZero() {
		c.FinishedAt = time.Now()
	}
	res, err := resultArgs(c.Result)
	if err != nil {
		return fmt.Errorf("finish call %s: %w", c.ID, err)
	}
	args := append([]any{string(c.Status), c.HTTPStatus, c.Version, c.Version, nanos(c.StartedAt), c.FinishedAt.UnixNano(),
		c.DurationMS, c.Instance, c.Cold, c.Error}, res...)
	args = append(args, c.ID)
	r, err := s.db.ExecContext(ctx, `UPDATE calls SET status = ?, http_status = ?,
		version = CASE WHEN ? > 0 THEN ? ELSE version END, started_at = COALESCE(?, started_at), finished_at = ?, duration_ms = ?, instance = ?,
		cold = ?, error = ?, result_status = ?, result_headers = ?, result_body = ?,
		request_body = NULL
		WHERE id = ? AND async = 1 AND status = 'running'`, args...)
	if err != nil {
		return fmt.Errorf("finish call %s: %w", c.ID, err)
	}
	return oneRow(r, "finish call "+c.ID+": no running async call")
}

// RetryAsync implements store.CallStore. A zero due means at once.
func (s *Store) RetryAsync(ctx context.Context, id string, due time.Time, errMsg string) (err error) {
	defer s.unavailable(&err)
	if err := s.writable(); err != nil {
		return err
	}
	if due.IsZero() {
		due = time.Now()
	}
	r, err := s.db.ExecContext(ctx, `UPDATE calls SET status = 'queued', due = ?, error = ?
		WHERE id = ? AND async = 1 AND status = 'running'`, due.UnixNano(), errMsg, id)
	if err != nil {
		return fmt.Errorf("retry call %s: %w", id, err)
	}
	return oneRow(r, "retry call "+id+": no running async call")
}

// RequeueRunning implements store.CallStore. The calls keep their due time, which is at or
// before their claim, so they can be claimed at once; their attempts stay counted.
func (s *Store) RequeueRunning(ctx context.Context) (_ int, err error) {
	defer s.unavailable(&err)
	if err := s.writable(); err != nil {
		return 0, err
	}
	r, err := s.db.ExecContext(ctx, `UPDATE calls SET status = 'queued'
		WHERE status = 'running' AND async = 1`)
	if err != nil {
		return 0, fmt.Errorf("requeue running calls: %w", err)
	}
	n, err := r.RowsAffected()
	return int(n), err
}

// GetCall implements store.CallStore.
func (s *Store) GetCall(ctx context.Context, id string) (_ api.Call, err error) {
	defer s.unavailable(&err)
	row := s.rdb.QueryRowContext(ctx, `SELECT `+callColumns+`, `+resultColumns+` FROM calls WHERE id = ?`, id)
	c, err := scanCallResult(row)
	if errors.Is(err, sql.ErrNoRows) {
		return api.Call{}, fmt.Errorf("call %q: %w", id, store.ErrNotFound)
	}
	return c, err
}

// ListCalls implements store.CallStore. The cursor call's created_at is read first, so the
// page is a range scan of an index on (created_at, id), alone or after function or status.
func (s *Store) ListCalls(ctx context.Context, f store.CallFilter) (_ []api.Call, err error) {
	defer s.unavailable(&err)
	var (
		where []string
		args  []any
	)
	if f.Function != "" {
		where, args = append(where, "function = ?"), append(args, f.Function)
	}
	if f.Status != "" {
		where, args = append(where, "status = ?"), append(args, string(f.Status))
	}
	if f.Version > 0 {
		where, args = append(where, "version = ?"), append(args, f.Version)
	}
	if f.Before != "" {
		var created int64
		err := s.rdb.QueryRowContext(ctx, `SELECT created_at FROM calls WHERE id = ?`, f.Before).Scan(&created)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("list calls before %q: %w", f.Before, store.ErrNotFound)
		} else if err != nil {
			return nil, err
		}
		where, args = append(where, "(created_at, id) < (?, ?)"), append(args, created, f.Before)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultListLimit
	}
	limit = min(limit, maxListLimit)
	q := `SELECT ` + callColumns + ` FROM calls`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY created_at DESC, id DESC LIMIT ?`
	rows, err := s.rdb.QueryContext(ctx, q, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("list calls: %w", err)
	}
	defer rows.Close()
	out := []api.Call{}
	for rows.Next() {
		c, err := scanCall(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// callsPage is how many calls one query of CallsSince reads.
const callsPage = 1000

// CallsSince implements store.CallStore. Each page is a range scan of the index on
// (created_at, id) from the last call of the previous one, read whole before fn sees it.
func (s *Store) CallsSince(ctx context.Context, since time.Time, fn func(api.Call) error) (err error) {
	defer s.unavailable(&err)
	page, err := s.callsFrom(ctx, `created_at >= ?`, since.UnixNano())
	for err == nil {
		for _, c := range page {
			if err := fn(c); err != nil {
				return err
			}
		}
		if len(page) < callsPage {
			return nil
		}
		last := page[len(page)-1]
		page, err = s.callsFrom(ctx, `(created_at, id) > (?, ?)`, last.CreatedAt.UnixNano(), last.ID)
	}
	return err
}

// callsFrom reads the first callsPage calls matching where, oldest first.
func (s *Store) callsFrom(ctx context.Context, where string, args ...any) ([]api.Call, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+callColumns+` FROM calls WHERE `+where+`
		ORDER BY created_at, id LIMIT ?`, append(args, callsPage)...)
	if err != nil {
		return nil, fmt.Errorf("read calls: %w", err)
	}
	defer rows.Close()
	page := make([]api.Call, 0, callsPage)
	for rows.Next() {
		c, err := scanCall(rows)
		if err != nil {
			return nil, err
		}
		page = append(page, c)
	}
	return page, rows.Err()
}

// PruneCalls implements store.CallStore. It deletes in batches, each its own transaction, so
// that a large backlog does not hold up enqueues; a cancelled ctx stops it between batches,
// with the count deleted so far.
func (s *Store) PruneCalls(ctx context.Context, before time.Time) (_ int, err error) {
	defer s.unavailable(&err)
	if err := s.writable(); err != nil {
		return 0, err
	}
	total := 0
	for {
		r, err := s.db.ExecContext(ctx, `DELETE FROM calls WHERE id IN (SELECT id FROM calls
			WHERE finished_at < ? AND status NOT IN ('queued', 'running') LIMIT ?)`,
			before.UnixNano(), pruneBatch)
		if err != nil {
			return total, fmt.Errorf("prune calls: %w", err)
		}
		n, err := r.RowsAffected()
		total += int(n)
		if err != nil || n < pruneBatch {
			return total, err
		}
	}
}

// oneRow turns an update that matched no row into store.ErrNotFound.
func oneRow(r sql.Result, what string) error {
	n, err := r.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}
