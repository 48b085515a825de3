package registry

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/runtimes/funcfile"
)

// Configure changes a function's settings without a build: patch is applied to the current
// version's spec (env merged key by key), the result is validated as func.yaml would be, and a
// new version with the same image and source hash and the new spec is recorded and handed to the
// pool. A patch that changes nothing (once defaults are filled in) records nothing and returns
// the current version. It waits for a deploy or delete of the same function in progress.
// Errors: store.ErrNotFound for an unknown function; a *funcfile.FieldError (wrapping
// funcfile.ErrInvalid) naming the setting as the API names it for a value that is not
// acceptable.
func (r *Registry) Configure(ctx context.Context, name string, patch api.ConfigPatch) (api.Function, error) {
	unlock := r.lock(name)
	defer unlock()

	cur, err := r.store.GetFunction(ctx, name)
	if err != nil {
		return api.Function{}, err
	}
	spec := patch.Apply(cur.Version.Spec)
	if err := funcfile.Validate(withExplicitZeros(spec, patch)); err != nil {
		return api.Function{}, settingError(err)
	}
	if sameSettings(cur.Version.Spec, spec) {
		r.log.Info("configured unchanged; current version kept", "function", name, "version", cur.Version.Number)
		return r.decorate(cur), nil
	}
	fn, err := r.store.AddVersion(ctx, name, api.Version{Image: cur.Version.Image, SourceHash: cur.Version.SourceHash,
		Spec: spec, CreatedAt: time.Now()})
	if err != nil {
		return api.Function{}, fmt.Errorf("record new version of %s: %w", name, err)
	}
	r.pool.Apply(fn)
	r.reroute(ctx, fn)
	r.log.Info("configured", "function", name, "version", fn.Version.Number)
	return r.decorate(fn), nil
}

// withExplicitZeros returns s with every setting the patch sets to 0, where 0 is not a valid
// value, made -1. WithDefaults reads a zero as "use the default", so without this a patch
// writing memory 0 would quietly reset memory instead of being refused, as func.yaml's
// "memory: 0" is. Validate reports -1 with the field's usual reason.
func withExplicitZeros(s api.FunctionSpec, p api.ConfigPatch) api.FunctionSpec {
	if p.MemoryMB != nil && *p.MemoryMB == 0 {
		s.MemoryMB = -1
	}
	for _, d := range []struct {
		set *api.Duration
		dst *api.Duration
	}{{p.Timeout, &s.Timeout}, {p.IdleTimeout, &s.IdleTimeout}, {p.PauseTimeout, &s.PauseTimeout}} {
		if d.set != nil && *d.set == 0 {
			*d.dst = -1
		}
	}
	for _, n := range []struct {
		set *int
		dst *int
	}{{p.Concurrency, &s.Concurrency}, {p.MaxInstances, &s.MaxInstances}, {p.Queue, &s.Queue}} {
		if n.set != nil && *n.set == 0 {
			*n.dst = -1
		}
	}
	return s
}

// sameSettings reports whether two specs run a function the same way: equal once defaults are
// filled in, an empty env being no env.
func sameSettings(a, b api.FunctionSpec) bool {
	a, b = a.WithDefaults(), b.WithDefaults()
	if len(a.Env) == 0 {
		a.Env = nil
	}
	if len(b.Env) == 0 {
		b.Env = nil
	}
	return reflect.DeepEqual(a, b)
}

// settingError turns the first problem Validate found into a *SettingError. The settings have
// func.yaml's names ("memory", "cpu"), so the field and its reason are Validate's own.
func settingError(err error) error {
	var fe *funcfile.FieldError
	if !errors.As(err, &fe) {
		return err
	}
	return &SettingError{field: &funcfile.FieldError{Field: fe.Field, Reason: fe.Reason}}
}

// SettingError is a setting Configure refused. It unwraps to a *funcfile.FieldError whose Field
// is the setting's API name ("memory", "env.KEY"), so errors.As and errors.Is(err,
// funcfile.ErrInvalid) work on it as on a func.yaml problem; only its message differs, since
// the value came from the API rather than from func.yaml.
type SettingError struct {
	field *funcfile.FieldError
}

// Error formats the problem as `setting "queue": must be ...`.
func (e *SettingError) Error() string {
	return fmt.Sprintf("setting %q: %s", e.field.Field, e.field.Reason)
}

// Unwrap returns the *funcfile.FieldError.
func (e *SettingError) Unwrap() error { return e.field }
