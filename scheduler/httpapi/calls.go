package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/auth"
	"github.com/hearthfn/hearth/scheduler/store"
)

// CallReader is what the call endpoints need from the call records (store.CallStore).
type CallReader interface {
	// GetCall returns one call, with its result for an async one; store.ErrNotFound when
	// unknown.
	GetCall(ctx context.Context, id string) (api.Call, error)
	// ListCalls returns the calls matching f, newest first, without results.
	ListCalls(ctx context.Context, f store.CallFilter) ([]api.Call, error)
}

// Paging of GET /v1/calls.
const (
	defaultCallLimit = 50
	maxCallLimit     = 1000
)

// callStatuses are the values ?status= accepts.
var callStatuses = map[api.CallStatus]bool{
	api.CallQueued: true, api.CallRunning: true, api.CallSucceeded: true, api.CallFailed: true,
	api.CallTimedOut: true, api.CallError: true, api.CallCanceled: true,
}

// listCalls answers GET /v1/calls and GET /v1/functions/{name}/calls (where the path names the
// function, whatever ?function= says).
func (h *handlers) listCalls(w http.ResponseWriter, r *http.Request) {
	f, field, err := callFilter(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, api.CodeInvalid, err.Error(), field)
		return
	}
	if name, ok := mux.Vars(r)["name"]; ok {
		f.Function = name
	}
	if t := tokenOf(r); len(t.Functions) > 0 {
		if f.Function == "" {
			writeError(w, http.StatusForbidden, api.CodeForbidden, fmt.Sprintf(
				"this token (%s) covers only the functions %s: list the calls of one of them (?function=NAME)", t.ID, strings.Join(t.Functions, ", ")), "function")
			return
		}
		if err := auth.Allow(t, auth.ActReadCalls, f.Function); err != nil {
			writeError(w, http.StatusForbidden, api.CodeForbidden, err.Error(), "function")
			return
		}
	}
	calls, err := h.Calls.ListCalls(r.Context(), f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	l := api.CallList{Items: calls}
	if l.Items == nil {
		l.Items = []api.Call{}
	}
	// A full page may have a next one; a short page is the last. The cost of the rule is one
	// empty page when the calls are an exact multiple of the limit.
	if len(calls) >= f.Limit {
		l.Next = calls[len(calls)-1].ID
	}
	writeJSON(w, http.StatusOK, l)
}

// getCall answers GET /v1/calls/{id}.
func (h *handlers) getCall(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["id"]
	c, err := h.Calls.GetCall(r.Context(), id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		h.fail(w, r, err)
		return
	}
	// A call of a function the token does not cover is answered as an unknown one: such a
	// token learns nothing of other functions' calls.
	if errors.Is(err, store.ErrNotFound) || auth.Allow(tokenOf(r), auth.ActReadCalls, c.Function) != nil {
		writeError(w, http.StatusNotFound, api.CodeNotFound, fmt.Sprintf("call %q not found", id), "")
		return
	}
	writeJSON(w, http.StatusOK, c)
}

// callFilter reads the query of a call listing. On error it also names the offending
// parameter.
func callFilter(q url.Values) (store.CallFilter, string, error) {
	f := store.CallFilter{
		Function: q.Get("function"),
		Status:   api.CallStatus(q.Get("status")),
		Before:   q.Get("before"),
		Limit:    defaultCallLimit,
	}
	if f.Status != "" && !callStatuses[f.Status] {
		return f, "status", fmt.Errorf("unknown status %q: use queued, running, succeeded, failed, timed_out, error or canceled", f.Status)
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxCallLimit {
			return f, "limit", fmt.Errorf("limit %q: must be a whole number from 1 to %d", s, maxCallLimit)
		}
		f.Limit = n
	}
	if s := q.Get("version"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return f, "version", fmt.Errorf("version %q: must be a version number, such as 3", s)
		}
		f.Version = n
	}
	return f, "", nil
}
