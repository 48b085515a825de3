package httpapi

import (
	"encoding/json"
	"net/http"
	"sync"

	"github.com/gorilla/mux"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/builder"
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
	// The builder reports its steps on the context (builder.WithTrace), in order with the log
	// lines, so that clients can show a build condensed to one line per step.
	ctx := builder.WithTrace(r.Context(), func(st builder.Step) { s.send(stepEvent(st)) })
	fn, cached, err := h.Registry.Deploy(ctx, name, r.Body, func(line string) {
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
		s.send(api.DeployEvent{Type: api.EventError, Error: &api.ErrorDetail{Code: code, Message: msg, Field: field},
			Hint: builder.HintOf(err)})
		return
	}
	s.send(api.DeployEvent{Type: api.EventResult, Function: &fn, Cached: cached})
}

// stepEvent is the deploy stream's event for a build step's start or end.
func stepEvent(st builder.Step) api.DeployEvent {
	ev := api.DeployEvent{Type: api.EventStep, Step: &api.BuildStep{N: st.N, Total: st.Total, Name: st.Name}}
	if st.Done {
		ev.Type = api.EventStepEnd
		ev.Step.ElapsedMS, ev.Step.Failed, ev.Step.Cached = st.Elapsed.Milliseconds(), st.Failed, st.Cached
	}
	return ev
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
