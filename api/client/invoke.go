package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// InvokeRequest is one call of a function through the front door.
type InvokeRequest struct {
	// Method is the HTTP method; empty means POST when Body is set and GET otherwise.
	Method string
	// Path is appended to /invoke/{name} and reaches the function as its request path, e.g.
	// "/orders/42". It may be empty.
	Path string
	// Query is passed through to the function.
	Query url.Values
	// Header is passed through to the function.
	Header http.Header
	// Body is the request body; nil sends none.
	Body io.Reader
}

// Invoke calls the named function (ANY /invoke/{name}[/path]) and returns its response
// unchanged, whatever the status: a function's own 4xx or 5xx answer is a response, not an
// error. The caller must close the response body. For a non-2xx response, DecodeError tells
// the platform's errors (an api.ErrorBody: unknown function, timeout, ...) from the function's
// own answer.
//
// The error is non-nil only when no response came back (matching ErrUnreachable when the
// server could not be reached). Only ctx bounds the call: the server already cuts a call off
// at the function's timeout, and the response body may stream.
func (c *Client) Invoke(ctx context.Context, name string, r InvokeRequest) (*http.Response, error) {
	req, err := c.newInvokeRequest(ctx, name, r)
	if err != nil {
		return nil, err
	}
	return c.send(req)
}

// newInvokeRequest builds the front-door request of a call to the named function.
func (c *Client) newInvokeRequest(ctx context.Context, name string, r InvokeRequest) (*http.Request, error) {
	if name == "" {
		return nil, fmt.Errorf("%w: function name is empty", ErrInvalid)
	}
	u := c.InvokeURL(name)
	if r.Path != "" && r.Path != "/" {
		// EscapedPath keeps the slashes of the path while escaping what must be escaped.
		u += (&url.URL{Path: "/" + strings.TrimPrefix(r.Path, "/")}).EscapedPath()
	}
	if len(r.Query) > 0 {
		u += "?" + r.Query.Encode()
	}
	method := r.Method
	if method == "" {
		method = http.MethodGet
		if r.Body != nil {
			method = http.MethodPost
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, u, r.Body)
	if err != nil {
		return nil, fmt.Errorf("invoke %s: %w", name, err)
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	return req, nil
}
