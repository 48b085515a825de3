package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/hearthfn/hearth/api"
)

// Deploy uploads a function's source, archive being a gzip-compressed tar with func.yaml at
// its root (POST /v1/functions/{name}/versions), and follows the build. onLog, when not nil,
// receives each build log line as the server sends it. It returns the deployed function and
// whether its image was reused without building.
//
// Errors: problems the server finds before building are a *Error matching ErrInvalid (with
// Detail.Field set for a bad func.yaml field), ErrTooLarge or ErrUnavailable; a failed build is
// a *Error matching ErrBuildFailed whose message carries the build output. Only ctx bounds
// the call, since builds take as long as they take; cancelling ctx abandons the deploy.
func (c *Client) Deploy(ctx context.Context, name string, archive io.Reader, onLog func(line string)) (api.Function, bool, error) {
	var onEvent func(api.DeployEvent)
	if onLog != nil {
		onEvent = func(ev api.DeployEvent) {
			if ev.Type == api.EventLog {
				onLog(ev.Line)
			}
		}
	}
	return c.DeployEvents(ctx, name, archive, onEvent)
}

// DeployEvents is Deploy for a client that follows the build's steps: onEvent, when not nil,
// receives every event of the stream as it comes, the closing "result" or "error" included
// (the error event carries the hint of a failed build), before DeployEvents returns. Events of
// types this client does not know are passed on too.
func (c *Client) DeployEvents(ctx context.Context, name string, archive io.Reader, onEvent func(api.DeployEvent)) (api.Function, bool, error) {
	p, err := functionPath(name)
	if err != nil {
		return api.Function{}, false, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+p+"/versions", archive)
	if err != nil {
		return api.Function{}, false, fmt.Errorf("deploy %s: %w", name, err)
	}
	req.Header.Set("Content-Type", "application/gzip")
	req.Header.Set("Accept", "application/x-ndjson")
	resp, err := c.send(req)
	if err != nil {
		return api.Function{}, false, err
	}
	defer closeBody(resp.Body)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return api.Function{}, false, readError(resp)
	}
	return readDeployStream(ctx, name, resp.Body, onEvent)
}

// readDeployStream follows the events of a deploy until its result or error. A json.Decoder
// reads the stream rather than a line scanner, because a build log line has no length limit; it
// also accepts a single JSON event, should a server answer with one.
func readDeployStream(ctx context.Context, name string, body io.Reader, onEvent func(api.DeployEvent)) (api.Function, bool, error) {
	dec := json.NewDecoder(body)
	for {
		var ev api.DeployEvent
		if err := dec.Decode(&ev); err != nil {
			if ctx.Err() != nil {
				return api.Function{}, false, fmt.Errorf("deploy %s: %w", name, ctx.Err())
			}
			if errors.Is(err, io.EOF) {
				return api.Function{}, false, fmt.Errorf("%w: deploy %s: the build stream ended without a result", ErrProtocol, name)
			}
			return api.Function{}, false, fmt.Errorf("%w: deploy %s: reading the build stream: %v", ErrProtocol, name, err)
		}
		if onEvent != nil {
			onEvent(ev)
		}
		switch ev.Type {
		case api.EventResult:
			if ev.Function == nil {
				return api.Function{}, false, fmt.Errorf("%w: deploy %s: result event without a function", ErrProtocol, name)
			}
			return *ev.Function, ev.Cached, nil
		case api.EventError:
			if ev.Error == nil {
				return api.Function{}, false, fmt.Errorf("%w: deploy %s: error event without an error", ErrProtocol, name)
			}
			return api.Function{}, false, &Error{Detail: *ev.Error}
		default:
			// Log lines, steps, and event types from a newer server: onEvent has had them.
		}
	}
}
