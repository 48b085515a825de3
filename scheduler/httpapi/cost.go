package httpapi

import (
	"fmt"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/auth"
	"github.com/hearthfn/hearth/scheduler/store"
)

// Cost reports what keeping a function's instances costs (scheduler/pool.Pool.Cost).
type Cost interface {
	// Cost returns a function's cost; ok is false when the pool does not know the function.
	Cost(name string) (api.FunctionCost, bool)
}

func (h *handlers) costRoutes(r *mux.Router) {
	r.HandleFunc("/v1/functions/{name}/cost", h.guard(auth.ActRead, h.functionCost)).Methods(http.MethodGet)
}

// functionCost answers GET /v1/functions/{name}/cost. The guard has checked that the token
// covers the function.
func (h *handlers) functionCost(w http.ResponseWriter, r *http.Request) {
	name := mux.Vars(r)["name"]
	c, ok := h.Cost.Cost(name)
	if !ok {
		h.fail(w, r, fmt.Errorf("function %s: %w", name, store.ErrNotFound))
		return
	}
	writeJSON(w, http.StatusOK, c)
}

// withCost adds fn's cost to a single-function GET, when the server keeps one.
func (h *handlers) withCost(fn *api.Function) {
	if h.Cost == nil {
		return
	}
	if c, ok := h.Cost.Cost(fn.Name); ok {
		fn.Cost = &c
	}
}
