package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/hearthfn/hearth/api"
)

// ListNodes returns the cluster's nodes (GET /v1/nodes).
func (c *Client) ListNodes(ctx context.Context) ([]api.Node, error) {
	var l api.NodeList
	if err := c.doJSON(ctx, http.MethodGet, "/v1/nodes", &l); err != nil {
		return nil, err
	}
	return l.Items, nil
}

// DrainNode drains a node (drain true) or makes it take new instances again (POST
// /v1/nodes/{id}/drain or /undrain); an unknown id matches ErrNotFound.
func (c *Client) DrainNode(ctx context.Context, id string, drain bool) (api.Node, error) {
	if id == "" {
		return api.Node{}, fmt.Errorf("%w: node id is empty", ErrInvalid)
	}
	op := "/undrain"
	if drain {
		op = "/drain"
	}
	var n api.Node
	if err := c.doJSONBody(ctx, http.MethodPost, "/v1/nodes/"+url.PathEscape(id)+op, struct{}{}, &n); err != nil {
		return api.Node{}, err
	}
	return n, nil
}

// RemoveNode forgets a node; its credential stops working (DELETE /v1/nodes/{id}).
func (c *Client) RemoveNode(ctx context.Context, id string) error {
	if id == "" {
		return fmt.Errorf("%w: node id is empty", ErrInvalid)
	}
	return c.doJSON(ctx, http.MethodDelete, "/v1/nodes/"+url.PathEscape(id), nil)
}

// CreateJoinToken makes a join token for `hearth agent` (POST /v1/join-tokens).
func (c *Client) CreateJoinToken(ctx context.Context, req api.JoinTokenRequest) (api.NewJoinToken, error) {
	var t api.NewJoinToken
	if err := c.doJSONBody(ctx, http.MethodPost, "/v1/join-tokens", req, &t); err != nil {
		return api.NewJoinToken{}, err
	}
	return t, nil
}

// ListJoinTokens returns the join tokens, without secrets (GET /v1/join-tokens).
func (c *Client) ListJoinTokens(ctx context.Context) ([]api.JoinToken, error) {
	var l api.JoinTokenList
	if err := c.doJSON(ctx, http.MethodGet, "/v1/join-tokens", &l); err != nil {
		return nil, err
	}
	return l.Items, nil
}

// RevokeJoinToken stops a join token from being used (DELETE /v1/join-tokens/{id}).
func (c *Client) RevokeJoinToken(ctx context.Context, id string) error {
	if id == "" {
		return fmt.Errorf("%w: join token id is empty", ErrInvalid)
	}
	return c.doJSON(ctx, http.MethodDelete, "/v1/join-tokens/"+url.PathEscape(id), nil)
}
