package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/hearthfn/hearth/api"
)

// Logs serves functions' kept output (scheduler/logs.Collector).
type Logs interface {
	// Lines returns the last q.Tail lines of function that q selects (all when negative),
	// oldest first, and a cursor for After.
	Lines(function string, q api.LogQuery) ([]api.LogLine, uint64)
	// After returns the lines q selects that came after cursor, the next cursor and a channel
	// closed when more may have come; a nil channel means no more will come (shutdown).
	After(function string, q api.LogQuery, cursor uint64) ([]api.LogLine, uint64, <-chan struct{})
}

// logs answers GET /v1/functions/{name}/logs with one JSON line per log line. With follow=true
// the answer stays open, each new line flushed as it comes, until the client goes away or the
// server shuts down.
func (h *handlers) logs(w http.ResponseWriter, r *http.Request) {
	name := mux.Vars(r)["name"]
	q, field, err := parseLogQuery(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, api.CodeInvalid, err.Error(), field)
		return
	}
	if _, err := h.Registry.Get(r.Context(), name); err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if h.Logs == nil {
		w.WriteHeader(http.StatusOK)
		return
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	write := func(lines []api.LogLine) error {
		for _, l := range lines {
			if err := enc.Encode(l); err != nil {
				return err
			}
		}
		return nil
	}

	lines, cursor := h.Logs.Lines(name, q)
	if !q.Follow {
		w.WriteHeader(http.StatusOK)
		_ = write(lines)
		return
	}
	rc := http.NewResponseController(w)
	// A follow lasts as long as the client wants: no write deadline may cut it.
	_ = rc.SetWriteDeadline(time.Time{})
	w.WriteHeader(http.StatusOK)
	for ok := true; ok; lines, cursor, ok = h.nextLogs(r.Context(), name, q, cursor) {
		if write(lines) != nil || rc.Flush() != nil {
			return // the client went away
		}
	}
}

// nextLogs waits for lines after cursor. ok is false when ctx ends or no more will come.
func (h *handlers) nextLogs(ctx context.Context, name string, q api.LogQuery, cursor uint64) (lines []api.LogLine, next uint64, ok bool) {
	for {
		lines, next, more := h.Logs.After(name, q, cursor)
		if len(lines) > 0 {
			return lines, next, true
		}
		if more == nil {
			return nil, next, false
		}
		cursor = next
		select {
		case <-more:
		case <-ctx.Done():
			return nil, cursor, false
		}
	}
}

// parseLogQuery reads follow, call, tail (default api.DefaultLogTail; "all" or negative for
// all) and since (RFC 3339). On error it names the bad parameter.
func parseLogQuery(v url.Values) (q api.LogQuery, field string, err error) {
	q.Tail = api.DefaultLogTail
	q.CallID = v.Get("call")
	if s := v.Get("follow"); s != "" {
		if q.Follow, err = strconv.ParseBool(s); err != nil {
			return q, "follow", &queryError{"follow", s, "true or false"}
		}
	}
	if s := v.Get("tail"); s == "all" {
		q.Tail = -1
	} else if s != "" {
		if q.Tail, err = strconv.Atoi(s); err != nil {
			return q, "tail", &queryError{"tail", s, "a number of lines, or all"}
		}
		q.Tail = max(q.Tail, -1)
	}
	if s := v.Get("since"); s != "" {
		if q.Since, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return q, "since", &queryError{"since", s, "an RFC 3339 time such as 2025-06-01T12:00:00Z"}
		}
	}
	return q, "", nil
}

type queryError struct{ param, value, want string }

func (e *queryError) Error() string {
	return "bad " + e.param + "=" + strconv.Quote(e.value) + ": want " + e.want
}
