package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/hearthfn/hearth/api"
)

// PageOptions selects a page of functions (FunctionsPage) or of a function's versions
// (VersionsPage). Zero fields take the server's defaults.
type PageOptions struct {
	// After is the Next of the page before: the page starts after it. Empty starts at the
	// first.
	After string
	// Limit caps the page; 0 means the server's default (api.DefaultListLimit). The server
	// refuses more than api.MaxListLimit.
	Limit int
}

func (o PageOptions) query() string {
	q := url.Values{}
	if o.After != "" {
		q.Set("after", o.After)
	}
	if o.Limit != 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// ListFunctions returns every deployed function, sorted by name, following the pages of
// GET /v1/functions.
func (c *Client) ListFunctions(ctx context.Context) ([]api.Function, error) {
	var all []api.Function
	err := follow(func(after string) (string, error) {
		l, err := c.FunctionsPage(ctx, PageOptions{After: after, Limit: api.MaxListLimit})
		all = append(all, l.Items...)
		return l.Next, err
	})
	return all, err
}

// FunctionsPage returns one page of functions, sorted by name (GET /v1/functions). The list's
// Next, when set, is the After of the following page. A limit out of range gives an error
// matching ErrInvalid whose *Error names the parameter in Detail.Field.
func (c *Client) FunctionsPage(ctx context.Context, o PageOptions) (api.FunctionList, error) {
	var l api.FunctionList
	if err := c.doJSON(ctx, http.MethodGet, "/v1/functions"+o.query(), &l); err != nil {
		return api.FunctionList{}, err
	}
	return l, nil
}

// follow asks for pages, each after the Next of the one before, until one has no Next. A
// server that answers the same Next twice would have it ask forever: that is an error.
func follow(page func(after string) (next string, err error)) error {
	after := ""
	for {
		next, err := page(after)
		if err != nil || next == "" {
			return err
		}
		if next == after {
			return fmt.Errorf("the server answered the page after %q with the same cursor again", after)
		}
		after = next
	}
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

// ListVersions returns every version of a function, newest first, following the pages of
// GET /v1/functions/{name}/versions.
func (c *Client) ListVersions(ctx context.Context, name string) ([]api.Version, error) {
	var all []api.Version
	err := follow(func(after string) (string, error) {
		l, err := c.VersionsPage(ctx, name, PageOptions{After: after, Limit: api.MaxListLimit})
		all = append(all, l.Items...)
		return l.Next, err
	})
	return all, err
}

// VersionsPage returns one page of a function's versions, newest first (GET
// /v1/functions/{name}/versions). The list's Next, when set, is the After of the following
// page.
func (c *Client) VersionsPage(ctx context.Context, name string, o PageOptions) (api.VersionList, error) {
	p, err := functionPath(name)
	if err != nil {
		return api.VersionList{}, err
	}
	var l api.VersionList
	if err := c.doJSON(ctx, http.MethodGet, p+"/versions"+o.query(), &l); err != nil {
		return api.VersionList{}, err
	}
	return l, nil
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
