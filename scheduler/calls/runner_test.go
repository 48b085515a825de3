package calls

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/outbound"
	"github.com/hearthfn/hearth/scheduler/router"
	"github.com/hearthfn/hearth/scheduler/store"
	"github.com/hearthfn/hearth/scheduler/store/sqlstore"
)

// scriptedInvoker answers async runs with the next of its scripted outcomes and counts runs.
type scriptedInvoker struct {
	mu     sync.Mutex
	script []api.Call // Status, HTTPStatus and Error of each run, in order; the last repeats
	runs   int
}

func (s *scriptedInvoker) Invoke(w http.ResponseWriter, r *http.Request, function, path string) {
	s.mu.Lock()
	next := s.script[min(s.runs, len(s.script)-1)]
	s.runs++
	s.mu.Unlock()
	rec := router.AsyncRecord(r.Context())
	body, _ := io.ReadAll(r.Body)
	rec.Status, rec.HTTPStatus, rec.Error = next.Status, next.HTTPStatus, next.Error
	rec.FinishedAt = time.Now()
	w.WriteHeader(next.HTTPStatus)
	_, _ = w.Write([]byte("echo " + string(body)))
}

func (s *scriptedInvoker) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.runs
}

func openStore(t *testing.T, path string) *sqlstore.Store {
	t.Helper()
	st, err := sqlstore.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// startRunner runs a runner with quick retries until the test ends.
func startRunner(t *testing.T, st store.CallStore, inv Invoker, cfg RunnerConfig) *Runner {
	t.Helper()
	cfg.Backoff, cfg.Poll = 10*time.Millisecond, 10*time.Millisecond
	r := NewRunner(st, inv, cfg, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return r
}

func enqueue(t *testing.T, r *Runner, id, callback string) {
	t.Helper()
	c := api.Call{ID: id, Function: "f", Async: true, Status: api.CallQueued, CreatedAt: time.Now(), CallbackURL: callback}
	if err := r.Enqueue(context.Background(), c, store.AsyncRequest{Method: "POST", Path: "/", Body: []byte("hi")}); err != nil {
		t.Fatal(err)
	}
}

func waitFinished(t *testing.T, st store.CallStore, id string) api.Call {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c, err := st.GetCall(context.Background(), id)
		if err == nil && c.Status.Finished() {
			return c
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("call %s did not finish", id)
	return api.Call{}
}

var (
	ok          = api.Call{Status: api.CallSucceeded, HTTPStatus: 200}
	unavailable = api.Call{Status: api.CallError, HTTPStatus: 503, Error: "no instance"}
	handlerErr  = api.Call{Status: api.CallFailed, HTTPStatus: 500, Error: "boom"}
)

func TestRunnerRetriesInfrastructureFailures(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "h.db"))
	inv := &scriptedInvoker{script: []api.Call{unavailable, unavailable, ok}}
	r := startRunner(t, st, inv, RunnerConfig{Attempts: 3})
	enqueue(t, r, "c1", "")
	c := waitFinished(t, st, "c1")
	if c.Status != api.CallSucceeded || c.Attempts != 3 || c.Result == nil || string(c.Result.Body) != "echo hi" {
		t.Fatalf("call = %+v (result %+v), want succeeded on attempt 3 with the echo", c, c.Result)
	}
}

func TestRunnerGivesUpAfterAttempts(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "h.db"))
	inv := &scriptedInvoker{script: []api.Call{unavailable}}
	r := startRunner(t, st, inv, RunnerConfig{Attempts: 2})
	enqueue(t, r, "c1", "")
	c := waitFinished(t, st, "c1")
	if c.Status != api.CallError || c.Attempts != 2 || inv.count() != 2 || c.Error != "no instance" {
		t.Fatalf("call = %+v after %d runs, want error after 2 attempts", c, inv.count())
	}
}

func TestRunnerDoesNotRetryHandlerErrors(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "h.db"))
	inv := &scriptedInvoker{script: []api.Call{handlerErr, ok}}
	r := startRunner(t, st, inv, RunnerConfig{Attempts: 3})
	enqueue(t, r, "c1", "")
	c := waitFinished(t, st, "c1")
	if c.Status != api.CallFailed || c.Attempts != 1 || inv.count() != 1 {
		t.Fatalf("call = %+v after %d runs, want failed after 1 attempt", c, inv.count())
	}
}

func TestRunnerSendsCallback(t *testing.T) {
	got := make(chan api.Call, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var c api.Call
		_ = json.NewDecoder(r.Body).Decode(&c)
		got <- c
	}))
	defer srv.Close()
	st := openStore(t, filepath.Join(t.TempDir(), "h.db"))
	// The target is on loopback: only a server that allows private targets reaches it.
	cfg := RunnerConfig{Callback: outbound.New(outbound.Config{AllowPrivate: true}).Client(5 * time.Second)}
	r := startRunner(t, st, &scriptedInvoker{script: []api.Call{ok}}, cfg)
	enqueue(t, r, "c1", srv.URL)
	select {
	case c := <-got:
		if c.ID != "c1" || c.Status != api.CallSucceeded || c.Result == nil || string(c.Result.Body) != "echo hi" {
			t.Fatalf("callback got %+v", c)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no callback")
	}
}

// logRecords is a slog handler that passes records on, for tests that wait for a log line. It
// never blocks the logger: past its buffer, records are dropped.
type logRecords chan slog.Record

func (l logRecords) Enabled(context.Context, slog.Level) bool { return true }
func (l logRecords) Handle(_ context.Context, r slog.Record) error {
	select {
	case l <- r.Clone():
	default:
	}
	return nil
}
func (l logRecords) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l logRecords) WithGroup(string) slog.Handler      { return l }

// waitLog returns the first record whose message starts with prefix.
func waitLog(t *testing.T, logs logRecords, prefix string) slog.Record {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case r := <-logs:
			if strings.HasPrefix(r.Message, prefix) {
				return r
			}
		case <-timeout:
			t.Fatalf("no log line %q", prefix)
		}
	}
}

func attr(r slog.Record, key string) string {
	var v string
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			v = a.Value.String()
			return false
		}
		return true
	})
	return v
}

// TestRunnerRefusesCallbackToDeniedAddress: by default the callback client refuses a loopback
// target; the runner gives up at once, without retrying, and logs why.
func TestRunnerRefusesCallbackToDeniedAddress(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer srv.Close()
	st := openStore(t, filepath.Join(t.TempDir(), "h.db"))
	logs := make(logRecords, 100)
	r := NewRunner(st, &scriptedInvoker{script: []api.Call{ok}}, RunnerConfig{Poll: 10 * time.Millisecond}, slog.New(logs))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx) }()
	defer func() { cancel(); <-done }()

	enqueue(t, r, "c1", srv.URL)
	rec := waitLog(t, logs, "callback not sent")
	if attr(rec, "call_id") != "c1" || !strings.Contains(attr(rec, "error"), "127.0.0.1 is a loopback address") ||
		!strings.Contains(rec.Message, "--callback-allow-private") {
		t.Fatalf("log %q %v: want the call, the loopback address and the flag", rec.Message, attr(rec, "error"))
	}
	// The log line comes after every try: a request that got through would have been counted.
	if n := hits.Load(); n != 0 {
		t.Fatalf("the refused target was reached %d times", n)
	}
	if c := waitFinished(t, st, "c1"); c.Status != api.CallSucceeded {
		t.Fatalf("call = %+v: a refused callback must not change the call's outcome", c)
	}
}

// TestCallbackRetryPauseEndsWithTheRunner: a callback waiting to be tried again does not hold
// the runner's stop up; with an hour's pause, Run returns only because the pause ends with ctx.
func TestCallbackRetryPauseEndsWithTheRunner(t *testing.T) {
	tried := make(chan struct{}, callbackTries)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		tried <- struct{}{}
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer srv.Close()
	st := openStore(t, filepath.Join(t.TempDir(), "h.db"))
	logs := make(logRecords, 100)
	cfg := RunnerConfig{Poll: 10 * time.Millisecond, CallbackPause: time.Hour,
		Callback: outbound.New(outbound.Config{AllowPrivate: true}).Client(5 * time.Second)}
	r := NewRunner(st, &scriptedInvoker{script: []api.Call{ok}}, cfg, slog.New(logs))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx) }()

	enqueue(t, r, "c1", srv.URL)
	select {
	case <-tried:
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("the callback was never tried")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return: the callback's retry pause holds the stop up")
	}
	if rec := waitLog(t, logs, "callback failed; not tried again"); attr(rec, "tries") != "1" {
		t.Fatalf("log %q tries=%s, want 1", rec.Message, attr(rec, "tries"))
	}
}

// TestRunnerRequeuesCallsCutOffByAStop: a call left running by a process that died is run again
// by the next runner on the same store; a finished one is not.
func TestRunnerRequeuesCallsCutOffByAStop(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	st := openStore(t, path)
	ctx := context.Background()
	for _, id := range []string{"done", "cut"} {
		c := api.Call{ID: id, Function: "f", Async: true, Status: api.CallQueued, CreatedAt: time.Now()}
		if err := st.EnqueueAsync(ctx, c, store.AsyncRequest{Method: "POST", Path: "/"}, 10); err != nil {
			t.Fatal(err)
		}
	}
	claimed, err := st.ClaimAsync(ctx, time.Now(), 10)
	if err != nil || len(claimed) != 2 {
		t.Fatalf("claim: %v, %d calls", err, len(claimed))
	}
	fin := claimed[0].Call
	if fin.ID != "done" {
		fin = claimed[1].Call
	}
	fin.Status, fin.FinishedAt = api.CallSucceeded, time.Now()
	if err := st.FinishAsync(ctx, fin); err != nil {
		t.Fatal(err)
	}
	st.Close() // the process "dies" with "cut" running

	st2 := openStore(t, path)
	inv := &scriptedInvoker{script: []api.Call{ok}}
	startRunner(t, st2, inv, RunnerConfig{})
	if c := waitFinished(t, st2, "cut"); c.Status != api.CallSucceeded || c.Attempts != 2 {
		t.Fatalf("cut-off call = %+v, want succeeded on its second attempt", c)
	}
	if inv.count() != 1 {
		t.Fatalf("ran %d calls after the restart, want only the cut-off one", inv.count())
	}
}

func TestEnqueueFullQueue(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "h.db"))
	r := NewRunner(st, &scriptedInvoker{script: []api.Call{ok}}, RunnerConfig{MaxQueued: 1}, slog.New(slog.DiscardHandler))
	enqueue(t, r, "c1", "")
	c := api.Call{ID: "c2", Function: "f", Async: true, Status: api.CallQueued, CreatedAt: time.Now()}
	if err := r.Enqueue(context.Background(), c, store.AsyncRequest{Method: "GET", Path: "/"}); !errors.Is(err, store.ErrQueueFull) {
		t.Fatalf("a second call past MaxQueued 1: got %v, want ErrQueueFull", err)
	}
}

func TestBackoffDoublesToTheCap(t *testing.T) {
	r := NewRunner(nil, nil, RunnerConfig{Backoff: time.Second, MaxBackoff: 5 * time.Second}, slog.New(slog.DiscardHandler))
	for attempt, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 5 * time.Second, 9: 5 * time.Second} {
		if got := r.backoff(attempt); got != want {
			t.Errorf("backoff(%d) = %s, want %s", attempt, got, want)
		}
	}
}
