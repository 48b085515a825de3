package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/hearthfn/hearth/api"
)

// CreateToken makes an API token (POST /v1/tokens; an admin token only) and returns it with
// its secret, which the server shows this once. A bad request matches ErrInvalid with the field
// in the *Error's Detail.Field.
func (c *Client) CreateToken(ctx context.Context, req api.TokenRequest) (api.NewToken, error) {
	var t api.NewToken
	if err := c.doJSONBody(ctx, http.MethodPost, "/v1/tokens", req, &t); err != nil {
		return api.NewToken{}, err
	}
	return t, nil
}

// ListTokens returns every token, oldest first, without secrets (GET /v1/tokens).
func (c *Client) ListTokens(ctx context.Context) ([]api.Token, error) {
	var l api.TokenList
	if err := c.doJSON(ctx, http.MethodGet, "/v1/tokens", &l); err != nil {
		return nil, err
	}
	return l.Items, nil
}

// RevokeToken revokes the token with the given id (DELETE /v1/tokens/{id}); an unknown id
// matches ErrNotFound.
func (c *Client) RevokeToken(ctx context.Context, id string) error {
	if id == "" {
		return fmt.Errorf("%w: token id is empty", ErrInvalid)
	}
	return c.doJSON(ctx, http.MethodDelete, "/v1/tokens/"+url.PathEscape(id), nil)
}

// Self returns the token the client sends, as the server knows it (GET /v1/tokens/self): a way
// to check a token and see its role and scope.
func (c *Client) Self(ctx context.Context) (api.Token, error) {
	var t api.Token
	if err := c.doJSON(ctx, http.MethodGet, "/v1/tokens/self", &t); err != nil {
		return api.Token{}, err
	}
	return t, nil
}
