package remote

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/hearthfn/hearth/agent"
	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
)

// The wire of agent.Preparer: POST /v1/prepared with an instance spec makes that instance
// ahead of its start on the agent's node (agent/driver/docker/prepare.go); a later
// POST /v1/instances of the same spec only starts it, and DELETE /v1/instances/{id} discards it.

// preparedPath is the route of PrepareInstance.
const preparedPath = "/v1/prepared"

var _ agent.Preparer = (*Client)(nil)

// PrepareInstance implements agent.Preparer. An agent that predates the route answers 404 or 405,
// read as driver.ErrNotSupported: the server then starts instances there as before.
func (c *Client) PrepareInstance(ctx context.Context, spec instance.Spec) error {
	body, err := json.Marshal(spec)
	if err != nil {
		return fmt.Errorf("node %s: %w", c.nodeID, err)
	}
	resp, err := c.do(ctx, http.MethodPost, preparedPath, bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound && resp.Header.Get("Content-Type") != "application/json",
		resp.StatusCode == http.StatusMethodNotAllowed:
		return fmt.Errorf("node %s: the agent cannot prepare instances: %w", c.nodeID, driver.ErrNotSupported)
	case resp.StatusCode/100 != 2:
		return c.answerError(resp)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return nil
}

// prepare serves POST /v1/prepared.
func (h *handler) prepare(w http.ResponseWriter, r *http.Request) {
	var spec instance.Spec
	if err := json.NewDecoder(io.LimitReader(r.Body, maxSpecBytes)).Decode(&spec); err != nil {
		WriteError(w, http.StatusBadRequest, codeBadRequest, "bad instance spec: "+err.Error())
		return
	}
	p, ok := h.a.(agent.Preparer)
	if !ok {
		h.reply(w, r, nil, fmt.Errorf("this node cannot prepare instances: %w", driver.ErrNotSupported))
		return
	}
	h.reply(w, r, nil, p.PrepareInstance(r.Context(), spec))
}
