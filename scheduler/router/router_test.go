package router

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthfn/hearth/agent"
	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/runtimes/contract"
	"github.com/hearthfn/hearth/scheduler/pool"
)

// httpNode starts each instance as an httptest server running handler.
type httpNode struct {
	handler http.Handler
	err     error
	mu      sync.Mutex
	servers map[string]*httptest.Server
	starts  int
}

func (n *httpNode) StartInstance(ctx context.Context, spec instance.Spec) (instance.Instance, error) {
	if n.err != nil {
		return instance.Instance{}, n.err
	}
	s := httptest.NewServer(n.handler)
	n.mu.Lock()
	defer n.mu.Unlock()
	n.servers[spec.ID] = s
	n.starts++
	return instance.Instance{ID: spec.ID, Endpoint: strings.TrimPrefix(s.URL, "http://")}, nil
}

func (n *httpNode) StopInstance(ctx context.Context, id string) error {
	n.mu.Lock()
	s := n.servers[id]
	delete(n.servers, id)
	n.mu.Unlock()
	if s != nil {
		s.CloseClientConnections()
		s.Close()
	}
	return nil
}

func (n *httpNode) Info(context.Context) (agent.NodeInfo, error) {
	return agent.NodeInfo{ID: "http", Driver: driver.Fingerprint{Name: "http"}}, nil
}

func (n *httpNode) PauseInstance(context.Context, string) error  { return driver.ErrNotSupported }
func (n *httpNode) ResumeInstance(context.Context, string) error { return driver.ErrNotSupported }

func (n *httpNode) Instances(context.Context) ([]instance.Status, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []instance.Status
	for id := range n.servers {
		out = append(out, instance.Status{Instance: instance.Instance{ID: id}, State: instance.StateRunning})
	}
	return out, nil
}

func (n *httpNode) startCount() int { n.mu.Lock(); defer n.mu.Unlock(); return n.starts }

// instanceHandler echoes, sleeps on /sleep, and reports a crash like a shim does on /crash.
func instanceHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/sleep":
			select {
			case <-time.After(2 * time.Second):
			case <-r.Context().Done():
			}
		case "/cut":
			// Promise more body than is sent, then hang up: the answer breaks mid-stream.
			conn, buf, _ := w.(http.Hijacker).Hijack()
			buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort")
			buf.Flush()
			conn.Close()
			return
		case "/early":
			// Answer after the first half of the body, then read the rest: a function that
			// streams both ways.
			_ = http.NewResponseController(w).EnableFullDuplex()
			first, _ := io.ReadFull(r.Body, make([]byte, r.ContentLength/2))
			io.WriteString(w, "started\n")
			w.(http.Flusher).Flush()
			rest, _ := io.Copy(io.Discard, r.Body)
			fmt.Fprintf(w, "read %d bytes\n", int64(first)+rest)
			return
		case "/crash":
			w.Header().Set(contract.HeaderFailed, "true")
			contract.WriteError(w, http.StatusInternalServerError, contract.CodeHandlerError, "boom")
			return
		}
		w.Header().Set("X-Path", r.URL.Path)
		w.Header().Set("X-Query", r.URL.RawQuery)
		w.Header().Set("X-Call", r.Header.Get(contract.HeaderCallID))
		w.Header().Set(contract.HeaderCallID, r.Header.Get(contract.HeaderCallID)) // as shims echo it
		w.Header().Set("X-Deadline", r.Header.Get(contract.HeaderDeadline))
		w.WriteHeader(http.StatusCreated)
		io.Copy(w, r.Body)
	})
}

func setup(t *testing.T, spec api.FunctionSpec, cfg Config) (*httptest.Server, *httpNode) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	n := &httpNode{handler: instanceHandler(), servers: map[string]*httptest.Server{}}
	var rt *Router
	p := pool.New(pool.Config{OnStopped: func(id string) { rt.Forget(id) }}, log)
	p.AddNode("local", n, nil)
	spec.Name = "echo"
	p.Apply(api.Function{Name: "echo", Version: api.Version{Number: 1, Image: "img", Spec: spec}})
	rt = New(p, cfg, log)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest := strings.TrimPrefix(r.URL.Path, "/invoke/echo")
		if rest == "" {
			rest = "/"
		}
		name := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/invoke/"), "/", 2)[0]
		rt.Invoke(w, r, name, rest)
	}))
	t.Cleanup(func() {
		front.Close()
		p.Shutdown(false)
	})
	return front, n
}

func errorCode(t *testing.T, resp *http.Response) string {
	t.Helper()
	var body api.ErrorBody
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("error body is not JSON: %v", err)
	}
	if body.Error.Message == "" {
		t.Fatalf("error body has no message: %+v", body)
	}
	return body.Error.Code
}

func TestPassesRequestAndResponseThrough(t *testing.T) {
	front, _ := setup(t, api.FunctionSpec{}, Config{})
	resp, err := http.Post(front.URL+"/invoke/echo/some/path?x=1&y=2", "text/plain", strings.NewReader("hello body"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated || string(body) != "hello body" {
		t.Fatalf("got %d %q, want 201 and the echoed body", resp.StatusCode, body)
	}
	if p, q := resp.Header.Get("X-Path"), resp.Header.Get("X-Query"); p != "/some/path" || q != "x=1&y=2" {
		t.Fatalf("instance saw path %q query %q", p, q)
	}
	if ids := resp.Header.Values(contract.HeaderCallID); len(ids) != 1 {
		t.Fatalf("the caller got %d call id headers, want 1: %v", len(ids), ids)
	}
	if id := resp.Header.Get(contract.HeaderCallID); id == "" || id != resp.Header.Get("X-Call") {
		t.Fatalf("call id not passed to the instance and back: %q vs %q", id, resp.Header.Get("X-Call"))
	}
	if _, err := time.Parse(time.RFC3339Nano, resp.Header.Get("X-Deadline")); err != nil {
		t.Fatalf("deadline header: %v", err)
	}
	// The first call waited for a new instance; the next one finds it warm.
	if got := resp.Header.Get(api.HeaderStart); got != api.StartNew {
		t.Fatalf("%s of the first call = %q, want %q", api.HeaderStart, got, api.StartNew)
	}
	again, err := http.Post(front.URL+"/invoke/echo/", "text/plain", strings.NewReader("again"))
	if err != nil {
		t.Fatal(err)
	}
	again.Body.Close()
	if got := again.Header.Get(api.HeaderStart); got != api.StartWarm {
		t.Fatalf("%s of the second call = %q, want %q", api.HeaderStart, got, api.StartWarm)
	}
}

func TestUnknownFunctionIs404(t *testing.T) {
	front, _ := setup(t, api.FunctionSpec{}, Config{})
	resp, err := http.Get(front.URL + "/invoke/nope")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || errorCode(t, resp) != api.CodeNotFound {
		t.Fatalf("got %d, want 404 not_found", resp.StatusCode)
	}
}

func TestTimeoutIs504AndReplacesInstance(t *testing.T) {
	front, n := setup(t, api.FunctionSpec{Timeout: api.Duration(100 * time.Millisecond)}, Config{})
	resp, err := http.Get(front.URL + "/invoke/echo/sleep")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusGatewayTimeout || errorCode(t, resp) != api.CodeTimeout {
		t.Fatalf("got %d, want 504 timeout", resp.StatusCode)
	}
	resp2, err := http.Get(front.URL + "/invoke/echo/")
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if n.startCount() != 2 {
		t.Fatalf("started %d instances, want 2 (the timed-out one replaced)", n.startCount())
	}
}

func TestCrashReportedByShimReplacesInstance(t *testing.T) {
	front, n := setup(t, api.FunctionSpec{}, Config{})
	resp, err := http.Get(front.URL + "/invoke/echo/crash")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError || errorCode(t, resp) != api.CodeHandlerError {
		t.Fatalf("got %d, want the shim's 500 handler_error", resp.StatusCode)
	}
	if resp.Header.Get(contract.HeaderFailed) != "" {
		t.Fatalf("the internal %s header reached the caller", contract.HeaderFailed)
	}
	resp2, err := http.Get(front.URL + "/invoke/echo/")
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if n.startCount() != 2 {
		t.Fatalf("started %d instances, want 2 (the crashed one replaced)", n.startCount())
	}
}

func TestBodyOverLimitIs413(t *testing.T) {
	front, n := setup(t, api.FunctionSpec{}, Config{MaxBodyBytes: 1024})
	resp, err := http.Post(front.URL+"/invoke/echo", "text/plain", bytes.NewReader(make([]byte, 2048)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge || errorCode(t, resp) != api.CodeTooLarge {
		t.Fatalf("got %d, want 413 too_large", resp.StatusCode)
	}
	if n.startCount() != 0 {
		t.Fatalf("an instance was started for a call refused on its size")
	}
	// Without a Content-Length the limit is enforced while the body streams.
	req, _ := http.NewRequest(http.MethodPost, front.URL+"/invoke/echo", io.MultiReader(bytes.NewReader(make([]byte, 4096))))
	req.ContentLength = -1
	resp2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	if resp2.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked body over the limit: got %d, want 413", resp2.StatusCode)
	}
}

func TestEngineDownIs503(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	n := &httpNode{err: errors.Join(errors.New("cannot reach Docker"), driver.ErrUnavailable)}
	p := pool.New(pool.Config{}, log)
	p.AddNode("local", n, nil)
	defer p.Shutdown(false)
	p.Apply(api.Function{Name: "f", Version: api.Version{Number: 1, Spec: api.FunctionSpec{Name: "f"}}})
	rt := New(p, Config{}, log)
	rec := httptest.NewRecorder()
	rt.Invoke(rec, httptest.NewRequest(http.MethodGet, "/invoke/f", nil), "f", "/")
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "cannot reach Docker") {
		t.Fatalf("got %d %s, want 503 naming the cause", rec.Code, rec.Body.String())
	}
}

// TestEscapedPathReachesInstanceOnce: the router takes the path escaped, as the caller sent it,
// and the instance sees it escaped once: %20 decodes to a space, %2F stays inside one segment.
func TestEscapedPathReachesInstanceOnce(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var got struct{ path, raw string }
	n := &httpNode{handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.path, got.raw = r.URL.Path, r.URL.EscapedPath()
	}), servers: map[string]*httptest.Server{}}
	p := pool.New(pool.Config{}, log)
	p.AddNode("local", n, nil)
	defer p.Shutdown(false)
	p.Apply(api.Function{Name: "f", Version: api.Version{Number: 1, Spec: api.FunctionSpec{Name: "f"}}})
	rt := New(p, Config{}, log)
	for _, tt := range []struct{ escaped, path string }{
		{"/a%20b", "/a b"},
		{"/a%2Fb/c", "/a/b/c"},
		{"/caf%C3%A9", "/café"},
	} {
		rec := httptest.NewRecorder()
		rt.Invoke(rec, httptest.NewRequest(http.MethodGet, "/invoke/f"+tt.escaped, nil), "f", tt.escaped)
		if rec.Code != http.StatusOK || got.path != tt.path || got.raw != tt.escaped {
			t.Errorf("%s: instance saw path %q (escaped %q), status %d; want %q", tt.escaped, got.path, got.raw, rec.Code, tt.path)
		}
	}
}

// errPool is a Pool whose Acquire always fails with err.
type errPool struct{ err error }

func (p errPool) Acquire(context.Context, string) (*pool.Lease, error) { return nil, p.err }
func (p errPool) Timeout(string) (time.Duration, bool)                 { return time.Second, true }

// recordingObserver keeps every CallDone.
type recordingObserver struct {
	mu    sync.Mutex
	calls []string // "function outcome"
}

func (o *recordingObserver) CallDone(function, outcome string, took time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls = append(o.calls, function+" "+outcome)
}

func (o *recordingObserver) take() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	c := o.calls
	o.calls = nil
	return c
}

func TestAcquireErrorsAnswerAndOutcome(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tt := range []struct {
		name       string
		err        error
		status     int
		code       string
		retryAfter string
		outcome    string
	}{
		{"queue full", fmt.Errorf("function f: 8 calls are waiting already: %w", pool.ErrQueueFull),
			http.StatusServiceUnavailable, api.CodeQueueFull, "1", OutcomeQueueFull},
		{"never fits", fmt.Errorf("function f reserves 9000 MB: %w", pool.ErrNoCapacity),
			http.StatusServiceUnavailable, api.CodeNoCapacity, "", OutcomeUnavailable},
		{"bare no capacity", pool.ErrNoCapacity, http.StatusServiceUnavailable, api.CodeNoCapacity, "", OutcomeUnavailable},
		{"engine down", driver.ErrUnavailable, http.StatusServiceUnavailable, api.CodeUnavailable, "5", OutcomeUnavailable},
		{"no instance in time", context.DeadlineExceeded, http.StatusServiceUnavailable, api.CodeUnavailable, "1", OutcomeUnavailable},
		{"shutting down", pool.ErrClosed, http.StatusServiceUnavailable, api.CodeUnavailable, "", OutcomeUnavailable},
		{"removed meanwhile", pool.ErrUnknownFunction, http.StatusNotFound, api.CodeNotFound, "", OutcomeNotFound},
		{"start failed", errors.New("image not found"), http.StatusBadGateway, api.CodeInstanceFailed, "", OutcomeInstanceFailed},
		{"cluster cannot place it", &pool.BackoffError{Function: "f", Failures: 1, RetryIn: time.Second,
			Last: fmt.Errorf("nomad: no node has 9000 MB free: %w", driver.ErrNoCapacity)},
			http.StatusServiceUnavailable, api.CodeNoCapacity, "", OutcomeUnavailable},
		{"starts backing off", &pool.BackoffError{Function: "f", Failures: 3, RetryIn: 1500 * time.Millisecond,
			Last: fmt.Errorf("instance exited: %w", agent.ErrNotReady)},
			http.StatusServiceUnavailable, api.CodeUnavailable, "2", OutcomeUnavailable},
		{"backing off after the engine went", &pool.BackoffError{Function: "f", Failures: 1, RetryIn: 200 * time.Millisecond,
			Last: driver.ErrUnavailable}, http.StatusServiceUnavailable, api.CodeUnavailable, "1", OutcomeUnavailable},
		{"image gone", fmt.Errorf("image f:1 is not on this node: deploy the function again (hearth deploy): %w", driver.ErrImageNotFound),
			http.StatusServiceUnavailable, api.CodeUnavailable, "", OutcomeUnavailable},
	} {
		t.Run(tt.name, func(t *testing.T) {
			obs := &recordingObserver{}
			rt := New(errPool{tt.err}, Config{Observer: obs}, log)
			rec := httptest.NewRecorder()
			rt.Invoke(rec, httptest.NewRequest(http.MethodGet, "/invoke/f", nil), "f", "/")
			resp := rec.Result()
			if resp.StatusCode != tt.status || errorCode(t, resp) != tt.code {
				t.Fatalf("got %d %s, want %d %s", resp.StatusCode, rec.Body.String(), tt.status, tt.code)
			}
			if got := resp.Header.Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After %q, want %q", got, tt.retryAfter)
			}
			wantFn := "f"
			if tt.outcome == OutcomeNotFound {
				wantFn = ""
			}
			if got := obs.take(); len(got) != 1 || got[0] != wantFn+" "+tt.outcome {
				t.Errorf("observer heard %q, want once %q", got, wantFn+" "+tt.outcome)
			}
		})
	}
}

func TestImageGoneSaysDeployAgain(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	err := fmt.Errorf("start an instance of f: image f:1 is not on this node: deploy the function again (hearth deploy): %w", driver.ErrImageNotFound)
	rec := httptest.NewRecorder()
	New(errPool{err}, Config{}, log).Invoke(rec, httptest.NewRequest(http.MethodGet, "/invoke/f", nil), "f", "/")
	if !strings.Contains(rec.Body.String(), "deploy the function again (hearth deploy)") {
		t.Errorf("answer %d %s does not say what to do", rec.Code, rec.Body.String())
	}
}

func TestQueueFullMessageSaysWhatToRaise(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	rt := New(errPool{pool.ErrQueueFull}, Config{}, log) // no observer: nothing to call
	rec := httptest.NewRecorder()
	rt.Invoke(rec, httptest.NewRequest(http.MethodGet, "/invoke/f", nil), "f", "/")
	for _, want := range []string{"queue", "max_instances", "retry"} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("queue-full message lacks %q: %s", want, rec.Body.String())
		}
	}
}

func TestObserverHearsEveryCallOnce(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	n := &httpNode{handler: instanceHandler(), servers: map[string]*httptest.Server{}}
	var rt *Router
	p := pool.New(pool.Config{OnStopped: func(id string) { rt.Forget(id) }}, log)
	p.AddNode("local", n, nil)
	defer p.Shutdown(false)
	spec := api.FunctionSpec{Name: "echo", Timeout: api.Duration(100 * time.Millisecond)}
	p.Apply(api.Function{Name: "echo", Version: api.Version{Number: 1, Image: "img", Spec: spec}})
	obs := &recordingObserver{}
	rt = New(p, Config{MaxBodyBytes: 1024, Observer: obs}, log)

	for _, tt := range []struct {
		function, path string
		body           int
		status         int
		heard          string
	}{
		{"echo", "/", 0, http.StatusCreated, "echo ok"},
		{"echo", "/crash", 0, http.StatusInternalServerError, "echo handler_error"},
		{"echo", "/sleep", 0, http.StatusGatewayTimeout, "echo timeout"},
		{"echo", "/", 2048, http.StatusRequestEntityTooLarge, "echo too_large"},
		{"nope", "/", 0, http.StatusNotFound, " not_found"},
		{"nope", "/", 2048, http.StatusRequestEntityTooLarge, " too_large"},
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/invoke/"+tt.function+tt.path, bytes.NewReader(make([]byte, tt.body)))
		rt.Invoke(rec, req, tt.function, tt.path)
		if rec.Code != tt.status {
			t.Errorf("%s%s: status %d, want %d", tt.function, tt.path, rec.Code, tt.status)
		}
		if got := obs.take(); len(got) != 1 || got[0] != tt.heard {
			t.Errorf("%s%s: observer heard %q, want once %q", tt.function, tt.path, got, tt.heard)
		}
	}
}

func TestObserverHearsCallerGoingAway(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	n := &httpNode{handler: instanceHandler(), servers: map[string]*httptest.Server{}}
	p := pool.New(pool.Config{}, log)
	p.AddNode("local", n, nil)
	defer p.Shutdown(false)
	p.Apply(api.Function{Name: "echo", Version: api.Version{Number: 1, Image: "img", Spec: api.FunctionSpec{Name: "echo"}}})
	obs := &recordingObserver{}
	rt := New(p, Config{Observer: obs}, log)

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	rec := httptest.NewRecorder()
	rt.Invoke(rec, httptest.NewRequest(http.MethodGet, "/invoke/echo/sleep", nil).WithContext(ctx), "echo", "/sleep")
	if got := obs.take(); len(got) != 1 || got[0] != "echo "+OutcomeCanceled {
		t.Fatalf("observer heard %q, want once %q", got, "echo canceled")
	}
}

// TestObserverHearsAnswerCutOff: when the instance hangs up mid-answer the proxy aborts the
// handler with a panic; the call is still reported, once, as the instance's failure.
func TestObserverHearsAnswerCutOff(t *testing.T) {
	obs := &recordingObserver{}
	front, _ := setup(t, api.FunctionSpec{}, Config{Observer: obs})
	if resp, err := http.Get(front.URL + "/invoke/echo/cut"); err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	// The report comes after the answer, so the caller may see the end first.
	var got []string
	for deadline := time.Now().Add(5 * time.Second); len(got) == 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		got = obs.take()
	}
	// And no second report: Close returns once every handler has, and a call is reported
	// before its handler returns.
	front.Close()
	got = append(got, obs.take()...)
	if len(got) != 1 || got[0] != "echo "+OutcomeInstanceFailed {
		t.Fatalf("observer heard %q, want once %q", got, "echo instance_failed")
	}
}

// Call ids sort by the time they were made, so that the store appends them (see newCallID).
func TestCallIDsSortByTime(t *testing.T) {
	first := newCallID()
	time.Sleep(2 * time.Millisecond)
	second := newCallID()
	if len(first) != 32 || len(second) != 32 {
		t.Fatalf("ids %q and %q: want 32 hex digits", first, second)
	}
	if first >= second {
		t.Fatalf("id %q made before %q sorts after it", first, second)
	}
	if first[12:] == second[12:] {
		t.Fatalf("ids %q and %q share their random part", first, second)
	}
}

// probeWriter runs probe before the first bytes of the answer's body reach the caller.
type probeWriter struct {
	*httptest.ResponseRecorder
	probe func()
	done  bool
}

func (w *probeWriter) Write(b []byte) (int, error) {
	if !w.done {
		w.done = true
		w.probe()
	}
	return w.ResponseRecorder.Write(b)
}

// The slot comes back once the instance's answer has been read, before the answer reaches the
// caller: a caller that sends its next call as soon as it has the answer finds the instance free,
// and back-to-back calls to a concurrency-1 function need one instance, not two.
func TestSlotIsFreeBeforeTheAnswerReachesTheCaller(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	n := &httpNode{handler: instanceHandler(), servers: map[string]*httptest.Server{}}
	var rt *Router
	p := pool.New(pool.Config{OnStopped: func(id string) { rt.Forget(id) }}, log)
	p.AddNode("local", n, nil)
	t.Cleanup(func() { p.Shutdown(false) })
	p.Apply(api.Function{Name: "echo", Version: api.Version{Number: 1, Image: "img",
		Spec: api.FunctionSpec{Name: "echo", Concurrency: 1, MaxInstances: 5}}})
	rt = New(p, Config{}, log)

	inFlight := -1
	w := &probeWriter{ResponseRecorder: httptest.NewRecorder(), probe: func() {
		st, _ := p.Status("echo")
		inFlight = 0
		for _, in := range st.Instances {
			inFlight += in.InFlight
		}
	}}
	rt.Invoke(w, httptest.NewRequest(http.MethodPost, "/invoke/echo", strings.NewReader("x")), "echo", "/")
	if w.Code != http.StatusCreated || w.Body.String() != "x" {
		t.Fatalf("got %d %q, want the echo", w.Code, w.Body.String())
	}
	if inFlight != 0 {
		t.Fatalf("%d calls still in flight on the instance when the answer reached the caller, want 0", inFlight)
	}
}

// TestInstanceMayAnswerBeforeTheBodyIsIn checks that the caller's body keeps flowing to the
// instance after the instance's answer has begun. Go's HTTP/1 server drains and closes a request
// body when the answer's header goes out unless the handler asks for full duplex; then an
// instance that streams both ways never gets the rest, and even a plain echo can be cut off when
// the transport's last read of the body (past its Content-Length) comes after that close.
func TestInstanceMayAnswerBeforeTheBodyIsIn(t *testing.T) {
	front, _ := setup(t, api.FunctionSpec{}, Config{})
	const half = 4096
	body, send := io.Pipe()
	defer send.Close()
	req, err := http.NewRequest(http.MethodPost, front.URL+"/invoke/echo/early", body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = 2 * half
	// Without full duplex the front door waits for the second half before it answers, and the
	// client waits for the answer before it sends it: break that off instead of hanging.
	stuck := time.AfterFunc(10*time.Second, func() { send.CloseWithError(errors.New("no answer in 10 s")) })
	defer stuck.Stop()
	go send.Write(make([]byte, half))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("the answer did not begin before the whole body was sent: %v", err)
	}
	defer resp.Body.Close()
	answer := bufio.NewReader(resp.Body)
	if line, err := answer.ReadString('\n'); err != nil || line != "started\n" {
		t.Fatalf("first line %q (%v), want %q", line, err, "started\n")
	}
	go func() {
		send.Write(make([]byte, half))
		send.Close()
	}()
	rest, err := io.ReadAll(answer)
	if want := fmt.Sprintf("read %d bytes\n", 2*half); err != nil || string(rest) != want {
		t.Fatalf("rest of the answer %q (%v), want %q", rest, err, want)
	}
}
