package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/hearthfn/hearth/api"
)

// Logs reads the named function's output (GET /v1/functions/{name}/logs) and passes each line
// to onLine, oldest first; an error from onLine stops the reading and is returned.
//
// Without q.Follow it returns nil once the kept lines are read, under the client's timeout.
// With q.Follow only ctx bounds it: it returns ctx's error when ctx ends, and an error
// matching ErrUnavailable when the server ends the stream (it does so when it shuts down).
// Other errors: a *Error matching ErrNotFound for an unknown function, ErrInvalid for a bad
// query.
func (c *Client) Logs(ctx context.Context, name string, q api.LogQuery, onLine func(api.LogLine) error) error {
	p, err := functionPath(name)
	if err != nil {
		return err
	}
	tctx := ctx
	if !q.Follow && c.timeout > 0 {
		var cancel context.CancelFunc
		tctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(tctx, http.MethodGet, c.base+p+"/logs?"+logParams(q).Encode(), nil)
	if err != nil {
		return fmt.Errorf("logs of %s: %w", name, err)
	}
	req.Header.Set("Accept", "application/x-ndjson")
	resp, err := c.send(req)
	if err != nil {
		return c.timeoutError(ctx, tctx, err)
	}
	defer closeBody(resp.Body)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return readError(resp)
	}
	// A json.Decoder rather than a line scanner: a log line has no length limit on the wire.
	dec := json.NewDecoder(resp.Body)
	for {
		var l api.LogLine
		err := dec.Decode(&l)
		switch {
		case err == nil:
			if err := onLine(l); err != nil {
				return err
			}
			continue
		case tctx.Err() != nil:
			return c.timeoutError(ctx, tctx, tctx.Err())
		case errors.Is(err, io.EOF) && q.Follow:
			return fmt.Errorf("%w: the server at %s ended the log stream", ErrUnavailable, c.base)
		case errors.Is(err, io.EOF):
			return nil
		}
		return fmt.Errorf("%w: logs of %s: %v", ErrProtocol, name, err)
	}
}

// logParams is q as query parameters.
func logParams(q api.LogQuery) url.Values {
	v := url.Values{}
	if q.Follow {
		v.Set("follow", "true")
	}
	if q.CallID != "" {
		v.Set("call", q.CallID)
	}
	if q.Tail < 0 {
		v.Set("tail", "all")
	} else {
		v.Set("tail", strconv.Itoa(q.Tail))
	}
	if !q.Since.IsZero() {
		v.Set("since", q.Since.Format(time.RFC3339Nano))
	}
	return v
}
