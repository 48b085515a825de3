package remote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/hearthfn/hearth/agent"
	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
)

// maxSpecBytes bounds the body of a start request: a spec is a few KiB even with a large env,
// plus the function's secrets, at most 1 MiB (api.MaxSecretsBytes), which JSON writes in
// base64.
const maxSpecBytes = 4 << 20

// Serve answers the server's calls on sess with a, until ctx ends or the session closes; it
// closes the session when it returns. Calls in flight get a ctx that ends with Serve's, so a
// start that cannot finish removes what it started.
func Serve(ctx context.Context, sess *yamux.Session, a agent.Agent, log *slog.Logger) error {
	h := &handler{a: a, log: log}
	srv := &http.Server{
		Handler:           h.routes(),
		ReadHeaderTimeout: 30 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sess) }()
	var err error
	select {
	case <-ctx.Done():
	case <-sess.CloseChan():
	case err = <-done:
	}
	// Close, not Shutdown: the server is gone or the agent is stopping, and nobody would read
	// the answers in flight.
	srv.Close()
	sess.Close()
	if err == nil {
		<-done // the session's end, as Accept reports it
		return nil
	}
	if errors.Is(err, http.ErrServerClosed) || errors.Is(err, yamux.ErrSessionShutdown) || errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

type handler struct {
	a   agent.Agent
	log *slog.Logger
}

func (h *handler) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/info", h.info)
	mux.HandleFunc("POST /v1/instances", h.start)
	mux.HandleFunc("POST "+preparedPath, h.prepare) // prepare.go
	mux.HandleFunc("GET /v1/instances", h.list)
	mux.HandleFunc("POST /v1/instances/{id}/pause", h.pause)
	mux.HandleFunc("POST /v1/instances/{id}/resume", h.resume)
	mux.HandleFunc("DELETE /v1/instances/{id}", h.stop)
	mux.HandleFunc("GET /v1/instances/{id}/logs", h.logs)
	return mux
}

func (h *handler) info(w http.ResponseWriter, r *http.Request) {
	info, err := h.a.Info(r.Context())
	h.reply(w, r, info, err)
}

func (h *handler) start(w http.ResponseWriter, r *http.Request) {
	var spec instance.Spec
	if err := json.NewDecoder(io.LimitReader(r.Body, maxSpecBytes)).Decode(&spec); err != nil {
		WriteError(w, http.StatusBadRequest, codeBadRequest, "bad instance spec: "+err.Error())
		return
	}
	in, err := h.a.StartInstance(r.Context(), spec)
	h.reply(w, r, in, err)
}

func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	all, err := h.a.Instances(r.Context())
	if all == nil {
		all = []instance.Status{}
	}
	h.reply(w, r, all, err)
}

func (h *handler) pause(w http.ResponseWriter, r *http.Request) {
	h.reply(w, r, nil, h.a.PauseInstance(r.Context(), r.PathValue("id")))
}

func (h *handler) resume(w http.ResponseWriter, r *http.Request) {
	h.reply(w, r, nil, h.a.ResumeInstance(r.Context(), r.PathValue("id")))
}

func (h *handler) stop(w http.ResponseWriter, r *http.Request) {
	h.reply(w, r, nil, h.a.StopInstance(r.Context(), r.PathValue("id")))
}

// logs streams an instance's output, flushing every read so that a follower sees each line as
// the instance prints it. An error once the stream has begun cannot be answered: the connection
// is cut instead, so that the client sees a broken stream rather than a clean end.
func (h *handler) logs(w http.ResponseWriter, r *http.Request) {
	opts, err := logOptionsFromQuery(r)
	if err != nil {
		WriteError(w, http.StatusBadRequest, codeBadRequest, err.Error())
		return
	}
	rc, err := h.a.Logs(r.Context(), r.PathValue("id"), opts)
	if err != nil {
		h.reply(w, r, nil, err)
		return
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	rcon := http.NewResponseController(w)
	if err := rcon.Flush(); err != nil {
		return
	}
	buf := make([]byte, 32<<10)
	for {
		n, rerr := rc.Read(buf)
		if n > 0 {
			if _, err := w.Write(buf[:n]); err != nil {
				return
			}
			if err := rcon.Flush(); err != nil {
				return
			}
		}
		switch {
		case rerr == io.EOF:
			return
		case rerr != nil && r.Context().Err() != nil:
			return
		case rerr != nil:
			h.log.Warn("instance log stream broke", "instance", r.PathValue("id"), "error", rerr)
			panic(http.ErrAbortHandler)
		}
	}
}

// reply answers v as JSON (nothing when v is nil), or err as an ErrorBody.
func (h *handler) reply(w http.ResponseWriter, r *http.Request, v any, err error) {
	if err != nil {
		code, status := codeOf(err)
		if code == codeInternal && r.Context().Err() == nil {
			h.log.Warn("agent call failed", "method", r.Method, "path", r.URL.Path, "error", err)
		}
		WriteError(w, status, code, err.Error())
		return
	}
	if v == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(v); err != nil && r.Context().Err() == nil {
		h.log.Warn("write agent answer", "path", r.URL.Path, "error", err)
	}
}

// The query parameters of the logs endpoint.
const (
	qFollow     = "follow"
	qTail       = "tail"
	qSince      = "since"
	qStream     = "stream"
	qTimestamps = "timestamps"
)

func logOptionsFromQuery(r *http.Request) (driver.LogOptions, error) {
	q := r.URL.Query()
	var opts driver.LogOptions
	var err error
	parseBool := func(key string) bool {
		v := q.Get(key)
		if v == "" || err != nil {
			return false
		}
		b, perr := strconv.ParseBool(v)
		if perr != nil {
			err = fmt.Errorf("%s=%q: want true or false", key, v)
		}
		return b
	}
	opts.Follow = parseBool(qFollow)
	opts.Timestamps = parseBool(qTimestamps)
	if err != nil {
		return opts, err
	}
	if v := q.Get(qTail); v != "" {
		if opts.Tail, err = strconv.Atoi(v); err != nil || opts.Tail < 0 {
			return opts, fmt.Errorf("tail=%q: want a number of lines, 0 or more", v)
		}
	}
	if v := q.Get(qSince); v != "" {
		if opts.Since, err = time.Parse(time.RFC3339Nano, v); err != nil {
			return opts, fmt.Errorf("since=%q: want an RFC 3339 time", v)
		}
	}
	switch s := driver.Stream(q.Get(qStream)); s {
	case "", driver.StreamStdout, driver.StreamStderr:
		opts.Stream = s
	default:
		return opts, fmt.Errorf("stream=%q: want stdout, stderr or nothing", s)
	}
	return opts, nil
}

// logQuery is the inverse of logOptionsFromQuery.
func logQuery(opts driver.LogOptions) string {
	q := make(map[string][]string)
	if opts.Follow {
		q[qFollow] = []string{"true"}
	}
	if opts.Timestamps {
		q[qTimestamps] = []string{"true"}
	}
	if opts.Tail > 0 {
		q[qTail] = []string{strconv.Itoa(opts.Tail)}
	}
	if !opts.Since.IsZero() {
		q[qSince] = []string{opts.Since.Format(time.RFC3339Nano)}
	}
	if opts.Stream != "" {
		q[qStream] = []string{string(opts.Stream)}
	}
	return url.Values(q).Encode()
}
