package httpapi

import (
	"context"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/hearthfn/hearth/api"
)

// Triggers reports functions' cron triggers (scheduler/triggers.Scheduler).
type Triggers interface {
	// List returns the triggers of a function's current version, in func.yaml's order; an
	// error wrapping store.ErrNotFound for an unknown function.
	List(ctx context.Context, name string) ([]api.TriggerStatus, error)
}

// listTriggers serves GET /v1/functions/{name}/triggers: each cron trigger with its next
// scheduled time and its last firing's time, call and status.
func (h *handlers) listTriggers(w http.ResponseWriter, r *http.Request) {
	ts, err := h.Triggers.List(r.Context(), mux.Vars(r)["name"])
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if ts == nil {
		ts = []api.TriggerStatus{}
	}
	writeJSON(w, http.StatusOK, api.TriggerList{Items: ts})
}
