package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultTimeout bounds each non-streaming API call unless WithTimeout says otherwise.
const DefaultTimeout = 30 * time.Second

// Client talks to one hearth server. It is safe for concurrent use.
type Client struct {
	// base is the server's URL without a trailing slash, e.g. "http://127.0.0.1:8080".
	base    string
	hc      *http.Client
	timeout time.Duration
	// token is sent as "Authorization: Bearer <token>" with every request; "" sends none.
	token string
	// onWarning gets the text of each Warning header of a response (WithWarnings); nil drops them.
	onWarning func(string)
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient makes the Client send its requests through hc instead of the default client
// (tests pass an httptest server's client; an operator may need a proxy or custom TLS).
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.hc = hc
		}
	}
}

// WithTimeout sets the deadline of each non-streaming API call (everything but Deploy and
// Invoke). Zero leaves only the caller's context in charge.
func WithTimeout(d time.Duration) Option {
	return func(c *Client) { c.timeout = d }
}

// WithToken makes the Client send token ("hth_...") with every request, as
// "Authorization: Bearer <token>".
func WithToken(token string) Option {
	return func(c *Client) { c.token = strings.TrimSpace(token) }
}

// New returns a Client for the server at baseURL ("http://host:port", optionally with a path
// prefix). It fails when baseURL is not an absolute http or https URL, so that a typo in
// HEARTH_API is reported as such rather than as a network error.
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("invalid server URL %q: want an address like http://127.0.0.1:8080", baseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("invalid server URL %q: it must not have a query or fragment", baseURL)
	}
	c := &Client{
		base:    strings.TrimRight(u.String(), "/"),
		hc:      defaultHTTPClient(),
		timeout: DefaultTimeout,
	}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// defaultHTTPClient bounds connecting, not answering: the transport has dial and TLS
// handshake timeouts but no response-header timeout, because an invocation's headers come only
// once the function has answered, which may take as long as the function's own timeout. API
// calls get their deadline from WithTimeout instead; Deploy and Invoke from the caller's ctx.
func defaultHTTPClient() *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Client{Transport: &http.Transport{
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   8,
		ForceAttemptHTTP2:     true,
	}}
}

// BaseURL returns the server's URL without a trailing slash.
func (c *Client) BaseURL() string { return c.base }

// InvokeURL returns the front-door URL of the named function.
func (c *Client) InvokeURL(name string) string {
	return c.base + "/invoke/" + url.PathEscape(name)
}

// send performs req and turns "no answer at all" into an *UnreachableError.
func (c *Client) send(req *http.Request) (*http.Response, error) {
	if c.token != "" && req.Header.Get("Authorization") == "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return nil, &UnreachableError{URL: c.base, Err: err}
		}
		return nil, err
	}
	c.warn(resp)
	return resp, nil
}

// doJSON performs a non-streaming API call under the client's timeout and decodes a 2xx body
// into out (unless out is nil). A non-2xx answer becomes a *Error.
func (c *Client) doJSON(ctx context.Context, method, path string, out any) error {
	return c.doJSONBody(ctx, method, path, nil, out)
}

// doJSONBody is doJSON with in, unless nil, sent as the JSON request body.
func (c *Client) doJSONBody(ctx context.Context, method, path string, in, out any) error {
	tctx := ctx
	if c.timeout > 0 {
		var cancel context.CancelFunc
		tctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s %s: encoding the request: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(tctx, method, c.base+path, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.send(req)
	if err != nil {
		return c.timeoutError(ctx, tctx, err)
	}
	defer closeBody(resp.Body)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return readError(resp)
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		if tctx.Err() != nil {
			return c.timeoutError(ctx, tctx, err)
		}
		return fmt.Errorf("%w: %s %s: decoding the answer: %v", ErrProtocol, method, path, err)
	}
	return nil
}

// timeoutError rewrites err when the client's own deadline (tctx), not the caller's (ctx),
// ended the call, so that the message names the server and the limit instead of a bare
// "context deadline exceeded".
func (c *Client) timeoutError(ctx, tctx context.Context, err error) error {
	if ctx.Err() == nil && errors.Is(tctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("the hearth server at %s did not answer within %s: %w", c.base, c.timeout, context.DeadlineExceeded)
	}
	return err
}

// readError reads an error answer into a *Error.
func readError(resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e, _ := DecodeError(resp.StatusCode, body)
	return e
}

// closeBody drains a little of what is left before closing, so that the connection can be
// reused, without reading an unbounded body to the end.
func closeBody(rc io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(rc, 64<<10))
	_ = rc.Close()
}

// functionPath returns the API path of a function, refusing an empty name: it would turn a
// call about one function into one about the collection.
func functionPath(name string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("%w: function name is empty", ErrInvalid)
	}
	return "/v1/functions/" + url.PathEscape(name), nil
}
