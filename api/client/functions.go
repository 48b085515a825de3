package client

import (
	"context"
	"net/http"

	"github.com/hearthfn/hearth/api"
)

// ListFunctions returns every deployed function (GET /v1/functions).
func (c *Client) ListFunctions(ctx context.Context) ([]api.Function, error) {
	var l api.FunctionList
	if err := c.doJSON(ctx, http.MethodGet, "/v1/functions", &l); err != nil {
		return nil, err
	}
	return l.Items, nil
}

// GetFunction returns one function with its pool (GET /v1/functions/{name}). An unknown name
// gives an error matching ErrNotFound.
func (c *Client) GetFunction(ctx context.Context, name string) (api.Function, error) {
	p, err := functionPath(name)
	if err != nil {
		return api.Function{}, err
	}
	var f api.Function
	if err := c.doJSON(ctx, http.MethodGet, p, &f); err != nil {
		return api.Function{}, err
	}
	return f, nil
}

// DeleteFunction deletes a function and stops its instances (DELETE /v1/functions/{name}). An
// unknown name gives an error matching ErrNotFound.
func (c *Client) DeleteFunction(ctx context.Context, name string) error {
	p, err := functionPath(name)
	if err != nil {
		return err
	}
	return c.doJSON(ctx, http.MethodDelete, p, nil)
}

// ListVersions returns a function's versions, newest first (GET /v1/functions/{name}/versions).
func (c *Client) ListVersions(ctx context.Context, name string) ([]api.Version, error) {
	p, err := functionPath(name)
	if err != nil {
		return nil, err
	}
	var l api.VersionList
	if err := c.doJSON(ctx, http.MethodGet, p+"/versions", &l); err != nil {
		return nil, err
	}
	return l.Items, nil
}

// Info returns what the server says about itself (GET /v1/info): its version and whether its
// node's engine can be reached.
func (c *Client) Info(ctx context.Context) (api.Info, error) {
	var i api.Info
	if err := c.doJSON(ctx, http.MethodGet, "/v1/info", &i); err != nil {
		return api.Info{}, err
	}
	return i, nil
}
