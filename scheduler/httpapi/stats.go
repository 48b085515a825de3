package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/auth"
	"github.com/hearthfn/hearth/scheduler/stats"
)

// Stats serves the dashboard's figures (scheduler/stats.Collector), from memory.
type Stats interface {
	// Series returns a function's figures, a point per step since since (both as the query
	// gives them, empty for the defaults). Errors: *stats.QueryError for a bad since or step,
	// store.ErrNotFound for an unknown function.
	Series(function, since, step string) (stats.Series, error)
	// Overview returns the functions, nodes and recent failures that scope allows.
	Overview(ctx context.Context, scope stats.Scope) (stats.Overview, error)
}

// functionStats answers GET /v1/functions/{name}/stats?since=&step=. The guard has checked that
// the token covers the function.
func (h *handlers) functionStats(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s, err := h.Stats.Series(mux.Vars(r)["name"], q.Get("since"), q.Get("step"))
	var qe *stats.QueryError
	switch {
	case errors.As(err, &qe):
		writeError(w, http.StatusBadRequest, api.CodeInvalid, err.Error(), qe.Field)
		return
	case err != nil:
		h.fail(w, r, err)
		return
	}
	writeCompactJSON(w, s)
}

// overview answers GET /v1/overview with what the token may see: the functions it covers and
// their failures, and the nodes only when it may read them.
func (h *handlers) overview(w http.ResponseWriter, r *http.Request) {
	t := tokenOf(r)
	scope := stats.Scope{
		Nodes: auth.Allow(t, auth.ActReadNodes, "") == nil,
		Calls: auth.Allow(t, auth.ActReadCalls, "") == nil,
	}
	if len(t.Functions) > 0 {
		scope.Function = func(name string) bool { return auth.Covers(t, name) }
	}
	o, err := h.Stats.Overview(r.Context(), scope)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeCompactJSON(w, o)
}

// writeCompactJSON answers 200 with v as JSON without writeJSON's indentation: every open
// dashboard polls these answers every 2 s, and for 1,000 functions indenting takes several
// times as long as encoding (and as long as the rest of the answer), for a body half again as
// large.
func writeCompactJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(v)
}
