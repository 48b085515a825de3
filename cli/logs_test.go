package cli_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/cli"
)

var sampleLogs = []api.LogLine{
	{Time: now.Add(-time.Minute), Instance: "hello-v1-ab12cd34", Stream: "stdout", Line: "listening on :8080"},
	{Time: now.Add(-time.Second).Add(250 * time.Millisecond), Instance: "hello-v1-ab12cd34", Stream: "stderr",
		CallID: "0a1b2c3d4e5f60718293a4b5c6d7e8f9", Line: `handling {"name":"world"}`},
}

// logsServer serves GET /v1/functions/hello/logs with sampleLogs; with follow=true it then
// holds the answer open until the client goes away, or ends it when hangUp is set.
type logsServer struct {
	hangUp bool
	lines  []api.LogLine // what it serves; sampleLogs when nil

	mu    sync.Mutex
	query url.Values // of the last request
}

func (s *logsServer) start(t *testing.T, e *env) {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/functions/{name}/logs", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.query = r.URL.Query()
		s.mu.Unlock()
		if r.PathValue("name") != "hello" {
			writeErr(w, http.StatusNotFound, api.CodeNotFound, `function "`+r.PathValue("name")+`" not found`, "")
			return
		}
		w.Header().Set("Content-Type", "application/x-ndjson")
		enc := json.NewEncoder(w)
		lines := s.lines
		if lines == nil {
			lines = sampleLogs
		}
		for _, l := range lines {
			_ = enc.Encode(l)
		}
		if r.URL.Query().Get("follow") != "true" || s.hangUp {
			return
		}
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	e.opts.Getenv = func(k string) string {
		if k == "HEARTH_API" {
			return srv.URL
		}
		return ""
	}
	e.opts.HTTPClient = srv.Client()
}

func (s *logsServer) lastQuery() url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.query
}

func TestLogs(t *testing.T) {
	e := newEnv(t)
	s := &logsServer{}
	s.start(t, e)

	r := e.run("logs", "hello")
	r.wantCode(t, cli.ExitOK)
	want := "" +
		"2025-06-01T11:59:00.000Z hello-v1-ab12cd34 [--------] listening on :8080\n" +
		"2025-06-01T11:59:59.250Z hello-v1-ab12cd34 [c6d7e8f9] handling {\"name\":\"world\"}\n"
	if r.stdout != want {
		t.Errorf("stdout =\n%s\nwant\n%s", r.stdout, want)
	}
	if q := s.lastQuery(); q.Encode() != "tail=100" {
		t.Errorf("query = %q, want only the default tail", q.Encode())
	}

	r = e.run("logs", "hello", "--raw")
	r.wantCode(t, cli.ExitOK)
	if want := "listening on :8080\nhandling {\"name\":\"world\"}\n"; r.stdout != want {
		t.Errorf("--raw stdout = %q, want %q", r.stdout, want)
	}

	r = e.run("logs", "hello", "-o", "json", "--call", "c6d7e8f9", "--tail", "-1", "--since", "10m")
	r.wantCode(t, cli.ExitOK)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	var l api.LogLine
	if len(lines) != 2 || json.Unmarshal([]byte(lines[1]), &l) != nil || l.CallID != sampleLogs[1].CallID || l.Stream != "stderr" {
		t.Errorf("-o json stdout = %q, want one JSON object per line", r.stdout)
	}
	q := s.lastQuery()
	if q.Get("call") != "c6d7e8f9" || q.Get("tail") != "all" || q.Get("since") != "2025-06-01T11:50:00Z" || q.Has("follow") {
		t.Errorf("query = %q", q.Encode())
	}
}

func TestLogsErrors(t *testing.T) {
	e := newEnv(t)
	s := &logsServer{hangUp: true}
	s.start(t, e)

	r := e.run("logs", "nope")
	r.wantCode(t, cli.ExitError)
	r.wantError(t, `function "nope" not found`)

	r = e.run("logs", "hello", "--since", "yesterday")
	r.wantCode(t, cli.ExitUsage)
	if !strings.HasPrefix(r.stderr, `Error: --since "yesterday": want a time`) {
		t.Errorf("stderr = %q", r.stderr)
	}

	r = e.run("logs", "hello", "-f")
	r.wantCode(t, cli.ExitError)
	if !strings.Contains(r.stdout, "listening on :8080") || !strings.HasPrefix(r.stderr, "Error: service unavailable: the server at ") ||
		strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("a follow the server ended: stdout %q, stderr %q", r.stdout, r.stderr)
	}
}

// lineNotifier is a stdout that says when it has received n lines.
type lineNotifier struct {
	mu    sync.Mutex
	b     strings.Builder
	n     int
	ready chan struct{}
}

func (w *lineNotifier) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b.Write(p)
	if strings.Count(w.b.String(), "\n") >= w.n && w.ready != nil {
		close(w.ready)
		w.ready = nil
	}
	return len(p), nil
}

func TestLogsFollowUntilInterrupted(t *testing.T) {
	e := newEnv(t)
	s := &logsServer{}
	s.start(t, e)
	ready := make(chan struct{})
	out := &lineNotifier{n: len(sampleLogs), ready: ready}
	var errOut strings.Builder
	opts := e.opts
	opts.Stdout, opts.Stderr = out, &errOut

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() {
		select {
		case <-ready: // Ctrl-C once the lines are shown
		case <-time.After(10 * time.Second):
		}
		cancel()
	}()
	code := cli.Execute(ctx, cli.NewRoot(opts), []string{"logs", "hello", "-f"})
	if code != cli.ExitOK || errOut.String() != "" {
		t.Errorf("interrupted follow: exit %d, stderr %q; want 0 and nothing", code, errOut.String())
	}
	if q := s.lastQuery(); q.Get("follow") != "true" {
		t.Errorf("query = %q, want follow=true", q.Encode())
	}
	out.mu.Lock()
	defer out.mu.Unlock()
	if got := strings.Count(out.b.String(), "\n"); got != len(sampleLogs) {
		t.Errorf("printed %d lines, want %d:\n%s", got, len(sampleLogs), out.b.String())
	}
}

// TestLogsMultiLineEntry prints an entry of several lines (a traceback the server kept as one):
// its first line after the prefix, the others indented to where the text starts.
func TestLogsMultiLineEntry(t *testing.T) {
	e := newEnv(t)
	trace := "Traceback (most recent call last):\n  File \"/app/handler.py\", line 3, in handle\n\nValueError: bad"
	s := &logsServer{lines: []api.LogLine{
		{Time: now, Instance: "hello-v1-ab12cd34", Stream: "stderr", CallID: "0a1b2c3d4e5f60718293a4b5c6d7e8f9", Line: trace},
		{Time: now.Add(time.Millisecond), Instance: "hello-v1-ab12cd34", Stream: "stdout", Line: "next"},
	}}
	s.start(t, e)

	r := e.run("logs", "hello")
	r.wantCode(t, cli.ExitOK)
	pad := strings.Repeat(" ", len("2025-06-01T12:00:00.000Z hello-v1-ab12cd34 [c6d7e8f9] "))
	want := "" +
		"2025-06-01T12:00:00.000Z hello-v1-ab12cd34 [c6d7e8f9] Traceback (most recent call last):\n" +
		pad + "  File \"/app/handler.py\", line 3, in handle\n" +
		"\n" +
		pad + "ValueError: bad\n" +
		"2025-06-01T12:00:00.001Z hello-v1-ab12cd34 [--------] next\n"
	if r.stdout != want {
		t.Errorf("stdout =\n%s\nwant\n%s", r.stdout, want)
	}

	r = e.run("logs", "hello", "--raw")
	r.wantCode(t, cli.ExitOK)
	if want := trace + "\nnext\n"; r.stdout != want {
		t.Errorf("--raw stdout = %q, want %q", r.stdout, want)
	}

	r = e.run("logs", "hello", "-o", "json")
	r.wantCode(t, cli.ExitOK)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	var l api.LogLine
	if len(lines) != 2 || json.Unmarshal([]byte(lines[0]), &l) != nil || l.Line != trace {
		t.Errorf("-o json stdout = %q, want one JSON object per entry, the first with the whole trace", r.stdout)
	}
}
