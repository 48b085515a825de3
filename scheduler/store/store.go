// Package store is the scheduler's persistent state: functions and their versions, call records
// and the durable async queue, API tokens, and the cluster's nodes and join tokens. The
// interfaces are small so that each consumer can declare the slice it needs; sqlstore implements
// them on SQLite, and storetest is the conformance suite any implementation must pass.
//
// Where to read next: scheduler/store/sqlstore (SQLite, migrations), scheduler/registry (the
// main consumer).
package store

import (
	"context"
	"errors"
	"io"

	"github.com/hearthfn/hearth/api"
)

var (
	// ErrNotFound: no function (or version) with that name, or no call with that id (in the
	// state the operation needs).
	ErrNotFound = errors.New("not found")
	// ErrUnavailable: the store cannot be used now though the request is sound (the database
	// is locked by another process past the busy timeout, read-only, or its disk is full or
	// failing). Nothing was written; the same request may succeed later (503, Retry-After).
	ErrUnavailable = errors.New("store unavailable")
)

// FunctionStore keeps functions and their versions. A function exists while it has at least one
// version; its current version is the newest one unless AliasStore.SetCurrent chose another.
type FunctionStore interface {
	// AddVersion records a new version of the function name, creating the function when it does
	// not exist, and makes it current. The version number is assigned here (one more than the
	// newest, starting at 1); v.Number is ignored. It returns the function as it now is.
	AddVersion(ctx context.Context, name string, v api.Version) (api.Function, error)

	// GetFunction returns a function with its current version. ErrNotFound when unknown.
	GetFunction(ctx context.Context, name string) (api.Function, error)

	// ListFunctions returns every function, sorted by name.
	ListFunctions(ctx context.Context) ([]api.Function, error)

	// ListVersions returns a function's versions, newest first. ErrNotFound when unknown.
	ListVersions(ctx context.Context, name string) ([]api.Version, error)

	// DeleteFunction removes a function and all its versions. ErrNotFound when unknown.
	DeleteFunction(ctx context.Context, name string) error
}

// Store is everything the scheduler persists.
type Store interface {
	FunctionStore
	AliasStore
	CallStore
	TokenStore
	NodeStore
	JoinTokenStore
	SecretStore
	TriggerStore
	io.Closer
}
