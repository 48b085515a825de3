package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/hearthfn/hearth/api"
)

// Rollback makes an earlier version of a function current again (POST
// /v1/functions/{name}/rollback); version 0 means the one before the current one. It returns
// the function as it now is. No such version, or the current one, gives an error matching
// ErrInvalid.
func (c *Client) Rollback(ctx context.Context, name string, version int) (api.Function, error) {
	p, err := functionPath(name)
	if err != nil {
		return api.Function{}, err
	}
	var f api.Function
	if err := c.doJSONBody(ctx, http.MethodPost, p+"/rollback", api.RollbackRequest{Version: version}, &f); err != nil {
		return api.Function{}, err
	}
	return f, nil
}

// ListAliases returns a function's aliases, sorted by name (GET /v1/functions/{name}/aliases).
func (c *Client) ListAliases(ctx context.Context, name string) ([]api.Alias, error) {
	p, err := functionPath(name)
	if err != nil {
		return nil, err
	}
	var l api.AliasList
	if err := c.doJSON(ctx, http.MethodGet, p+"/aliases", &l); err != nil {
		return nil, err
	}
	return l.Items, nil
}

// SetAlias creates or replaces an alias of a function (PUT
// /v1/functions/{name}/aliases/{alias}). Bad weights or an unknown version give an error
// matching ErrInvalid.
func (c *Client) SetAlias(ctx context.Context, name, alias string, weights []api.AliasWeight) (api.Alias, error) {
	p, err := functionPath(name)
	if err != nil {
		return api.Alias{}, err
	}
	var a api.Alias
	if err := c.doJSONBody(ctx, http.MethodPut, p+"/aliases/"+url.PathEscape(alias), api.AliasRequest{Weights: weights}, &a); err != nil {
		return api.Alias{}, err
	}
	return a, nil
}

// DeleteAlias removes an alias (DELETE /v1/functions/{name}/aliases/{alias}). The default
// alias cannot be removed while it is the default: an error matching ErrConflict.
func (c *Client) DeleteAlias(ctx context.Context, name, alias string) error {
	p, err := functionPath(name)
	if err != nil {
		return err
	}
	return c.doJSON(ctx, http.MethodDelete, p+"/aliases/"+url.PathEscape(alias), nil)
}

// SetDefaultAlias makes /invoke/NAME follow alias; "" makes it call the current version (PUT
// /v1/functions/{name}/default-alias). It returns the function.
func (c *Client) SetDefaultAlias(ctx context.Context, name, alias string) (api.Function, error) {
	p, err := functionPath(name)
	if err != nil {
		return api.Function{}, err
	}
	var f api.Function
	if err := c.doJSONBody(ctx, http.MethodPut, p+"/default-alias", api.DefaultAliasRequest{Alias: alias}, &f); err != nil {
		return api.Function{}, err
	}
	return f, nil
}
