package registry

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/store"
)

// This file keeps a function's aliases and the pool entries they need. The pool runs one
// version per entry: the entry "NAME" runs the current version, and every other version that
// takes calls, because an alias routes some to it or a call pinned it (/invoke/NAME@3), gets an
// entry "NAME@3" of its own. After every change of what serves (deploy, settings, rollback,
// alias changes, server start) route works out the versions that need an entry and applies or
// removes entries to match. The router reads the function's Routing on every call.

// Store is what the registry keeps its data in.
type Store interface {
	store.FunctionStore
	store.AliasStore
}

// ErrInvalidRequest: a request the registry cannot carry out as asked (a *RequestError says
// which field and why).
var ErrInvalidRequest = errors.New("invalid request")

// ErrConflict: a request the registry cannot carry out in the function's present state (a
// *ConflictError says why).
var ErrConflict = errors.New("conflict")

// RequestError is a request refused because of one of its fields (400).
type RequestError struct {
	Field, Reason string
}

func (e *RequestError) Error() string { return e.Reason }

// Unwrap returns ErrInvalidRequest.
func (e *RequestError) Unwrap() error { return ErrInvalidRequest }

// InvalidField names the request's field at fault, for the API's error body.
func (e *RequestError) InvalidField() string { return e.Field }

// ConflictError is a request refused in the function's present state (409).
type ConflictError struct{ Reason string }

func (e *ConflictError) Error() string { return e.Reason }

// Unwrap returns ErrConflict.
func (e *ConflictError) Unwrap() error { return ErrConflict }

// Conflict marks the error as a 409 for the API.
func (e *ConflictError) Conflict() {}

// routes are every function's Routing and extra pool entries.
type routes struct {
	mu  sync.RWMutex
	fns map[string]*fnRoutes // guarded by mu
}

type fnRoutes struct {
	table api.Routing
	// applied are the versions with a pool entry "NAME@N", true when it was applied as pinned
	// only (no min_instances kept warm for it). nil until one is (most functions serve their
	// current version only), as pinned is.
	applied map[int]bool
	// pinned are the versions a call pinned: their entries stay until the version is current
	// or the function is deleted.
	pinned map[int]bool
}

func (fr *fnRoutes) apply(version int, pinnedOnly bool) {
	if fr.applied == nil {
		fr.applied = map[int]bool{}
	}
	fr.applied[version] = pinnedOnly
}

func (fr *fnRoutes) pin(version int) {
	if fr.pinned == nil {
		fr.pinned = map[int]bool{}
	}
	fr.pinned[version] = true
}

// EntryName is the pool entry of a function's version that is not current.
func EntryName(function string, version int) string {
	return function + "@" + strconv.Itoa(version)
}

// Routing returns how calls to function are routed; the zero Routing (no aliases, current
// version 0) for a function the registry has not routed. It is on every call's path.
func (r *Registry) Routing(function string) api.Routing {
	r.routes.mu.RLock()
	defer r.routes.mu.RUnlock()
	if fr := r.routes.fns[function]; fr != nil {
		return fr.table
	}
	return api.Routing{}
}

// Pin makes sure version of function can take calls and returns the pool entry that serves
// it: "NAME" for the current version, else "NAME@N", applied to the pool on first use. Errors:
// store.ErrNotFound (wrapped, naming the version) when there is no such version.
func (r *Registry) Pin(ctx context.Context, function string, version int) (string, error) {
	r.routes.mu.RLock()
	fr := r.routes.fns[function]
	if fr != nil {
		_, applied := fr.applied[version]
		if fr.table.Current == version || applied {
			entry := entryOf(function, version, fr.table.Current)
			r.routes.mu.RUnlock()
			return entry, nil
		}
	}
	r.routes.mu.RUnlock()

	v, err := r.version(ctx, function, version)
	if err != nil {
		return "", err
	}
	r.routes.mu.Lock()
	defer r.routes.mu.Unlock()
	fr = r.routes.fns[function]
	if fr == nil {
		return "", fmt.Errorf("function %q: %w", function, store.ErrNotFound)
	}
	if fr.table.Current == version {
		return function, nil
	}
	fr.pin(version)
	if _, ok := fr.applied[version]; !ok {
		r.applyEntry(function, v, true)
		fr.apply(version, true)
	}
	return EntryName(function, version), nil
}

// entryOf is the pool entry that serves version of function whose current version is current.
func entryOf(function string, version, current int) string {
	if version == current {
		return function
	}
	return EntryName(function, version)
}

// version returns one version of a function; store.ErrNotFound naming it when there is none.
func (r *Registry) version(ctx context.Context, function string, number int) (api.Version, error) {
	v, err := r.store.GetVersion(ctx, function, number)
	if !errors.Is(err, store.ErrNotFound) {
		return v, err
	}
	newest, err := r.newest(ctx, function)
	if err != nil {
		return api.Version{}, err
	}
	return api.Version{}, &notFoundError{fmt.Sprintf("function %s has no version %d (its newest is %d)", function, number, newest)}
}

// newest returns the number of a function's newest version. Errors: store.ErrNotFound.
func (r *Registry) newest(ctx context.Context, function string) (int, error) {
	vs, err := r.store.ListVersions(ctx, function, store.VersionPage{Limit: 1})
	if err != nil {
		return 0, err
	}
	if len(vs) == 0 { // a function is deleted with its versions: gone since
		return 0, fmt.Errorf("function %q: %w", function, store.ErrNotFound)
	}
	return vs[0].Number, nil
}

// notFoundError is store.ErrNotFound with a message for the caller.
type notFoundError struct{ msg string }

func (e *notFoundError) Error() string { return e.msg }
func (e *notFoundError) Unwrap() error { return store.ErrNotFound }

// applyEntry hands the pool the entry of version v of function. A version only pinned keeps
// no instance warm: min_instances is for the versions calls are routed to.
func (r *Registry) applyEntry(function string, v api.Version, pinnedOnly bool) {
	if pinnedOnly {
		v.Spec.MinInstances = 0
	}
	r.pool.Apply(api.Function{Name: EntryName(function, v.Number), Version: v})
}

// route brings fn's Routing and extra pool entries in line with its current version and
// aliases; fn is the function as the store now has it. Callers hold the function's lock, or
// run before anything else can change it (Restore).
func (r *Registry) route(ctx context.Context, fn api.Function) error {
	aliases, err := r.store.ListAliases(ctx, fn.Name)
	if err != nil {
		return fmt.Errorf("load the aliases of %s: %w", fn.Name, err)
	}
	table := api.Routing{Current: fn.Version.Number, Default: fn.DefaultAlias}
	want := map[int]bool{} // versions an alias sends calls to, besides the current one
	for _, a := range aliases {
		if table.Aliases == nil { // most functions have none: no map kept for each
			table.Aliases = map[string][]api.AliasWeight{}
		}
		table.Aliases[a.Name] = a.Weights
		for _, w := range a.Weights {
			if w.Weight > 0 && w.Version != fn.Version.Number {
				want[w.Version] = true
			}
		}
	}
	r.routes.mu.RLock()
	fr := r.routes.fns[fn.Name]
	missing := false // a version to apply as routed that is not applied so yet
	for v := range want {
		if fr == nil {
			missing = true
			break
		}
		if pinnedOnly, ok := fr.applied[v]; !ok || pinnedOnly {
			missing = true
		}
	}
	r.routes.mu.RUnlock()
	// The versions to apply, read one by one: a function with a long history is not read whole.
	versions := map[int]api.Version{}
	if missing {
		for n := range want {
			v, err := r.store.GetVersion(ctx, fn.Name, n)
			if errors.Is(err, store.ErrNotFound) {
				continue // said below, where the version is needed
			} else if err != nil {
				return fmt.Errorf("load version %d of %s: %w", n, fn.Name, err)
			}
			versions[n] = v
		}
	}

	r.routes.mu.Lock()
	defer r.routes.mu.Unlock()
	fr = r.routes.fns[fn.Name]
	if fr == nil {
		fr = &fnRoutes{}
		r.routes.fns[fn.Name] = fr
	}
	fr.table = table
	for _, n := range slices.Sorted(maps.Keys(want)) {
		if pinnedOnly, ok := fr.applied[n]; ok && !pinnedOnly {
			continue
		}
		v, ok := versions[n]
		if !ok {
			return fmt.Errorf("an alias of %s routes to version %d, which is unknown: %w", fn.Name, n, store.ErrNotFound)
		}
		r.applyEntry(fn.Name, v, false)
		fr.apply(n, false)
		r.log.Info("serving a version besides the current one", "function", fn.Name, "version", n)
	}
	for n, pinnedOnly := range fr.applied {
		switch {
		case n == fn.Version.Number:
			delete(fr.pinned, n)
		case want[n]:
			continue
		case fr.pinned[n]:
			if !pinnedOnly {
				v, ok := versions[n]
				if !ok {
					if v, err = r.version(ctx, fn.Name, n); err != nil {
						return err
					}
				}
				r.applyEntry(fn.Name, v, true)
				fr.apply(n, true)
			}
			continue
		}
		r.pool.Remove(EntryName(fn.Name, n))
		delete(fr.applied, n)
		r.log.Info("no longer serving a version besides the current one", "function", fn.Name, "version", n)
	}
	return nil
}

// reroute is route for a change that has been made already (a deploy, a settings change): a
// failure is logged, and the next change or server start routes again.
func (r *Registry) reroute(ctx context.Context, fn api.Function) {
	if err := r.route(ctx, fn); err != nil {
		r.log.Error("could not route calls to the versions the aliases name", "function", fn.Name, "error", err)
	}
}

// unroute forgets a deleted function's routing and removes its extra pool entries.
func (r *Registry) unroute(function string) {
	r.routes.mu.Lock()
	defer r.routes.mu.Unlock()
	fr := r.routes.fns[function]
	if fr == nil {
		return
	}
	delete(r.routes.fns, function)
	for n := range fr.applied {
		r.pool.Remove(EntryName(function, n))
	}
}

// extraStatus merges into st the instances of fn's extra pool entries: an inspect shows every
// instance of the function, each with its version.
func (r *Registry) extraStatus(function string, st *api.PoolStatus) {
	r.routes.mu.RLock()
	var entries []string
	if fr := r.routes.fns[function]; fr != nil {
		for _, n := range slices.Sorted(maps.Keys(fr.applied)) {
			entries = append(entries, EntryName(function, n))
		}
	}
	r.routes.mu.RUnlock()
	for _, e := range entries {
		if more, ok := r.pool.Status(e); ok {
			st.Instances = append(st.Instances, more.Instances...)
		}
	}
	slices.SortStableFunc(st.Instances, func(a, b api.InstanceStatus) int { return a.StartedAt.Compare(b.StartedAt) })
}

// Aliases returns a function's aliases, sorted by name. Errors: store.ErrNotFound.
func (r *Registry) Aliases(ctx context.Context, name string) ([]api.Alias, error) {
	return r.store.ListAliases(ctx, name)
}

// SetAlias creates or replaces an alias of the function name, routing its calls to versions by
// weight, and returns it. Errors: store.ErrNotFound for an unknown function; an *api.AliasError
// for a bad name or weights, or a version the function does not have.
func (r *Registry) SetAlias(ctx context.Context, name, alias string, weights []api.AliasWeight) (api.Alias, error) {
	if err := api.ValidateAliasName(alias); err != nil {
		return api.Alias{}, err
	}
	if err := api.ValidateWeights(weights); err != nil {
		return api.Alias{}, err
	}
	unlock := r.lock(name)
	defer unlock()
	newest, err := r.newest(ctx, name)
	if err != nil {
		return api.Alias{}, err
	}
	for _, w := range weights {
		// Versions are numbered from 1 and never deleted: 1 to the newest all exist.
		if w.Version < 1 || w.Version > newest {
			return api.Alias{}, &api.AliasError{Field: "weights", Reason: fmt.Sprintf(
				"function %s has no version %d (its versions are 1 to %d: hearth versions %s)", name, w.Version, newest, name)}
		}
	}
	if err := r.store.PutAlias(ctx, name, api.Alias{Name: alias, Weights: weights}); err != nil {
		return api.Alias{}, err
	}
	if err := r.routeNow(ctx, name); err != nil {
		return api.Alias{}, err
	}
	r.log.Info("alias set", "function", name, "alias", alias, "weights", api.FormatWeights(weights))
	as, err := r.store.ListAliases(ctx, name)
	if err != nil {
		return api.Alias{}, err
	}
	for _, a := range as {
		if a.Name == alias {
			return a, nil
		}
	}
	return api.Alias{}, fmt.Errorf("alias %q of %q: %w", alias, name, store.ErrNotFound)
}

// DeleteAlias removes an alias. The function's default alias cannot go while it is the
// default (a *ConflictError): /invoke/NAME would quietly start calling another version.
// Errors: store.ErrNotFound for an unknown function or alias.
func (r *Registry) DeleteAlias(ctx context.Context, name, alias string) error {
	unlock := r.lock(name)
	defer unlock()
	fn, err := r.store.GetFunction(ctx, name)
	if err != nil {
		return err
	}
	if fn.DefaultAlias == alias {
		return &ConflictError{Reason: fmt.Sprintf(
			"alias %s is the default alias of %s: clear the default first (hearth alias default %s --clear), or make another alias the default", alias, name, name)}
	}
	if err := r.store.DeleteAlias(ctx, name, alias); err != nil {
		return err
	}
	r.log.Info("alias deleted", "function", name, "alias", alias)
	return r.routeNow(ctx, name)
}

// SetDefaultAlias makes /invoke/NAME follow alias; "" makes it call the current version again.
// It returns the function. Errors: store.ErrNotFound for an unknown function or alias.
func (r *Registry) SetDefaultAlias(ctx context.Context, name, alias string) (api.Function, error) {
	if alias != "" {
		if err := api.ValidateAliasName(alias); err != nil {
			return api.Function{}, err
		}
	}
	unlock := r.lock(name)
	defer unlock()
	if err := r.store.SetDefaultAlias(ctx, name, alias); err != nil {
		return api.Function{}, err
	}
	if err := r.routeNow(ctx, name); err != nil {
		return api.Function{}, err
	}
	r.log.Info("default alias set", "function", name, "alias", alias)
	return r.Get(ctx, name)
}

// routeNow routes the function as the store has it now.
func (r *Registry) routeNow(ctx context.Context, name string) error {
	fn, err := r.store.GetFunction(ctx, name)
	if err != nil {
		return err
	}
	return r.route(ctx, fn)
}
