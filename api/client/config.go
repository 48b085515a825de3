package client

import (
	"context"
	"net/http"

	"github.com/hearthfn/hearth/api"
)

// Configure changes a function's settings without a build (PATCH /v1/functions/{name}/config)
// and returns the function as it now is: a new version with the same image, or the current
// version when nothing changed. A value the server refuses gives an error matching ErrInvalid
// whose *Error names the setting in Detail.Field; an unknown name one matching ErrNotFound.
func (c *Client) Configure(ctx context.Context, name string, patch api.ConfigPatch) (api.Function, error) {
	p, err := functionPath(name)
	if err != nil {
		return api.Function{}, err
	}
	var f api.Function
	if err := c.doJSONBody(ctx, http.MethodPatch, p+"/config", patch, &f); err != nil {
		return api.Function{}, err
	}
	return f, nil
}
