package router

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/store"
)

// This file resolves what a call names, /invoke/NAME, NAME@ALIAS or NAME@3, to the pool entry
// that serves it: "NAME" runs the current version and "NAME@3" another version (see
// scheduler/registry/aliases.go). An alias with several versions picks one per call by weight.

// Aliases is where the router finds a function's aliases and other versions
// (scheduler/registry).
type Aliases interface {
	// Routing returns how calls to function are routed; the zero Routing when it has nothing
	// beyond its current version. It is on every call's path: cheap, no I/O.
	Routing(function string) api.Routing
	// Pin makes sure version of function can take calls and returns the pool entry serving it.
	// An unknown version is store.ErrNotFound, wrapped with a message naming it.
	Pin(ctx context.Context, function string, version int) (entry string, err error)
}

// SetAliases gives the router the function registry's aliases; without them, a call naming an
// alias or a version gets 404. Call it before the router serves.
func (rt *Router) SetAliases(a Aliases) { rt.aliases = a }

// target is where a call goes: the pool entry, and what the call's record says of it.
type target struct {
	entry string
	// alias is the alias the call came through, by name or as the default alias.
	alias string
	// pinned is the version the call named by number; 0 when it named none.
	pinned int
}

// errUnknownTarget: the call names an alias the function does not have.
var errUnknownTarget = errors.New("unknown alias")

// targetError is errUnknownTarget with the message the caller gets.
type targetError struct{ msg string }

func (e *targetError) Error() string { return e.msg }
func (e *targetError) Unwrap() error { return errUnknownTarget }

func unknownTarget(format string, args ...any) error {
	return &targetError{msg: fmt.Sprintf(format, args...)}
}

// resolve finds where a call to function with selector (after "@"; "" for none) goes. Errors:
// errUnknownTarget or store.ErrNotFound (wrapped, with a message for the caller) for an alias
// or version the function does not have; others from Pin (the store).
func (rt *Router) resolve(ctx context.Context, function, selector string) (target, error) {
	if rt.aliases == nil {
		if selector == "" {
			return target{entry: function}, nil
		}
		return target{}, unknownTarget("function %q has no alias or version %q", function, selector)
	}
	if n, ok := api.VersionSelector(selector); ok {
		entry, err := rt.aliases.Pin(ctx, function, n)
		return target{entry: entry, pinned: n}, err
	}
	rs := rt.aliases.Routing(function)
	alias := selector
	if alias == "" {
		if rs.Default == "" {
			return target{entry: function}, nil
		}
		alias = rs.Default
	}
	ws, ok := rs.Aliases[alias]
	if !ok {
		return target{}, unknownTarget("function %q has no alias %q (hearth alias list %s)", function, alias, function)
	}
	v := pickWeighted(ws, rt.randN)
	if v == rs.Current || v == 0 {
		return target{entry: function, alias: alias}, nil
	}
	return target{entry: function + "@" + strconv.Itoa(v), alias: alias}, nil
}

// pickWeighted picks a version of ws with a chance of its weight over the weights' sum; randN
// returns a number in [0, n). 0 when no version has a weight.
func pickWeighted(ws []api.AliasWeight, randN func(n int) int) int {
	total := 0
	for _, w := range ws {
		total += max(w.Weight, 0)
	}
	if total == 0 {
		return 0
	}
	x := randN(total)
	for _, w := range ws {
		if x < max(w.Weight, 0) {
			return w.Version
		}
		x -= max(w.Weight, 0)
	}
	return ws[len(ws)-1].Version
}

// defaultRandN is math/rand/v2's IntN: routing needs no more than an even spread.
func defaultRandN(n int) int { return rand.IntN(n) }

// isUnknownTarget reports whether err means the call named an alias or version the function
// does not have (404).
func isUnknownTarget(err error) bool {
	return errors.Is(err, errUnknownTarget) || errors.Is(err, store.ErrNotFound)
}

// targetError answers a call whose target could not be resolved and returns its outcome.
func (rt *Router) targetError(w http.ResponseWriter, function string, err error) string {
	if isUnknownTarget(err) {
		writeError(w, http.StatusNotFound, api.CodeNotFound, err.Error())
		return OutcomeNotFound
	}
	rt.log.Error("could not resolve a call's alias or version", "function", function, "error", err)
	w.Header().Set("Retry-After", "5")
	writeError(w, http.StatusServiceUnavailable, api.CodeUnavailable, fmt.Sprintf("could not route the call to %s: %v", function, err))
	return OutcomeUnavailable
}
