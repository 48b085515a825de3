package remote

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
	"sync/atomic"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/hearthfn/hearth/agent"
	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
)

var _ agent.Agent = (*Client)(nil)

// callTimeout bounds a call other than a start or a log stream when the caller's ctx has no
// deadline: an agent that answers nothing must not hold a caller forever.
const callTimeout = 2 * time.Minute

// Client calls a node's agent over its session. It implements agent.Agent; every method is one
// HTTP request on a stream of the session, and fails with driver.ErrUnavailable once the session
// is gone. Errors the agent answers keep their sentinel (see Error).
type Client struct {
	sess   *yamux.Session
	nodeID string
	http   *http.Client
}

// NewClient returns a client of the agent at the other end of sess, the node nodeID (which
// error messages name).
func NewClient(sess *yamux.Session, nodeID string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			s, err := sess.Open()
			if err != nil {
				return nil, err
			}
			return &streamConn{Conn: s}, nil
		},
		// Streams are cheap, but keeping a few open saves a round trip per call.
		MaxIdleConnsPerHost: 32,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		// No ResponseHeaderTimeout: a start answers when its instance is ready, which takes as
		// long as its ctx allows.
	}
	return &Client{sess: sess, nodeID: nodeID, http: &http.Client{Transport: tr}}
}

// NodeID returns the id of the client's node.
func (c *Client) NodeID() string { return c.nodeID }

// Close releases the client's idle streams. It does not close the session.
func (c *Client) Close() error {
	c.http.CloseIdleConnections()
	return nil
}

// Info implements agent.Agent.
func (c *Client) Info(ctx context.Context) (agent.NodeInfo, error) {
	var info agent.NodeInfo
	if err := c.call(ctx, http.MethodGet, "/v1/info", nil, &info, true); err != nil {
		return agent.NodeInfo{ID: c.nodeID}, err
	}
	return info, nil
}

// StartInstance implements agent.Agent. It waits as long as ctx allows; when ctx ends the
// agent's call is cancelled too, and the agent removes what it started.
func (c *Client) StartInstance(ctx context.Context, spec instance.Spec) (instance.Instance, error) {
	var in instance.Instance
	if err := c.call(ctx, http.MethodPost, "/v1/instances", spec, &in, false); err != nil {
		return instance.Instance{}, err
	}
	return in, nil
}

// PauseInstance implements agent.Agent.
func (c *Client) PauseInstance(ctx context.Context, id string) error {
	return c.call(ctx, http.MethodPost, "/v1/instances/"+url.PathEscape(id)+"/pause", nil, nil, true)
}

// ResumeInstance implements agent.Agent.
func (c *Client) ResumeInstance(ctx context.Context, id string) error {
	return c.call(ctx, http.MethodPost, "/v1/instances/"+url.PathEscape(id)+"/resume", nil, nil, true)
}

// StopInstance implements agent.Agent.
func (c *Client) StopInstance(ctx context.Context, id string) error {
	return c.call(ctx, http.MethodDelete, "/v1/instances/"+url.PathEscape(id), nil, nil, true)
}

// Instances implements agent.Agent.
func (c *Client) Instances(ctx context.Context) ([]instance.Status, error) {
	var all []instance.Status
	if err := c.call(ctx, http.MethodGet, "/v1/instances", nil, &all, true); err != nil {
		return nil, err
	}
	return all, nil
}

// Logs implements agent.Agent. The stream lasts as long as ctx: ending it ends the stream on
// the agent too.
func (c *Client) Logs(ctx context.Context, id string, opts driver.LogOptions) (io.ReadCloser, error) {
	path := "/v1/instances/" + url.PathEscape(id) + "/logs"
	if q := logQuery(opts); q != "" {
		path += "?" + q
	}
	resp, err := c.do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, c.answerError(resp)
	}
	return resp.Body, nil
}

// call sends one request with in (when not nil) as its JSON body and decodes a 2xx answer into
// out (when not nil). bounded calls get callTimeout when ctx has no deadline.
func (c *Client) call(ctx context.Context, method, path string, in, out any, bounded bool) error {
	if _, ok := ctx.Deadline(); bounded && !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, callTimeout)
		defer cancel()
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("node %s: encode the request: %w", c.nodeID, err)
		}
		body = bytes.NewReader(b)
	}
	resp, err := c.do(ctx, method, path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return c.answerError(resp)
	}
	if out == nil {
		io.Copy(io.Discard, resp.Body) //nolint:errcheck // draining only, to reuse the stream
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return c.transportError(ctx, fmt.Errorf("read the answer of %s %s: %w", method, path, err))
	}
	return nil
}

// do sends a request to the agent. A request that gets no answer fails with ctx's error when
// ctx ended, and with driver.ErrUnavailable otherwise.
func (c *Client) do(ctx context.Context, method, path string, body io.Reader) (*http.Response, error) {
	if c.sess.IsClosed() {
		return nil, c.notConnected()
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://agent"+path, body)
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", c.nodeID, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.transportError(ctx, err)
	}
	return resp, nil
}

// transportError turns the failure of a request that got no (complete) answer into the
// caller's ctx error or driver.ErrUnavailable.
func (c *Client) transportError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("node %s: %w", c.nodeID, ctx.Err())
	}
	if c.sess.IsClosed() || errors.Is(err, yamux.ErrSessionShutdown) {
		return c.notConnected()
	}
	return fmt.Errorf("node %s: agent unreachable: %v: %w", c.nodeID, err, driver.ErrUnavailable)
}

func (c *Client) notConnected() error {
	return fmt.Errorf("node %s: agent not connected: %w", c.nodeID, driver.ErrUnavailable)
}

// streamConn is a yamux stream that, once closed, reads no more. A yamux stream's Close only
// ends the sending half and the stream goes on reading what the peer still sends; so a request
// that is cancelled while it reads an answer (a log stream) would read the end of the answer
// the agent sends once it sees the close, and end cleanly instead of with an error.
type streamConn struct {
	net.Conn
	closed atomic.Bool
}

func (c *streamConn) Read(p []byte) (int, error) {
	if c.closed.Load() {
		return 0, net.ErrClosed
	}
	n, err := c.Conn.Read(p)
	if c.closed.Load() {
		return 0, net.ErrClosed
	}
	return n, err
}

func (c *streamConn) Close() error {
	c.closed.Store(true)
	c.Conn.SetReadDeadline(time.Unix(1, 0)) //nolint:errcheck // wakes a blocked Read; best effort
	return c.Conn.Close()
}

// answerError rebuilds the error of a non-2xx answer.
func (c *Client) answerError(resp *http.Response) error {
	se := ReadStatusError(resp)
	code := se.Code
	if code == "" {
		code = codeInternal
	}
	return &Error{NodeID: c.nodeID, Code: code, Message: se.Message}
}
