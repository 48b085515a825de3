package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/store"
)

// createToken answers POST /v1/tokens with the new token, its secret included (201).
func (h *handlers) createToken(w http.ResponseWriter, r *http.Request) {
	var req api.TokenRequest
	if !h.readJSON(w, r, &req, false, `{"role": "invoker", "functions": ["hello"], "expires_in": "30d", "name": "ci"}`) {
		return
	}
	t, err := h.Tokens.Create(r.Context(), req)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, t)
}

// listTokens answers GET /v1/tokens.
func (h *handlers) listTokens(w http.ResponseWriter, r *http.Request) {
	ts, err := h.Tokens.List(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, api.TokenList{Items: ts})
}

// revokeToken answers DELETE /v1/tokens/{id}.
func (h *handlers) revokeToken(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["id"]
	err := h.Tokens.Revoke(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, api.CodeNotFound, fmt.Sprintf("token %q not found: hearth token list shows the ids", id), "")
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// selfToken answers GET /v1/tokens/self: the caller's own token, which is how a client checks
// a token and learns what it may do.
func (h *handlers) selfToken(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, tokenOf(r))
}

// readJSON decodes a small JSON request body into v, refusing unknown fields; an empty body
// leaves v as it is when emptyOK. On a bad body it answers the request (415, 413 or 400 with
// example, a body that would do) and returns false.
func (h *handlers) readJSON(w http.ResponseWriter, r *http.Request, v any, emptyOK bool, example string) bool {
	if !requireContentType(w, r, "application/json") {
		return false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		h.fail(w, r, err)
		return false
	}
	if emptyOK && len(bytes.TrimSpace(body)) == 0 {
		return true
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, api.CodeInvalid, "the body must be a JSON object such as "+example+": "+err.Error(), "")
		return false
	}
	return true
}
