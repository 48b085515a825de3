package httpapi

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/store"
)

// listFunctions answers GET /v1/functions?limit=&after=: a page of functions by name.
func (h *handlers) listFunctions(w http.ResponseWriter, r *http.Request) {
	n, after, field, err := pageQuery(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, api.CodeInvalid, err.Error(), field)
		return
	}
	// One more than the page holds says whether another page follows, without a last empty
	// page when the functions are a multiple of the limit.
	page := store.FunctionPage{After: after, Limit: n + 1}
	// A token limited to some functions pages through those only: the store leaves the others
	// out, so that no page is short (or empty) for the functions the token cannot see.
	if t := tokenOf(r); len(t.Functions) > 0 {
		page.Names = t.Functions
	}
	fns, err := h.Registry.List(r.Context(), page)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	l := api.FunctionList{Items: fns}
	if len(fns) > n {
		l.Items = fns[:n]
		l.Next = fns[n-1].Name
	}
	writeJSON(w, http.StatusOK, l)
}

// listVersions answers GET /v1/functions/{name}/versions?limit=&after=: a page of versions,
// newest first; after is the number of the last version of the page before.
func (h *handlers) listVersions(w http.ResponseWriter, r *http.Request) {
	n, after, field, err := pageQuery(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, api.CodeInvalid, err.Error(), field)
		return
	}
	page := store.VersionPage{Limit: n + 1}
	if after != "" {
		v, err := strconv.Atoi(after)
		if err != nil || v < 1 {
			writeError(w, http.StatusBadRequest, api.CodeInvalid,
				fmt.Sprintf("after %q: must be a version number, such as 3 (the next of the page before)", after), "after")
			return
		}
		page.Before = v
	}
	vs, err := h.Registry.Versions(r.Context(), mux.Vars(r)["name"], page)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	l := api.VersionList{Items: vs}
	if len(vs) > n {
		l.Items = vs[:n]
		l.Next = strconv.Itoa(vs[n-1].Number)
	}
	writeJSON(w, http.StatusOK, l)
}

// pageQuery reads a listing's limit (api.DefaultListLimit when absent) and after. On error it
// also names the offending parameter.
func pageQuery(q url.Values) (limit int, after, field string, err error) {
	limit = api.DefaultListLimit
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > api.MaxListLimit {
			return 0, "", "limit", fmt.Errorf("limit %q: must be a whole number from 1 to %d", s, api.MaxListLimit)
		}
		limit = n
	}
	return limit, q.Get("after"), "", nil
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
