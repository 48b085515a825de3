package store

import (
	"context"

	"github.com/hearthfn/hearth/api"
)

// AliasStore keeps what routes a function's calls beyond "the newest version": which version is
// current (a rollback makes an older one current again), its named aliases with their weights,
// and its default alias. Rules about what may be routed where (the versions exist, the weights
// add up) are the registry's; the store checks only that what is named exists.
type AliasStore interface {
	// SetCurrent makes version number of the function name its current version and returns the
	// function as it now is. ErrNotFound for an unknown function or version.
	SetCurrent(ctx context.Context, name string, number int) (api.Function, error)

	// PutAlias creates or replaces the alias a.Name of the function name (a.UpdatedAt, when
	// zero, is now). ErrNotFound for an unknown function.
	PutAlias(ctx context.Context, name string, a api.Alias) error

	// ListAliases returns a function's aliases sorted by name, with Default set on the default
	// one. ErrNotFound for an unknown function.
	ListAliases(ctx context.Context, name string) ([]api.Alias, error)

	// DeleteAlias removes an alias; when it was the default, the function has none after.
	// ErrNotFound for an unknown function or alias.
	DeleteAlias(ctx context.Context, name, alias string) error

	// SetDefaultAlias makes alias the function's default alias; "" clears it. ErrNotFound for
	// an unknown function or alias.
	SetDefaultAlias(ctx context.Context, name, alias string) error
}
