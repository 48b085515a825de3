package client

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/hearthfn/hearth/api"
)

// SetSecret sets a function's secret key to value (PUT /v1/functions/{name}/secrets/{key}, the
// value as the raw body). The function's instances are replaced so that new calls see it. An
// unknown function matches ErrNotFound; a bad key ErrInvalid with Detail.Field "key".
func (c *Client) SetSecret(ctx context.Context, name, key string, value []byte) error {
	p, err := secretPath(name, key)
	if err != nil {
		return err
	}
	tctx := ctx
	if c.timeout > 0 {
		var cancel context.CancelFunc
		tctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(tctx, http.MethodPut, c.base+p, bytes.NewReader(value))
	if err != nil {
		return fmt.Errorf("PUT %s: %w", p, err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Accept", "application/json")
	resp, err := c.send(req)
	if err != nil {
		return c.timeoutError(ctx, tctx, err)
	}
	defer closeBody(resp.Body)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return readError(resp)
	}
	return nil
}

// ListSecrets returns the keys of a function's secrets and when each was set, sorted by key
// (GET /v1/functions/{name}/secrets): never a value.
func (c *Client) ListSecrets(ctx context.Context, name string) ([]api.Secret, error) {
	p, err := functionPath(name)
	if err != nil {
		return nil, err
	}
	var l api.SecretList
	if err := c.doJSON(ctx, http.MethodGet, p+"/secrets", &l); err != nil {
		return nil, err
	}
	return l.Items, nil
}

// DeleteSecret removes a function's secret (DELETE /v1/functions/{name}/secrets/{key}); an
// unknown function or key matches ErrNotFound.
func (c *Client) DeleteSecret(ctx context.Context, name, key string) error {
	p, err := secretPath(name, key)
	if err != nil {
		return err
	}
	return c.doJSON(ctx, http.MethodDelete, p, nil)
}

func secretPath(name, key string) (string, error) {
	p, err := functionPath(name)
	if err != nil {
		return "", err
	}
	if key == "" {
		return "", fmt.Errorf("%w: secret key is empty", ErrInvalid)
	}
	return p + "/secrets/" + url.PathEscape(key), nil
}
