package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/auth"
)

// Versions is what rollback and the alias endpoints need (scheduler/registry). Errors that
// name a request field (an InvalidField method) are 400s, those with a Conflict method 409s.
type Versions interface {
	// Rollback makes an earlier version current again (0: the one before the current one) and
	// returns the function and the version that was current.
	Rollback(ctx context.Context, name string, version int) (api.Function, int, error)
	Aliases(ctx context.Context, name string) ([]api.Alias, error)
	SetAlias(ctx context.Context, name, alias string, weights []api.AliasWeight) (api.Alias, error)
	DeleteAlias(ctx context.Context, name, alias string) error
	// SetDefaultAlias makes /invoke/NAME follow alias ("" for the current version) and returns
	// the function.
	SetDefaultAlias(ctx context.Context, name, alias string) (api.Function, error)
}

// maxVersionsBody bounds the small JSON bodies of these endpoints.
const maxVersionsBody = 64 << 10

func (h *handlers) versionRoutes(r *mux.Router) {
	r.HandleFunc("/v1/functions/{name}/rollback", h.guard(auth.ActDeploy, h.rollback)).Methods(http.MethodPost)
	r.HandleFunc("/v1/functions/{name}/aliases", h.guard(auth.ActRead, h.listAliases)).Methods(http.MethodGet)
	r.HandleFunc("/v1/functions/{name}/aliases/{alias}", h.guard(auth.ActDeploy, h.putAlias)).Methods(http.MethodPut)
	r.HandleFunc("/v1/functions/{name}/aliases/{alias}", h.guard(auth.ActDeploy, h.deleteAlias)).Methods(http.MethodDelete)
	r.HandleFunc("/v1/functions/{name}/default-alias", h.guard(auth.ActDeploy, h.putDefaultAlias)).Methods(http.MethodPut)
}

// rollback answers POST /v1/functions/{name}/rollback with the function as it now is. An empty
// body rolls back to the version before the current one.
func (h *handlers) rollback(w http.ResponseWriter, r *http.Request) {
	var req api.RollbackRequest
	if !h.decodeSmall(w, r, &req, true) {
		return
	}
	fn, _, err := h.Versions.Rollback(r.Context(), mux.Vars(r)["name"], req.Version)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, fn)
}

func (h *handlers) listAliases(w http.ResponseWriter, r *http.Request) {
	as, err := h.Versions.Aliases(r.Context(), mux.Vars(r)["name"])
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, api.AliasList{Items: as})
}

func (h *handlers) putAlias(w http.ResponseWriter, r *http.Request) {
	var req api.AliasRequest
	if !h.decodeSmall(w, r, &req, false) {
		return
	}
	v := mux.Vars(r)
	a, err := h.Versions.SetAlias(r.Context(), v["name"], v["alias"], req.Weights)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

func (h *handlers) deleteAlias(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	if err := h.Versions.DeleteAlias(r.Context(), v["name"], v["alias"]); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *handlers) putDefaultAlias(w http.ResponseWriter, r *http.Request) {
	var req api.DefaultAliasRequest
	if !h.decodeSmall(w, r, &req, false) {
		return
	}
	fn, err := h.Versions.SetDefaultAlias(r.Context(), mux.Vars(r)["name"], req.Alias)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, fn)
}

// decodeSmall reads a small JSON body strictly into v (an unknown key is a 400 naming it), or
// answers the error and returns false. Like every state-changing request it must say
// Content-Type: application/json. With emptyOK an empty body leaves v as it is.
func (h *handlers) decodeSmall(w http.ResponseWriter, r *http.Request, v any, emptyOK bool) bool {
	if !requireContentType(w, r, "application/json") {
		return false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxVersionsBody))
	if err != nil {
		h.fail(w, r, err)
		return false
	}
	if len(bytes.TrimSpace(body)) == 0 && emptyOK {
		return true
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, api.CodeInvalid, fmt.Sprintf("the body must be JSON such as %s: %v", example(v), err), "")
		return false
	}
	return true
}

// example is a sample body of the request v points to, for error messages.
func example(v any) string {
	switch v.(type) {
	case *api.RollbackRequest:
		return `{"version": 3}`
	case *api.AliasRequest:
		return `{"weights": [{"version": 3, "weight": 90}, {"version": 4, "weight": 10}]}`
	case *api.DefaultAliasRequest:
		return `{"alias": "live"}`
	}
	return "{}"
}
