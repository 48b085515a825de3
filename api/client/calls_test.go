package client_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/api/client"
)

func TestListCalls(t *testing.T) {
	var (
		mu      sync.Mutex
		queries []url.Values
	)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/calls", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		queries = append(queries, r.URL.Query())
		mu.Unlock()
		if r.URL.Query().Get("status") == "done" {
			writeErr(w, 400, api.CodeInvalid, `unknown status "done"`, "status")
			return
		}
		writeJSON(w, 200, api.CallList{Items: []api.Call{{ID: "c2", Function: "hello"}, {ID: "c1", Function: "hello"}}, Next: "c1"})
	})
	c := newServer(t, mux)
	ctx := context.Background()

	l, err := c.ListCalls(ctx, client.ListCallsOptions{})
	if err != nil || len(l.Items) != 2 || l.Items[0].ID != "c2" || l.Next != "c1" {
		t.Fatalf("ListCalls = %+v, %v", l, err)
	}
	if _, err := c.ListCalls(ctx, client.ListCallsOptions{Function: "hello world", Status: api.CallFailed, Before: "c1", Limit: 20}); err != nil {
		t.Fatal(err)
	}
	_, err = c.ListCalls(ctx, client.ListCallsOptions{Status: "done"})
	var ce *client.Error
	if !errors.Is(err, client.ErrInvalid) || !errors.As(err, &ce) || ce.Detail.Field != "status" {
		t.Errorf("bad status: error %#v, want ErrInvalid naming status", err)
	}

	want := []url.Values{
		{},
		{"function": {"hello world"}, "status": {"failed"}, "before": {"c1"}, "limit": {"20"}},
		{"status": {"done"}},
	}
	mu.Lock()
	defer mu.Unlock()
	if !reflect.DeepEqual(queries, want) {
		t.Errorf("queries = %v, want %v", queries, want)
	}
}

func TestGetCall(t *testing.T) {
	call := api.Call{ID: "a/b", Function: "hello", Async: true, Status: api.CallSucceeded, Attempts: 1,
		CreatedAt: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		Result:    &api.CallResult{Status: 200, Headers: map[string][]string{"Content-Type": {"text/plain"}}, Body: []byte("hi")}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/calls/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != call.ID {
			writeErr(w, 404, api.CodeNotFound, `call "`+r.PathValue("id")+`" not found`, "")
			return
		}
		writeJSON(w, 200, call)
	})
	c := newServer(t, mux)
	ctx := context.Background()

	got, err := c.GetCall(ctx, "a/b")
	if err != nil || !reflect.DeepEqual(got, call) {
		t.Fatalf("GetCall = %+v, %v; want %+v", got, err, call)
	}
	if _, err := c.GetCall(ctx, "nope"); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("GetCall(nope) = %v, want ErrNotFound", err)
	}
	if _, err := c.GetCall(ctx, ""); !errors.Is(err, client.ErrInvalid) {
		t.Errorf("GetCall(\"\") = %v, want ErrInvalid", err)
	}
}

// asyncSeen is what the fake front door received with an async call.
type asyncSeen struct {
	method, path, query, body, async, callback, thing string
}

func TestInvokeAsync(t *testing.T) {
	seen := make(chan asyncSeen, 10)
	front := func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		seen <- asyncSeen{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, string(body),
			r.Header.Get(api.HeaderAsync), r.Header.Get(api.HeaderCallbackURL), r.Header.Get("X-Thing")}
		switch r.PathValue("name") {
		case "missing":
			writeErr(w, 404, api.CodeNotFound, `function "missing" not found`, "")
		case "busy":
			w.Header().Set("Retry-After", "5")
			writeErr(w, 503, api.CodeQueueFull, "the async queue is full", "")
		case "old":
			_, _ = io.WriteString(w, "ran it now")
		case "garbled":
			w.WriteHeader(202)
			_, _ = io.WriteString(w, "accepted!")
		default:
			writeJSON(w, 202, api.CallAccepted{ID: "c1", Status: api.CallQueued, URL: "http://h/v1/calls/c1"})
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/invoke/{name}", front)
	mux.HandleFunc("/invoke/{name}/{rest...}", front)
	c := newServer(t, mux)
	ctx := context.Background()

	acc, err := c.InvokeAsync(ctx, "hello", client.InvokeRequest{
		Path:   "/orders",
		Query:  url.Values{"q": {"1"}},
		Header: http.Header{"X-Thing": {"yes"}, api.HeaderCallbackURL: {"http://stale"}},
		Body:   strings.NewReader("hi"),
	}, "http://hook.test/done")
	if err != nil {
		t.Fatal(err)
	}
	if want := (api.CallAccepted{ID: "c1", Status: api.CallQueued, URL: "http://h/v1/calls/c1"}); acc != want {
		t.Errorf("accepted = %+v, want %+v", acc, want)
	}
	if got, want := <-seen, (asyncSeen{"POST", "/invoke/hello/orders", "q=1", "hi", "true", "http://hook.test/done", "yes"}); got != want {
		t.Errorf("server got %+v, want %+v", got, want)
	}

	if _, err := c.InvokeAsync(ctx, "hello", client.InvokeRequest{Header: http.Header{api.HeaderCallbackURL: {"http://stale"}}}, ""); err != nil {
		t.Fatal(err)
	}
	if got, want := <-seen, (asyncSeen{method: "GET", path: "/invoke/hello", async: "true"}); got != want {
		t.Errorf("without a callback the server got %+v, want %+v", got, want)
	}

	for _, tt := range []struct {
		name string
		want error
		msg  string
	}{
		{"missing", client.ErrNotFound, `function "missing" not found`},
		{"busy", client.ErrQueueFull, "the async queue is full"},
		{"old", client.ErrProtocol, "200 OK instead of 202 Accepted"},
		{"garbled", client.ErrProtocol, "decoding the answer"},
	} {
		_, err := c.InvokeAsync(ctx, tt.name, client.InvokeRequest{}, "")
		<-seen
		if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: error %v, want %v containing %q", tt.name, err, tt.want, tt.msg)
		}
	}
	if _, err := c.InvokeAsync(ctx, "", client.InvokeRequest{}, ""); !errors.Is(err, client.ErrInvalid) {
		t.Errorf("InvokeAsync(\"\") = %v, want ErrInvalid", err)
	}
}
