package cli_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/cli"
)

// fakeCallsAPI plays the server's call endpoints and the async front door. It keeps its calls
// newest first and pages them as the server does.
type fakeCallsAPI struct {
	calls []api.Call // newest first

	mu      sync.Mutex
	queries []url.Values // of GET /v1/calls; guarded by mu
	async   []http.Header
	bodies  []string
}

// newCallsEnv returns an env whose server is a fakeCallsAPI holding calls.
func newCallsEnv(t *testing.T, calls []api.Call) (*env, *fakeCallsAPI) {
	t.Helper()
	f := &fakeCallsAPI{calls: calls}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/calls", f.list)
	mux.HandleFunc("GET /v1/calls/{id}", f.get)
	mux.HandleFunc("/invoke/{name}", f.invoke)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	e := newEnv(t)
	e.srv = srv
	e.opts.HTTPClient = srv.Client()
	e.opts.Getenv = func(k string) string {
		if k == "HEARTH_API" {
			return srv.URL
		}
		return ""
	}
	return e, f
}

func (f *fakeCallsAPI) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f.mu.Lock()
	f.queries = append(f.queries, q)
	f.mu.Unlock()
	if s := q.Get("status"); s != "" && s != "succeeded" && s != "failed" {
		writeErr(w, 400, api.CodeInvalid, fmt.Sprintf("unknown status %q: use queued, running, ...", s), "status")
		return
	}
	limit := 50
	if s := q.Get("limit"); s != "" {
		limit, _ = strconv.Atoi(s)
	}
	l := api.CallList{Items: []api.Call{}}
	past := q.Get("before") == ""
	for _, c := range f.calls {
		if !past {
			past = c.ID == q.Get("before")
			continue
		}
		if (q.Get("function") == "" || c.Function == q.Get("function")) && (q.Get("status") == "" || string(c.Status) == q.Get("status")) {
			c.Result = nil
			l.Items = append(l.Items, c)
		}
		if len(l.Items) == limit {
			l.Next = c.ID
			break
		}
	}
	writeJSON(w, 200, l)
}

func (f *fakeCallsAPI) get(w http.ResponseWriter, r *http.Request) {
	for _, c := range f.calls {
		if c.ID == r.PathValue("id") {
			writeJSON(w, 200, c)
			return
		}
	}
	writeErr(w, 404, api.CodeNotFound, fmt.Sprintf("call %q not found", r.PathValue("id")), "")
}

func (f *fakeCallsAPI) invoke(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.async = append(f.async, r.Header.Clone())
	f.bodies = append(f.bodies, string(body))
	f.mu.Unlock()
	switch {
	case r.Header.Get(api.HeaderAsync) != "true":
		_, _ = io.WriteString(w, "ran it now")
	case r.PathValue("name") == "busy":
		w.Header().Set("Retry-After", "5")
		writeErr(w, 503, api.CodeQueueFull, "the async queue is full (1000 calls): retry later", "")
	case r.PathValue("name") == "nope":
		writeErr(w, 404, api.CodeNotFound, `function "nope" not found`, "")
	default:
		writeJSON(w, 202, api.CallAccepted{ID: "c9", Status: api.CallQueued, URL: "http://hearth.test/v1/calls/c9"})
	}
}

// testCalls are, newest first: an async call with a text result, a failed sync call with a
// long error, a queued async call, an async call with a binary result, a sync call of "get".
func testCalls() []api.Call {
	started := now.Add(-5 * time.Minute)
	return []api.Call{
		{ID: "c5", Function: "hello", Version: 3, Async: true, Status: api.CallSucceeded, HTTPStatus: 200,
			CreatedAt: started.Add(-time.Second), StartedAt: started, FinishedAt: started.Add(12 * time.Millisecond),
			DurationMS: 12.4, Instance: "hello-v3-1a2b", Cold: "new", Attempts: 2, CallbackURL: "http://hook.test/done",
			Result: &api.CallResult{Status: 201, Headers: map[string][]string{"Content-Type": {"text/plain"}, "X-B": {"2", "3"}}, Body: []byte("hello, later")}},
		{ID: "c4", Function: "hello", Version: 3, Status: api.CallFailed, HTTPStatus: 500,
			CreatedAt: started, StartedAt: started, FinishedAt: started, DurationMS: 0.42, Instance: "hello-v3-1a2b",
			Error: "handler panicked: runtime error: invalid memory address or nil pointer dereference\ngoroutine 1"},
		{ID: "c3", Function: "other", Async: true, Status: api.CallQueued, CreatedAt: started},
		{ID: "c2", Function: "other", Version: 1, Async: true, Status: api.CallSucceeded, HTTPStatus: 200,
			CreatedAt: started, StartedAt: started, FinishedAt: started, DurationMS: 3, Cold: "resumed", Attempts: 1,
			Result: &api.CallResult{Status: 200, Body: []byte{0xff, 0x00, 0x01}}},
		{ID: "c1", Function: "get", Version: 1, Status: api.CallSucceeded, HTTPStatus: 200,
			CreatedAt: started, StartedAt: started.Add(-72 * time.Hour), FinishedAt: started, DurationMS: 250},
	}
}

func TestCallsTable(t *testing.T) {
	e, _ := newCallsEnv(t, testCalls())
	r := e.run("calls")
	r.wantCode(t, cli.ExitOK)
	want := `ID   FUNCTION   VERSION   ASYNC   STATUS      HTTP   COLD      STARTED   DURATION   ERROR
c5   hello      3         async   succeeded   200    new       5m ago    12 ms      -
c4   hello      3         sync    failed      500    -         5m ago    0.4 ms     handler panicked: runtime error: invalid memory address o...
c3   other      -         async   queued      -      -         -         -          -
c2   other      1         async   succeeded   200    resumed   5m ago    3.0 ms     -
c1   get        1         sync    succeeded   200    -         3d ago    250 ms     -
`
	if r.stdout != want {
		t.Errorf("table =\n%s\nwant\n%s", r.stdout, want)
	}
	if r.stderr != "" {
		t.Errorf("stderr = %q", r.stderr)
	}
}

func TestCallsFiltersAndPages(t *testing.T) {
	e, f := newCallsEnv(t, testCalls())
	tests := []struct {
		args  []string
		query url.Values
		ids   []string
		more  string
	}{
		{[]string{"calls", "hello"}, url.Values{"function": {"hello"}, "limit": {"50"}}, []string{"c5", "c4"}, ""},
		{[]string{"calls", "--limit", "2"}, url.Values{"limit": {"2"}}, []string{"c5", "c4"}, "More: hearth calls --limit 2 --before c4\n"},
		{[]string{"calls", "--limit", "2", "--before", "c4", "--status", "succeeded"},
			url.Values{"limit": {"2"}, "before": {"c4"}, "status": {"succeeded"}}, []string{"c2", "c1"},
			"More: hearth calls --status succeeded --limit 2 --before c1\n"},
		{[]string{"calls", "--", "get"}, url.Values{"function": {"get"}, "limit": {"50"}}, []string{"c1"}, ""},
		{[]string{"calls", "--limit", "1", "--", "get"}, url.Values{"function": {"get"}, "limit": {"1"}}, []string{"c1"}, "More: hearth calls --limit 1 --before c1 -- get\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := e.run(tt.args...)
			r.wantCode(t, cli.ExitOK)
			lines := strings.Split(strings.TrimSpace(r.stdout), "\n")[1:]
			var ids []string
			for _, l := range lines {
				ids = append(ids, strings.Fields(l)[0])
			}
			if strings.Join(ids, ",") != strings.Join(tt.ids, ",") {
				t.Errorf("ids = %v, want %v\n%s", ids, tt.ids, r.stdout)
			}
			if r.stderr != tt.more {
				t.Errorf("stderr = %q, want %q", r.stderr, tt.more)
			}
			f.mu.Lock()
			q := f.queries[len(f.queries)-1]
			f.mu.Unlock()
			if q.Encode() != tt.query.Encode() {
				t.Errorf("query = %s, want %s", q.Encode(), tt.query.Encode())
			}
		})
	}
}

func TestCallsJSONAndEmpty(t *testing.T) {
	e, _ := newCallsEnv(t, testCalls())
	r := e.run("calls", "hello", "-o", "json")
	r.wantCode(t, cli.ExitOK)
	var l api.CallList
	if err := json.Unmarshal([]byte(r.stdout), &l); err != nil || len(l.Items) != 2 || l.Items[0].ID != "c5" {
		t.Errorf("json = %+v, %v\n%s", l, err, r.stdout)
	}

	r = e.run("calls", "nobody", "-o", "json")
	r.wantCode(t, cli.ExitOK)
	if strings.TrimSpace(r.stdout) != "{\n  \"items\": []\n}" {
		t.Errorf("empty json = %q", r.stdout)
	}
	r = e.run("calls", "nobody", "--status", "failed")
	r.wantCode(t, cli.ExitOK)
	if r.stdout != "" || r.stderr != "No calls of nobody recorded with status failed.\n" {
		t.Errorf("empty: stdout %q stderr %q", r.stdout, r.stderr)
	}
}

func TestCallsFailures(t *testing.T) {
	e, _ := newCallsEnv(t, testCalls())
	tests := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"calls", "--status", "done"}, cli.ExitError, `unknown status "done": use queued, running, ...`},
		{[]string{"calls", "--limit", "0"}, cli.ExitUsage, "--limit must be from 1 to 1000, got 0"},
		{[]string{"calls", "--limit", "1001"}, cli.ExitUsage, "--limit must be from 1 to 1000, got 1001"},
		{[]string{"calls", "a", "b"}, cli.ExitUsage, `hearth calls takes at most one function name, got "a b"`},
		{[]string{"calls", "get"}, cli.ExitUsage, "hearth calls get needs ID"},
		{[]string{"calls", "get", "nope"}, cli.ExitError, "call nope not found"},
		{[]string{"calls", "get", "c5", "--body", "-o", "json"}, cli.ExitUsage, "use either --body or -o json, not both"},
		{[]string{"calls", "get", "c4", "--body"}, cli.ExitError, "call c4 was a sync call: its answer went to its caller and is not kept"},
		{[]string{"calls", "get", "c3", "--body"}, cli.ExitError, "call c3 has no result yet: it is queued"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := e.run(tt.args...)
			r.wantCode(t, tt.code)
			if r.stdout != "" {
				t.Errorf("stdout = %q", r.stdout)
			}
			first, _, _ := strings.Cut(r.stderr, "\n")
			if first != "Error: "+tt.msg {
				t.Errorf("stderr starts %q, want %q", first, "Error: "+tt.msg)
			}
			if tt.code == cli.ExitError {
				r.wantError(t, tt.msg)
			}
		})
	}
}

func TestCallGet(t *testing.T) {
	e, _ := newCallsEnv(t, testCalls())
	tests := []struct{ id, want string }{
		{"c5", `ID:           c5
Function:     hello
Version:      3
Mode:         async
Status:       succeeded
HTTP status:  200
Created:      2025-06-01T11:54:59Z (5m ago)
Started:      2025-06-01T11:55:00Z (5m ago)
Finished:     2025-06-01T11:55:00Z (4m ago)
Duration:     12 ms
Instance:     hello-v3-1a2b
Cold start:   new instance
Attempts:     2
Callback:     http://hook.test/done
Error:        -

Result: 201 Created
Content-Type: text/plain
X-B: 2
X-B: 3

hello, later
`},
		{"c4", `ID:           c4
Function:     hello
Version:      3
Mode:         sync
Status:       failed
HTTP status:  500
Created:      2025-06-01T11:55:00Z (5m ago)
Started:      2025-06-01T11:55:00Z (5m ago)
Finished:     2025-06-01T11:55:00Z (5m ago)
Duration:     0.4 ms
Instance:     hello-v3-1a2b
Cold start:   no (warm instance)
Error:        handler panicked: runtime error: invalid memory address or nil pointer dereference goroutine 1
`},
		{"c3", `ID:           c3
Function:     other
Version:      -
Mode:         async
Status:       queued
HTTP status:  -
Created:      2025-06-01T11:55:00Z (5m ago)
Started:      -
Finished:     -
Duration:     -
Instance:     -
Cold start:   no (warm instance)
Attempts:     0
Callback:     -
Error:        -

call c3 has no result yet: it is queued
`},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			r := e.run("calls", "get", tt.id)
			r.wantCode(t, cli.ExitOK)
			if r.stdout != tt.want {
				t.Errorf("stdout =\n%s\nwant\n%s", r.stdout, tt.want)
			}
		})
	}

	r := e.run("calls", "get", "c2")
	r.wantCode(t, cli.ExitOK)
	if !strings.HasSuffix(r.stdout, "Result: 200 OK\n\n(3 bytes of binary data: --body prints them)\n") {
		t.Errorf("binary result:\n%s", r.stdout)
	}
	r = e.run("calls", "get", "c2", "--body")
	r.wantCode(t, cli.ExitOK)
	if r.stdout != "\xff\x00\x01" {
		t.Errorf("--body = %q, want the raw bytes", r.stdout)
	}
	r = e.run("calls", "get", "c5", "-o", "json")
	r.wantCode(t, cli.ExitOK)
	var c api.Call
	if err := json.Unmarshal([]byte(r.stdout), &c); err != nil || c.Result == nil || string(c.Result.Body) != "hello, later" {
		t.Errorf("json = %+v, %v", c, err)
	}
}

func TestInvokeAsync(t *testing.T) {
	e, f := newCallsEnv(t, nil)
	r := e.run("invoke", "hello", "--async", "-d", `{"a":1}`, "--callback", "http://hook.test/done")
	r.wantCode(t, cli.ExitOK)
	if r.stdout != "c9\n" {
		t.Errorf("stdout = %q, want the call id", r.stdout)
	}
	if !strings.Contains(r.stderr, "hearth calls get c9") {
		t.Errorf("stderr = %q, want a hint naming hearth calls get", r.stderr)
	}
	f.mu.Lock()
	h, body := f.async[0], f.bodies[0]
	f.mu.Unlock()
	if h.Get(api.HeaderAsync) != "true" || h.Get(api.HeaderCallbackURL) != "http://hook.test/done" ||
		h.Get("Content-Type") != "application/json" || body != `{"a":1}` {
		t.Errorf("server got headers %v body %q", h, body)
	}

	r = e.run("invoke", "hello", "--async", "-o", "json")
	r.wantCode(t, cli.ExitOK)
	var acc api.CallAccepted
	if err := json.Unmarshal([]byte(r.stdout), &acc); err != nil || acc.ID != "c9" || acc.Status != api.CallQueued || acc.URL == "" {
		t.Errorf("json = %+v, %v\n%s", acc, err, r.stdout)
	}
	f.mu.Lock()
	h = f.async[1]
	f.mu.Unlock()
	if _, ok := h[api.HeaderCallbackURL]; ok {
		t.Errorf("callback header sent without --callback: %v", h)
	}
}

func TestInvokeAsyncFailures(t *testing.T) {
	e, _ := newCallsEnv(t, nil)
	tests := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"invoke", "busy", "--async"}, cli.ExitError, "the async queue is full (1000 calls): retry later"},
		{[]string{"invoke", "nope", "--async"}, cli.ExitError, `function "nope" not found`},
		{[]string{"invoke", "hello", "--callback", "http://x"}, cli.ExitUsage, "--callback is for async calls: add --async"},
		{[]string{"invoke", "hello", "-i", "-o", "json"}, cli.ExitUsage, "use either -i or -o json: the JSON has the headers"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := e.run(tt.args...)
			r.wantCode(t, tt.code)
			if r.stdout != "" {
				t.Errorf("stdout = %q", r.stdout)
			}
			if first, _, _ := strings.Cut(r.stderr, "\n"); first != "Error: "+tt.msg {
				t.Errorf("stderr starts %q, want %q", first, "Error: "+tt.msg)
			}
		})
	}
}
