package router

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/runtimes/contract"
	"github.com/hearthfn/hearth/scheduler/outbound"
	"github.com/hearthfn/hearth/scheduler/store"
)

// memQueue is an AsyncQueue that keeps what it is given, up to max.
type memQueue struct {
	mu    sync.Mutex
	max   int
	calls []api.Call
	reqs  []store.AsyncRequest
}

func (q *memQueue) Enqueue(_ context.Context, c api.Call, req store.AsyncRequest) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.calls) >= q.max {
		return fmt.Errorf("queue: %w", store.ErrQueueFull)
	}
	q.calls, q.reqs = append(q.calls, c), append(q.reqs, req)
	return nil
}

// memRecorder is a Recorder that keeps the records.
type memRecorder struct {
	mu   sync.Mutex
	recs []api.Call
}

func (r *memRecorder) Record(c api.Call) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, c)
}

func (r *memRecorder) take() []api.Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.recs
	r.recs = nil
	return out
}

func asyncPost(t *testing.T, url, body string, header map[string]string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set(api.HeaderAsync, "true")
	req.Header.Set("X-Keep", "me")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestAsyncCallIsQueuedAndAnswered202(t *testing.T) {
	q := &memQueue{max: 10}
	front, n := setup(t, api.FunctionSpec{}, Config{Async: q})
	resp := asyncPost(t, front.URL+"/invoke/echo/sub?x=1", "payload", map[string]string{api.HeaderCallbackURL: "http://example.test/cb"})
	var acc api.CallAccepted
	if err := json.NewDecoder(resp.Body).Decode(&acc); err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d, body err %v", resp.StatusCode, err)
	}
	if len(q.calls) != 1 || acc.ID != q.calls[0].ID || acc.Status != api.CallQueued || resp.Header.Get(contract.HeaderCallID) != acc.ID {
		t.Fatalf("accepted %+v, queued %+v", acc, q.calls)
	}
	c, req := q.calls[0], q.reqs[0]
	if !c.Async || c.Function != "echo" || c.CallbackURL != "http://example.test/cb" {
		t.Fatalf("queued call %+v", c)
	}
	if req.Method != http.MethodPost || req.Path != "/sub" || req.Query != "x=1" || string(req.Body) != "payload" ||
		http.Header(req.Header).Get("X-Keep") != "me" || http.Header(req.Header).Get(api.HeaderAsync) != "" {
		t.Fatalf("queued request %+v", req)
	}
	if n.startCount() != 0 {
		t.Fatalf("accepting an async call started %d instances", n.startCount())
	}
}

func TestAsyncRefusals(t *testing.T) {
	q := &memQueue{max: 1}
	front, _ := setup(t, api.FunctionSpec{}, Config{Async: q, MaxBodyBytes: 16})
	tests := []struct {
		name, path, body string
		header           map[string]string
		status           int
		code             string
	}{
		{"unknown function", "/invoke/nope", "", nil, http.StatusNotFound, api.CodeNotFound},
		{"bad callback", "/invoke/echo", "", map[string]string{api.HeaderCallbackURL: "ftp://x"}, http.StatusBadRequest, api.CodeInvalid},
		{"body too large", "/invoke/echo", strings.Repeat("x", 17), nil, http.StatusRequestEntityTooLarge, api.CodeTooLarge},
		{"first fits", "/invoke/echo", "", nil, http.StatusAccepted, ""},
		{"queue full", "/invoke/echo", "", nil, http.StatusServiceUnavailable, api.CodeQueueFull},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := asyncPost(t, front.URL+tt.path, tt.body, tt.header)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.code != "" {
				if got := errorCode(t, resp); got != tt.code {
					t.Fatalf("code %q, want %q", got, tt.code)
				}
			}
			if tt.status == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
				t.Fatalf("503 without Retry-After")
			}
		})
	}
}

// TestAsyncCallbackChecked: accept asks the callback checker, and answers 400 with its reason
// and the way out when it refuses; with private targets allowed, the same URL is accepted.
func TestAsyncCallbackChecked(t *testing.T) {
	res := fakeResolver{"rebind.test": {netip.MustParseAddr("127.0.0.1")}}
	tests := []struct {
		name     string
		guard    outbound.Config
		callback string
		status   int
		says     []string
	}{
		{"loopback", outbound.Config{}, "http://127.0.0.1:9/", http.StatusBadRequest,
			[]string{"127.0.0.1 is a loopback address", "--callback-allow-private"}},
		{"metadata", outbound.Config{}, "http://169.254.169.254/latest", http.StatusBadRequest,
			[]string{"link-local", "--callback-allow-private"}},
		{"name of a loopback address", outbound.Config{}, "http://rebind.test/cb", http.StatusBadRequest,
			[]string{"rebind.test resolves to 127.0.0.1", "--callback-allow-private"}},
		{"name that does not resolve", outbound.Config{}, "http://nowhere.test/cb", http.StatusBadRequest,
			[]string{"nowhere.test", "must resolve"}},
		{"loopback allowed", outbound.Config{AllowPrivate: true}, "http://127.0.0.1:9/", http.StatusAccepted, nil},
		{"name allowed", outbound.Config{AllowPrivate: true}, "http://rebind.test/cb", http.StatusAccepted, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := &memQueue{max: 10}
			tt.guard.Resolver = res
			front, _ := setup(t, api.FunctionSpec{}, Config{Async: q, Callbacks: outbound.New(tt.guard)})
			resp := asyncPost(t, front.URL+"/invoke/echo", "", map[string]string{api.HeaderCallbackURL: tt.callback})
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.status != http.StatusBadRequest {
				return
			}
			var body api.ErrorBody
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if body.Error.Code != api.CodeInvalid {
				t.Fatalf("code %q, want %q", body.Error.Code, api.CodeInvalid)
			}
			t.Log(body.Error.Message)
			for _, s := range tt.says {
				if !strings.Contains(body.Error.Message, s) {
					t.Fatalf("message %q does not say %q", body.Error.Message, s)
				}
			}
			if len(q.calls) != 0 {
				t.Fatalf("a refused call was queued: %+v", q.calls)
			}
		})
	}
}

// fakeResolver answers from a table; a name not in it does not resolve.
type fakeResolver map[string][]netip.Addr

func (f fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := f[host]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func TestSyncCallsAreRecorded(t *testing.T) {
	rec := &memRecorder{}
	front, _ := setup(t, api.FunctionSpec{Timeout: api.Duration(200 * time.Millisecond)}, Config{Recorder: rec})
	for _, path := range []string{"/invoke/echo", "/invoke/echo/crash", "/invoke/nope"} {
		resp, err := http.Post(front.URL+path, "text/plain", strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	// A call is recorded after its answer is written, so the caller may see the answer first.
	var recs []api.Call
	for deadline := time.Now().Add(5 * time.Second); len(recs) < 2 && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		recs = append(recs, rec.take()...)
	}
	// And none more comes (the unknown function's): Close returns once every handler has,
	// and a call is recorded before its handler returns.
	front.Close()
	recs = append(recs, rec.take()...)
	if len(recs) != 2 {
		t.Fatalf("recorded %d calls, want 2 (calls to unknown functions are not kept): %+v", len(recs), recs)
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].CreatedAt.Before(recs[j].CreatedAt) })
	okRec, crash := recs[0], recs[1]
	if okRec.Status != api.CallSucceeded || okRec.HTTPStatus != http.StatusCreated || okRec.Instance == "" || okRec.Cold != "new" ||
		okRec.Version != 1 || okRec.Async || okRec.StartedAt.IsZero() || okRec.FinishedAt.Before(okRec.StartedAt) {
		t.Fatalf("ok call record %+v", okRec)
	}
	if crash.Status != api.CallFailed || crash.HTTPStatus != http.StatusInternalServerError || crash.Cold != "" || crash.Error != "boom" {
		t.Fatalf("crash record %+v", crash)
	}
}

// memTracker is a CallTracker that keeps what it heard.
type memTracker struct {
	mu     sync.Mutex
	events []string
}

func (m *memTracker) CallStarted(instanceID, callID string, at time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events = append(m.events, "start "+callID)
}

func (m *memTracker) CallEnded(instanceID, callID string, at time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events = append(m.events, "end "+callID)
}

func TestCallTrackerHearsStartAndEnd(t *testing.T) {
	tr := &memTracker{}
	front, _ := setup(t, api.FunctionSpec{}, Config{Calls: tr})
	resp, err := http.Post(front.URL+"/invoke/echo", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	id := resp.Header.Get(contract.HeaderCallID)
	want := "start " + id + ",end " + id
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		tr.mu.Lock()
		got := strings.Join(tr.events, ",")
		tr.mu.Unlock()
		if got == want {
			return
		}
	}
	t.Fatalf("tracker heard %v, want %s", tr.events, want)
}
