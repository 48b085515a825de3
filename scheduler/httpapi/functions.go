package httpapi

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/auth"
)

func (h *handlers) listFunctions(w http.ResponseWriter, r *http.Request) {
	fns, err := h.Registry.List(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// A token limited to some functions sees those only.
	t := tokenOf(r)
	shown := fns[:0]
	for _, fn := range fns {
		if auth.Covers(t, fn.Name) {
			shown = append(shown, fn)
		}
	}
	fns = shown
	writeJSON(w, http.StatusOK, api.FunctionList{Items: fns})
}

func (h *handlers) getFunction(w http.ResponseWriter, r *http.Request) {
	fn, err := h.Registry.Get(r.Context(), mux.Vars(r)["name"])
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if fn.Secrets, err = h.secretKeys(r.Context(), fn.Name); err != nil {
		h.fail(w, r, err)
		return
	}
	h.withCost(&fn)
	writeJSON(w, http.StatusOK, fn)
}

func (h *handlers) deleteFunction(w http.ResponseWriter, r *http.Request) {
	if err := h.Registry.Delete(r.Context(), mux.Vars(r)["name"]); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *handlers) listVersions(w http.ResponseWriter, r *http.Request) {
	vs, err := h.Registry.Versions(r.Context(), mux.Vars(r)["name"])
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, api.VersionList{Items: vs})
}
