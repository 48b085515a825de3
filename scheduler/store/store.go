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

	// ListFunctions returns the functions that page selects, sorted by name. A page costs what
	// its own functions cost, however many others there are: the store reads them through an
	// index, never all to keep some.
	ListFunctions(ctx context.Context, page FunctionPage) ([]api.Function, error)

	// ListVersions returns the versions of a function that page selects, newest first, each
	// through the function's index. An empty page of a known function is no error (the
	// versions before the first one); ErrNotFound when the function is unknown.
	ListVersions(ctx context.Context, name string, page VersionPage) ([]api.Version, error)

	// GetVersion returns one version of a function. ErrNotFound when the function or the
	// version is unknown.
	GetVersion(ctx context.Context, name string, number int) (api.Version, error)

	// DeleteFunction removes a function and all its versions. ErrNotFound when unknown.
	DeleteFunction(ctx context.Context, name string) error
}

// FunctionPage selects a page of ListFunctions. The zero FunctionPage is every function.
type FunctionPage struct {
	// After keeps the functions whose names sort after it: the last name of the page before.
	After string
	// Limit bounds the page; zero or less is no bound.
	Limit int
	// Names, when not nil, keeps only the functions named (a token limited to some functions);
	// an empty, non-nil Names keeps none.
	Names []string
}

// VersionPage selects a page of ListVersions. The zero VersionPage is every version.
type VersionPage struct {
	// Before keeps the versions numbered below it (the oldest of the page before); zero keeps
	// them all.
	Before int
	// Limit bounds the page; zero or less is no bound.
	Limit int
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
