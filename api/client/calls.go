package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/hearthfn/hearth/api"
)

// ListCallsOptions selects the calls ListCalls returns. Zero fields select everything.
type ListCallsOptions struct {
	// Function keeps the calls of one function.
	Function string
	// Status keeps the calls with this status.
	Status api.CallStatus
	// Version, when above 0, keeps the calls one version of the function served.
	Version int
	// Before is a call id, usually the Next of the previous page: only older calls are listed.
	Before string
	// Limit caps the page; 0 means the server's default (50). The server refuses more than
	// 1000.
	Limit int
}

// ListCalls returns one page of call records, newest first (GET /v1/calls). The list's Next,
// when set, is the Before of the following page. An unknown status or a limit out of range
// gives an error matching ErrInvalid whose *Error names the parameter in Detail.Field.
func (c *Client) ListCalls(ctx context.Context, o ListCallsOptions) (api.CallList, error) {
	q := url.Values{}
	if o.Function != "" {
		q.Set("function", o.Function)
	}
	if o.Status != "" {
		q.Set("status", string(o.Status))
	}
	if o.Before != "" {
		q.Set("before", o.Before)
	}
	if o.Version > 0 {
		q.Set("version", strconv.Itoa(o.Version))
	}
	if o.Limit != 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	p := "/v1/calls"
	if len(q) > 0 {
		p += "?" + q.Encode()
	}
	var l api.CallList
	if err := c.doJSON(ctx, http.MethodGet, p, &l); err != nil {
		return api.CallList{}, err
	}
	return l, nil
}

// GetCall returns one call record (GET /v1/calls/{id}), with its result when it is a finished
// async call. An unknown id gives an error matching ErrNotFound.
func (c *Client) GetCall(ctx context.Context, id string) (api.Call, error) {
	if id == "" {
		return api.Call{}, fmt.Errorf("%w: call id is empty", ErrInvalid)
	}
	var call api.Call
	if err := c.doJSON(ctx, http.MethodGet, "/v1/calls/"+url.PathEscape(id), &call); err != nil {
		return api.Call{}, err
	}
	return call, nil
}

// InvokeAsync sends a call to the named function as Invoke does, but async (with the
// Hearth-Async header): the server stores the call and answers 202 at once with its id, and
// runs it in the background; GetCall shows how it went. callbackURL, unless empty, is sent as
// Hearth-Callback-Url, to which the server POSTs the finished call.
//
// Unlike Invoke, every non-202 answer is an error: a full async queue matches ErrUnavailable,
// an unknown function ErrNotFound. A 2xx other than 202 means the server ran the call
// synchronously, as a server without async calls does, and matches ErrProtocol. The client's
// timeout bounds the call, since the answer does not wait for the function.
func (c *Client) InvokeAsync(ctx context.Context, name string, r InvokeRequest, callbackURL string) (api.CallAccepted, error) {
	tctx := ctx
	if c.timeout > 0 {
		var cancel context.CancelFunc
		tctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	req, err := c.newInvokeRequest(tctx, name, r)
	if err != nil {
		return api.CallAccepted{}, err
	}
	req.Header.Set(api.HeaderAsync, "true")
	if callbackURL != "" {
		req.Header.Set(api.HeaderCallbackURL, callbackURL)
	} else {
		req.Header.Del(api.HeaderCallbackURL)
	}
	resp, err := c.send(req)
	if err != nil {
		return api.CallAccepted{}, c.timeoutError(ctx, tctx, err)
	}
	defer closeBody(resp.Body)
	switch {
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return api.CallAccepted{}, readError(resp)
	case resp.StatusCode != http.StatusAccepted:
		return api.CallAccepted{}, fmt.Errorf("%w: invoke %s: the server answered %s instead of 202 Accepted: it ran the call synchronously, so it does not take async calls",
			ErrProtocol, name, resp.Status)
	}
	var acc api.CallAccepted
	if err := json.NewDecoder(resp.Body).Decode(&acc); err != nil {
		if tctx.Err() != nil {
			return api.CallAccepted{}, c.timeoutError(ctx, tctx, err)
		}
		return api.CallAccepted{}, fmt.Errorf("%w: invoke %s: decoding the answer: %v", ErrProtocol, name, err)
	}
	if acc.ID == "" {
		return api.CallAccepted{}, fmt.Errorf("%w: invoke %s: the 202 answer has no call id", ErrProtocol, name)
	}
	return acc, nil
}
