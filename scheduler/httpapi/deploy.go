package httpapi

import (
	"encoding/json"
	"net/http"
	"sync"

	"github.com/gorilla/mux"

	"github.com/hearthfn/hearth/api"
)

// deploy answers POST /v1/functions/{name}/versions. The answer is a stream of DeployEvents, but
// the stream only begins with the first build log line: an error found before that (a bad
// func.yaml, an unknown runtime, Docker down) still gets its proper status and a plain JSON
// error body.
func (h *handlers) deploy(w http.ResponseWriter, r *http.Request) {
	name := mux.Vars(r)["name"]
	if !requireContentType(w, r, "application/gzip", "application/x-gzip") {
		return
	}
	if r.ContentLength > h.MaxUploadBytes {
		writeError(w, http.StatusRequestEntityTooLarge, api.CodeTooLarge, uploadTooLarge(h.MaxUploadBytes), "")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, h.MaxUploadBytes)
	s := &eventStream{w: w}
	fn, cached, err := h.Registry.Deploy(r.Context(), name, r.Body, func(line string) {
		s.send(api.DeployEvent{Type: api.EventLog, Line: line})
	})
	if err != nil {
		if !s.started() {
			h.fail(w, r, err)
			return
		}
		status, code, field, msg := classify(err)
		if status >= 500 && code == api.CodeInternal {
			h.Log.Error("deploy failed", "function", name, "error", err)
		}
		s.send(api.DeployEvent{Type: api.EventError, Error: &api.ErrorDetail{Code: code, Message: msg, Field: field}})
		return
	}
	s.send(api.DeployEvent{Type: api.EventResult, Function: &fn, Cached: cached})
}

// eventStream writes newline-delimited JSON events, committing the 200 status on the first one.
type eventStream struct {
	mu    sync.Mutex
	w     http.ResponseWriter
	began bool
}

func (s *eventStream) send(ev api.DeployEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.began {
		s.w.Header().Set("Content-Type", "application/x-ndjson")
		s.w.WriteHeader(http.StatusOK)
		s.began = true
	}
	_ = json.NewEncoder(s.w).Encode(ev)
	if f, ok := s.w.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *eventStream) started() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.began
}
