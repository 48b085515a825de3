package client

import (
	"context"
	"net/http"

	"github.com/hearthfn/hearth/api"
)

// ListTriggers returns a function's cron triggers with their next and last firings (GET
// /v1/functions/{name}/triggers). An unknown name gives an error matching ErrNotFound.
func (c *Client) ListTriggers(ctx context.Context, name string) ([]api.TriggerStatus, error) {
	p, err := functionPath(name)
	if err != nil {
		return nil, err
	}
	var l api.TriggerList
	if err := c.doJSON(ctx, http.MethodGet, p+"/triggers", &l); err != nil {
		return nil, err
	}
	return l.Items, nil
}
