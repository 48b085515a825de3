package httpapi

import (
	"context"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/hearthfn/hearth/api"
)

// Nodes is what the node endpoints need: the cluster's node registry with the pool's view of
// each node merged in (scheduler/server adapts scheduler/nodes to it). Unknown ids are
// store.ErrNotFound; a request that cannot be done (removing the server's own node) is an
// error wrapping ErrInvalidRequest.
type Nodes interface {
	List(ctx context.Context) ([]api.Node, error)
	Get(ctx context.Context, id string) (api.Node, error)
	Drain(ctx context.Context, id string, drain bool) (api.Node, error)
	Remove(ctx context.Context, id string) error
	CreateJoinToken(ctx context.Context, req api.JoinTokenRequest) (api.NewJoinToken, error)
	ListJoinTokens(ctx context.Context) ([]api.JoinToken, error)
	RevokeJoinToken(ctx context.Context, id string) error
}

func (h *handlers) listNodes(w http.ResponseWriter, r *http.Request) {
	ns, err := h.Nodes.List(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, api.NodeList{Items: ns})
}

func (h *handlers) getNode(w http.ResponseWriter, r *http.Request) {
	n, err := h.Nodes.Get(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, n)
}

// drainNode answers POST /v1/nodes/{id}/drain and /undrain with the node as it now is.
func (h *handlers) drainNode(drain bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		n, err := h.Nodes.Drain(r.Context(), mux.Vars(r)["id"], drain)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, n)
	}
}

func (h *handlers) removeNode(w http.ResponseWriter, r *http.Request) {
	if err := h.Nodes.Remove(r.Context(), mux.Vars(r)["id"]); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// createJoinToken answers POST /v1/join-tokens with the token, shown this once (201).
func (h *handlers) createJoinToken(w http.ResponseWriter, r *http.Request) {
	var req api.JoinTokenRequest
	if !h.readJSON(w, r, &req, true, `{"expires_in": "30m", "labels": {"zone": "a"}}`) {
		return
	}
	t, err := h.Nodes.CreateJoinToken(r.Context(), req)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, t)
}

func (h *handlers) listJoinTokens(w http.ResponseWriter, r *http.Request) {
	ts, err := h.Nodes.ListJoinTokens(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, api.JoinTokenList{Items: ts})
}

func (h *handlers) revokeJoinToken(w http.ResponseWriter, r *http.Request) {
	if err := h.Nodes.RevokeJoinToken(r.Context(), mux.Vars(r)["id"]); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
