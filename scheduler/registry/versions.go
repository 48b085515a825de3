package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/store"
)

// Versions returns the versions of a function that page selects, newest first, the current
// one marked and each with the aliases that send it calls. Errors: store.ErrNotFound.
func (r *Registry) Versions(ctx context.Context, name string, page store.VersionPage) ([]api.Version, error) {
	vs, err := r.store.ListVersions(ctx, name, page)
	if err != nil {
		return nil, err
	}
	fn, err := r.store.GetFunction(ctx, name)
	if err != nil {
		return nil, err
	}
	aliases, err := r.store.ListAliases(ctx, name)
	if err != nil {
		return nil, err
	}
	for i := range vs {
		vs[i].Current = vs[i].Number == fn.Version.Number
		for _, a := range aliases {
			if slices.ContainsFunc(a.Weights, func(w api.AliasWeight) bool { return w.Version == vs[i].Number && w.Weight > 0 }) {
				vs[i].Aliases = append(vs[i].Aliases, a.Name)
			}
		}
	}
	return vs, nil
}

// Rollback makes an earlier version of the function current again, without a new version
// number: the pool moves to it as it moves to a new deploy (instances of the version that was
// current drain after their calls in flight). version 0 takes the newest version older than
// the current one. It returns the function as it now is and the version that was current.
// Errors: store.ErrNotFound for an unknown function; a *RequestError (field "version") when
// there is no such version, no older one, or it is the current one already.
func (r *Registry) Rollback(ctx context.Context, name string, version int) (api.Function, int, error) {
	unlock := r.lock(name)
	defer unlock()
	cur, err := r.store.GetFunction(ctx, name)
	if err != nil {
		return api.Function{}, 0, err
	}
	was := cur.Version.Number
	bad := func(format string, args ...any) error {
		return &RequestError{Field: "version", Reason: fmt.Sprintf(format, args...)}
	}
	switch {
	case version < 0:
		return api.Function{}, 0, bad("version %d: versions are numbered from 1", version)
	case version == 0:
		older, err := r.store.ListVersions(ctx, name, store.VersionPage{Before: was, Limit: 1})
		if err != nil {
			return api.Function{}, 0, err
		}
		if len(older) == 0 {
			return api.Function{}, 0, bad("%s has no version older than its current version %d to roll back to", name, was)
		}
		version = older[0].Number
	case version == was:
		return api.Function{}, 0, bad("version %d of %s is current already", version, name)
	default:
		if _, err := r.store.GetVersion(ctx, name, version); errors.Is(err, store.ErrNotFound) {
			newest, err := r.newest(ctx, name)
			if err != nil {
				return api.Function{}, 0, err
			}
			return api.Function{}, 0, bad("%s has no version %d (its versions are 1 to %d: hearth versions %s)", name, version, newest, name)
		} else if err != nil {
			return api.Function{}, 0, err
		}
	}
	fn, err := r.store.SetCurrent(ctx, name, version)
	if err != nil {
		return api.Function{}, 0, fmt.Errorf("make version %d of %s current: %w", version, name, err)
	}
	r.pool.Apply(fn)
	if err := r.route(ctx, fn); err != nil {
		return api.Function{}, 0, err
	}
	r.log.Info("rolled back", "function", name, "version", version, "was", was)
	return r.decorate(fn), was, nil
}
