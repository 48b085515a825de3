package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/store"
)

// This file implements store.AliasStore: the current version chosen by a rollback, aliases
// (weights as JSON in aliases.weights) and the default alias (functions.default_alias).

// SetCurrent implements store.AliasStore.
func (s *Store) SetCurrent(ctx context.Context, name string, number int) (_ api.Function, err error) {
	defer s.unavailable(&err)
	if err := s.writable(); err != nil {
		return api.Function{}, err
	}
	res, err := s.db.ExecContext(ctx, `UPDATE functions SET current_version = ?, updated_at = ?
		WHERE name = ? AND EXISTS (SELECT 1 FROM versions WHERE function = ? AND number = ?)`,
		number, s.now().UnixNano(), name, name, number)
	if err != nil {
		return api.Function{}, fmt.Errorf("set current version of %s: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := s.GetFunction(ctx, name); err != nil {
			return api.Function{}, err
		}
		return api.Function{}, fmt.Errorf("version %d of %q: %w", number, name, store.ErrNotFound)
	}
	return s.GetFunction(ctx, name)
}

// PutAlias implements store.AliasStore.
func (s *Store) PutAlias(ctx context.Context, name string, a api.Alias) (err error) {
	defer s.unavailable(&err)
	weights, err := json.Marshal(a.Weights)
	if err != nil {
		return err
	}
	at := a.UpdatedAt
	if at.IsZero() {
		at = s.now()
	}
	// The function must exist: the foreign key would say so only as a constraint error.
	return s.execOne(ctx, "save", "function", name, `INSERT INTO aliases (function, name, weights, updated_at)
		SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM functions WHERE name = ?)
		ON CONFLICT (function, name) DO UPDATE SET weights = excluded.weights, updated_at = excluded.updated_at`,
		name, a.Name, string(weights), at.UnixNano(), name)
}

// ListAliases implements store.AliasStore.
func (s *Store) ListAliases(ctx context.Context, name string) (_ []api.Alias, err error) {
	defer s.unavailable(&err)
	var def string
	err = s.rdb.QueryRowContext(ctx, `SELECT default_alias FROM functions WHERE name = ?`, name).Scan(&def)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("function %q: %w", name, store.ErrNotFound)
	} else if err != nil {
		return nil, err
	}
	as, err := queryAll(ctx, s.rdb, scanAlias, `SELECT name, weights, updated_at FROM aliases
		WHERE function = ? ORDER BY name`, name)
	if err != nil {
		return nil, fmt.Errorf("list aliases of %s: %w", name, err)
	}
	for i := range as {
		as[i].Default = as[i].Name == def
	}
	return as, nil
}

// DeleteAlias implements store.AliasStore.
func (s *Store) DeleteAlias(ctx context.Context, name, alias string) (err error) {
	defer s.unavailable(&err)
	if err := s.writable(); err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	res, err := tx.ExecContext(ctx, `DELETE FROM aliases WHERE function = ? AND name = ?`, name, alias)
	if err != nil {
		return fmt.Errorf("delete alias %s of %s: %w", alias, name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("alias %q of %q: %w", alias, name, store.ErrNotFound)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE functions SET default_alias = '' WHERE name = ? AND default_alias = ?`,
		name, alias); err != nil {
		return fmt.Errorf("clear default alias of %s: %w", name, err)
	}
	return tx.Commit()
}

// SetDefaultAlias implements store.AliasStore.
func (s *Store) SetDefaultAlias(ctx context.Context, name, alias string) (err error) {
	defer s.unavailable(&err)
	if alias == "" {
		return s.execOne(ctx, "clear default alias of", "function", name,
			`UPDATE functions SET default_alias = '' WHERE name = ?`, name)
	}
	err = s.execOne(ctx, "set default alias of", "function", name, `UPDATE functions SET default_alias = ?
		WHERE name = ? AND EXISTS (SELECT 1 FROM aliases WHERE function = ? AND name = ?)`, alias, name, name, alias)
	if errors.Is(err, store.ErrNotFound) {
		if _, gerr := s.GetFunction(ctx, name); gerr != nil {
			return gerr
		}
		return fmt.Errorf("alias %q of %q: %w", alias, name, store.ErrNotFound)
	}
	return err
}

func scanAlias(row scanner) (api.Alias, error) {
	var (
		a       api.Alias
		weights string
		updated int64
	)
	if err := row.Scan(&a.Name, &weights, &updated); err != nil {
		return api.Alias{}, err
	}
	a.UpdatedAt = time.Unix(0, updated).UTC()
	if err := json.Unmarshal([]byte(weights), &a.Weights); err != nil {
		return api.Alias{}, fmt.Errorf("decode weights of alias %s: %w", a.Name, err)
	}
	return a, nil
}
