package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/api/client"
)

// newServer starts an httptest server on mux and returns a Client for it.
func newServer(t *testing.T, mux *http.ServeMux, opts ...client.Option) *client.Client {
	t.Helper()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	c, err := client.New(srv.URL, append([]client.Option{client.WithHTTPClient(srv.Client())}, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status int, code, msg, field string) {
	writeJSON(w, status, api.ErrorBody{Error: api.ErrorDetail{Code: code, Message: msg, Field: field}})
}

func TestNewRejectsBadURLs(t *testing.T) {
	for _, u := range []string{"", "127.0.0.1:8080", "ftp://x", "http://", "http://h/?q=1", "::"} {
		if _, err := client.New(u); err == nil {
			t.Errorf("New(%q) succeeded, want an error", u)
		}
	}
	c, err := client.New("http://127.0.0.1:8080/")
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if got, want := c.BaseURL(), "http://127.0.0.1:8080"; got != want {
		t.Errorf("BaseURL = %q, want %q", got, want)
	}
	if got, want := c.InvokeURL("hello"), "http://127.0.0.1:8080/invoke/hello"; got != want {
		t.Errorf("InvokeURL = %q, want %q", got, want)
	}
}

func TestFunctionCalls(t *testing.T) {
	fn := api.Function{
		Name:    "hello",
		Version: api.Version{Number: 3, Image: "hearth/hello:abc", Spec: api.FunctionSpec{Name: "hello", Runtime: "go"}},
		Pool:    &api.PoolStatus{Instances: []api.InstanceStatus{{ID: "i1", State: "ready"}}},
	}
	deleted := false
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/functions", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, api.FunctionList{Items: []api.Function{fn}})
	})
	mux.HandleFunc("GET /v1/functions/{name}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("name") != "hello" {
			writeErr(w, 404, api.CodeNotFound, `function "`+r.PathValue("name")+`" not found`, "")
			return
		}
		writeJSON(w, 200, fn)
	})
	mux.HandleFunc("DELETE /v1/functions/{name}", func(w http.ResponseWriter, r *http.Request) {
		deleted = true
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /v1/functions/{name}/versions", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, api.VersionList{Items: []api.Version{{Number: 3}, {Number: 2}}})
	})
	mux.HandleFunc("GET /v1/info", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"version":"v1.2.3","node":"n1","ready":true,"extra":[1,2]}`)
	})
	c := newServer(t, mux)
	ctx := context.Background()

	list, err := c.ListFunctions(ctx)
	if err != nil || len(list) != 1 || list[0].Name != "hello" {
		t.Fatalf("ListFunctions = %+v, %v", list, err)
	}
	got, err := c.GetFunction(ctx, "hello")
	if err != nil || got.Version.Number != 3 || got.Pool == nil || len(got.Pool.Instances) != 1 {
		t.Fatalf("GetFunction = %+v, %v", got, err)
	}
	_, err = c.GetFunction(ctx, "nope")
	if !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("GetFunction(nope) error = %v, want ErrNotFound", err)
	}
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != 404 || ce.Error() != `function "nope" not found` {
		t.Fatalf("GetFunction(nope) error = %#v", err)
	}
	if err := c.DeleteFunction(ctx, "hello"); err != nil || !deleted {
		t.Fatalf("DeleteFunction = %v (deleted %v)", err, deleted)
	}
	vs, err := c.ListVersions(ctx, "hello")
	if err != nil || len(vs) != 2 || vs[0].Number != 3 {
		t.Fatalf("ListVersions = %+v, %v", vs, err)
	}
	info, err := c.Info(ctx)
	if err != nil || info.Version != "v1.2.3" {
		t.Fatalf("Info = %+v, %v", info, err)
	}
}

func TestEmptyNameIsRefusedLocally(t *testing.T) {
	c := newServer(t, http.NewServeMux())
	ctx := context.Background()
	if _, err := c.GetFunction(ctx, ""); !errors.Is(err, client.ErrInvalid) {
		t.Errorf("GetFunction(\"\") = %v, want ErrInvalid", err)
	}
	if err := c.DeleteFunction(ctx, ""); !errors.Is(err, client.ErrInvalid) {
		t.Errorf("DeleteFunction(\"\") = %v, want ErrInvalid", err)
	}
	if _, err := c.Invoke(ctx, "", client.InvokeRequest{}); !errors.Is(err, client.ErrInvalid) {
		t.Errorf("Invoke(\"\") = %v, want ErrInvalid", err)
	}
}

func TestErrorAnswers(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    error
		msg     string
	}{
		{"unavailable", func(w http.ResponseWriter, _ *http.Request) {
			writeErr(w, 503, api.CodeUnavailable, "docker is unreachable", "")
		}, client.ErrUnavailable, "docker is unreachable"},
		{"invalid field", func(w http.ResponseWriter, _ *http.Request) {
			writeErr(w, 400, api.CodeInvalid, "must be positive", "memory")
		}, client.ErrInvalid, "memory: must be positive"},
		{"internal", func(w http.ResponseWriter, _ *http.Request) {
			writeErr(w, 500, api.CodeInternal, "boom", "")
		}, client.ErrServer, "boom"},
		{"proxy html", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(502)
			_, _ = io.WriteString(w, "<html>bad gateway</html>\n<body>...</body>")
		}, client.ErrInstanceFailed, "<html>bad gateway</html> (502 Bad Gateway)"},
		{"empty 500", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(500)
		}, client.ErrServer, "Internal Server Error"},
		{"not json", func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, "surprise")
		}, client.ErrProtocol, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mux := http.NewServeMux()
			mux.HandleFunc("/v1/functions", tt.handler)
			c := newServer(t, mux)
			_, err := c.ListFunctions(context.Background())
			if !errors.Is(err, tt.want) {
				t.Fatalf("error = %v, want %v", err, tt.want)
			}
			if tt.msg != "" && err.Error() != tt.msg {
				t.Errorf("message = %q, want %q", err.Error(), tt.msg)
			}
		})
	}
}

func TestErrorIs(t *testing.T) {
	tests := []struct {
		err  *client.Error
		want error
		not  error
	}{
		{&client.Error{Status: 404, Detail: api.ErrorDetail{Code: api.CodeNotFound}}, client.ErrNotFound, client.ErrServer},
		{&client.Error{Status: 404}, client.ErrNotFound, client.ErrInvalid},
		{&client.Error{Status: 413}, client.ErrTooLarge, client.ErrNotFound},
		{&client.Error{Status: 504, Detail: api.ErrorDetail{Code: api.CodeTimeout}}, client.ErrTimeout, client.ErrServer},
		{&client.Error{Status: 500, Detail: api.ErrorDetail{Code: api.CodeHandlerError}}, client.ErrHandler, client.ErrServer},
		{&client.Error{Detail: api.ErrorDetail{Code: api.CodeBuildFailed}}, client.ErrBuildFailed, client.ErrServer},
		{&client.Error{Status: 503, Detail: api.ErrorDetail{Code: api.CodeQueueFull}}, client.ErrQueueFull, client.ErrNoCapacity},
		{&client.Error{Status: 503, Detail: api.ErrorDetail{Code: api.CodeQueueFull}}, client.ErrUnavailable, client.ErrServer},
		{&client.Error{Status: 503, Detail: api.ErrorDetail{Code: api.CodeNoCapacity}}, client.ErrNoCapacity, client.ErrQueueFull},
		{&client.Error{Status: 503, Detail: api.ErrorDetail{Code: api.CodeNoCapacity}}, client.ErrUnavailable, client.ErrServer},
		{&client.Error{Status: 503, Detail: api.ErrorDetail{Code: api.CodeUnavailable}}, client.ErrUnavailable, client.ErrQueueFull},
		{&client.Error{Status: 503}, client.ErrUnavailable, client.ErrNoCapacity},
		{&client.Error{Status: 599}, client.ErrServer, client.ErrNotFound},
		{&client.Error{Status: 418}, nil, client.ErrServer},
	}
	for _, tt := range tests {
		if tt.want != nil && !errors.Is(tt.err, tt.want) {
			t.Errorf("%+v: Is(%v) = false", tt.err, tt.want)
		}
		if errors.Is(tt.err, tt.not) {
			t.Errorf("%+v: Is(%v) = true", tt.err, tt.not)
		}
	}
}

func TestUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close()
	c, err := client.New(base)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ListFunctions(context.Background())
	if !errors.Is(err, client.ErrUnreachable) {
		t.Fatalf("error = %v, want ErrUnreachable", err)
	}
	want := "cannot reach the hearth server at " + base + ": is it running? (set HEARTH_API)"
	if err.Error() != want {
		t.Errorf("message = %q, want %q", err.Error(), want)
	}
	if _, err := c.Invoke(context.Background(), "f", client.InvokeRequest{}); !errors.Is(err, client.ErrUnreachable) {
		t.Errorf("Invoke error = %v, want ErrUnreachable", err)
	}
}

func TestTimeout(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/info", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	c := newServer(t, mux, client.WithTimeout(50*time.Millisecond))
	_, err := c.Info(context.Background())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error = %v, want DeadlineExceeded", err)
	}
	if !strings.Contains(err.Error(), "did not answer within 50ms") {
		t.Errorf("message = %q, want it to name the limit", err.Error())
	}

	// A caller's own cancellation is reported as such, not as the client's timeout.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Info(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want Canceled", err)
	}
}

func TestDeploy(t *testing.T) {
	stream := func(lines ...string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if ct := r.Header.Get("Content-Type"); ct != "application/gzip" {
				writeErr(w, 415, "invalid", "content type "+ct, "")
				return
			}
			if b, _ := io.ReadAll(r.Body); string(b) != "ARCHIVE" {
				writeErr(w, 400, "invalid", "body "+string(b), "")
				return
			}
			w.Header().Set("Content-Type", "application/x-ndjson")
			for _, l := range lines {
				_, _ = io.WriteString(w, l+"\n")
				w.(http.Flusher).Flush()
			}
		}
	}
	tests := []struct {
		name    string
		handler http.HandlerFunc
		logs    []string
		version int
		cached  bool
		want    error
		msg     string
	}{
		{
			name: "built",
			handler: stream(
				`{"type":"log","line":"Step 1/3 : FROM golang"}`,
				`{"type":"progress","percent":50}`,
				`{"type":"log","line":"Successfully built"}`,
				`{"type":"result","function":{"name":"hello","version":{"number":2}},"cached":false}`,
			),
			logs:    []string{"Step 1/3 : FROM golang", "Successfully built"},
			version: 2,
		},
		{
			name:    "cached",
			handler: stream(`{"type":"result","function":{"name":"hello","version":{"number":4}},"cached":true}`),
			version: 4,
			cached:  true,
		},
		{
			name: "build failed",
			handler: stream(
				`{"type":"log","line":"go build"}`,
				`{"type":"error","error":{"code":"build_failed","message":"./main.go:3: undefined: x"}}`,
			),
			logs: []string{"go build"},
			want: client.ErrBuildFailed,
			msg:  "./main.go:3: undefined: x",
		},
		{
			name: "invalid func.yaml",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				writeErr(w, 400, api.CodeInvalid, "must be at least 16", "memory")
			},
			want: client.ErrInvalid,
			msg:  "memory: must be at least 16",
		},
		{
			name: "too large",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				writeErr(w, 413, api.CodeTooLarge, "source archive is over 50 MiB", "")
			},
			want: client.ErrTooLarge,
		},
		{
			name:    "truncated",
			handler: stream(`{"type":"log","line":"go build"}`),
			logs:    []string{"go build"},
			want:    client.ErrProtocol,
		},
		{
			name:    "garbage",
			handler: stream(`{"type":"log","line":"go build"`),
			want:    client.ErrProtocol,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mux := http.NewServeMux()
			mux.HandleFunc("POST /v1/functions/hello/versions", tt.handler)
			c := newServer(t, mux)
			var logs []string
			fn, cached, err := c.Deploy(context.Background(), "hello", strings.NewReader("ARCHIVE"), func(l string) { logs = append(logs, l) })
			if strings.Join(logs, "|") != strings.Join(tt.logs, "|") {
				t.Errorf("logs = %q, want %q", logs, tt.logs)
			}
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Fatalf("error = %v, want %v", err, tt.want)
				}
				if tt.msg != "" && err.Error() != tt.msg {
					t.Errorf("message = %q, want %q", err.Error(), tt.msg)
				}
				return
			}
			if err != nil {
				t.Fatalf("Deploy: %v", err)
			}
			if fn.Name != "hello" || fn.Version.Number != tt.version || cached != tt.cached {
				t.Errorf("Deploy = %+v, cached %v", fn, cached)
			}
		})
	}
}

func TestInvoke(t *testing.T) {
	mux := http.NewServeMux()
	echo := func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("name") == "missing" {
			writeErr(w, 404, api.CodeNotFound, `function "missing" not found`, "")
			return
		}
		if r.PathValue("name") == "teapot" {
			w.WriteHeader(418)
			_, _ = io.WriteString(w, "short and stout")
			return
		}
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Echo-Method", r.Method)
		w.Header().Set("X-Echo-Path", r.URL.EscapedPath())
		w.Header().Set("X-Echo-Query", r.URL.RawQuery)
		w.Header().Set("X-Echo-Header", r.Header.Get("X-Thing"))
		w.WriteHeader(201)
		_, _ = w.Write(body)
	}
	mux.HandleFunc("/invoke/{name}", echo)
	mux.HandleFunc("/invoke/{name}/{rest...}", echo)
	c := newServer(t, mux)
	ctx := context.Background()

	resp, err := c.Invoke(ctx, "echo", client.InvokeRequest{
		Path:   "/a b/c",
		Query:  url.Values{"q": {"1"}},
		Header: http.Header{"X-Thing": {"yes"}},
		Body:   strings.NewReader("hi"),
	})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != 201 || string(body) != "hi" {
		t.Errorf("response = %d %q", resp.StatusCode, body)
	}
	for h, want := range map[string]string{
		"X-Echo-Method": "POST", "X-Echo-Path": "/invoke/echo/a%20b/c", "X-Echo-Query": "q=1", "X-Echo-Header": "yes",
	} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}

	resp, err = c.Invoke(ctx, "echo", client.InvokeRequest{Method: "PUT", Path: "x"})
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.Header.Get("X-Echo-Method") != "PUT" || resp.Header.Get("X-Echo-Path") != "/invoke/echo/x" {
		t.Errorf("method/path = %s %s", resp.Header.Get("X-Echo-Method"), resp.Header.Get("X-Echo-Path"))
	}

	// Non-2xx answers are responses, and DecodeError tells the platform's from the function's.
	resp, err = c.Invoke(ctx, "missing", client.InvokeRequest{Path: "/"})
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	e, platform := client.DecodeError(resp.StatusCode, body)
	if !platform || !errors.Is(e, client.ErrNotFound) || e.Error() != `function "missing" not found` {
		t.Errorf("DecodeError = %v, %v", e, platform)
	}
	resp, err = c.Invoke(ctx, "teapot", client.InvokeRequest{Path: "/"})
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if e, platform := client.DecodeError(resp.StatusCode, body); platform || e.Status != 418 {
		t.Errorf("DecodeError(teapot) = %v, %v", e, platform)
	}
}
