package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/httpapi"
)

// fakeLogs keeps lines in a slice; a cursor is an index into it.
type fakeLogs struct {
	mu      sync.Mutex
	lines   []api.LogLine
	changed chan struct{}
	closed  bool
}

var _ httpapi.Logs = (*fakeLogs)(nil)

func newFakeLogs(n int) *fakeLogs {
	f := &fakeLogs{changed: make(chan struct{})}
	for i := 1; i <= n; i++ {
		call := "c-odd"
		if i%2 == 0 {
			call = "c-even"
		}
		f.lines = append(f.lines, logLine(i, call))
	}
	return f
}

var logT0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func logLine(i int, call string) api.LogLine {
	return api.LogLine{Time: logT0.Add(time.Duration(i) * time.Second), Instance: "hello-v1-abcd", Stream: "stdout",
		CallID: call, Line: fmt.Sprintf("line %d", i)}
}

func (f *fakeLogs) add(l api.LogLine) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lines = append(f.lines, l)
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *fakeLogs) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	close(f.changed)
}

func (f *fakeLogs) Lines(function string, q api.LogQuery) ([]api.LogLine, uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []api.LogLine
	for _, l := range f.lines {
		if q.Match(l) {
			out = append(out, l)
		}
	}
	if q.Tail >= 0 && len(out) > q.Tail {
		out = out[len(out)-q.Tail:]
	}
	return out, uint64(len(f.lines))
}

func (f *fakeLogs) After(function string, q api.LogQuery, cursor uint64) ([]api.LogLine, uint64, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil, cursor, nil
	}
	var out []api.LogLine
	for _, l := range f.lines[cursor:] {
		if q.Match(l) {
			out = append(out, l)
		}
	}
	return out, uint64(len(f.lines)), f.changed
}

func serveLogs(t *testing.T, fl *fakeLogs) string {
	t.Helper()
	reg := &fakeRegistry{get: func(name string) (api.Function, error) {
		if name != "hello" {
			return api.Function{}, notFound(name)
		}
		return sampleFunction(name, 1), nil
	}}
	srv, _ := serve(t, reg, func(d *httpapi.Deps) { d.Logs = fl })
	return srv.URL + "/v1/functions/"
}

// readLines reads n ndjson lines from sc.
func readLines(t *testing.T, sc *bufio.Scanner, n int) []string {
	t.Helper()
	var out []string
	for len(out) < n && sc.Scan() {
		var l api.LogLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %q is not a log line: %v", sc.Text(), err)
		}
		out = append(out, l.Line)
	}
	return out
}

func TestLogs(t *testing.T) {
	base := serveLogs(t, newFakeLogs(150))
	tests := []struct {
		query string
		first string
		n     int
	}{
		{"", "line 51", api.DefaultLogTail},
		{"?tail=3", "line 148", 3},
		{"?tail=all", "line 1", 150},
		{"?tail=0", "", 0},
		{"?tail=2&call=c-even", "line 148", 2},
		{"?since=2025-06-01T12:02:25Z", "line 145", 6},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			resp := do(t, http.MethodGet, base+"hello/logs"+tt.query, nil)
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/x-ndjson" {
				t.Fatalf("status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			lines := readLines(t, bufio.NewScanner(resp.Body), 1000)
			if len(lines) != tt.n || (tt.n > 0 && lines[0] != tt.first) {
				t.Errorf("got %d lines from %q, want %d from %q", len(lines), lines, tt.n, tt.first)
			}
		})
	}
}

func TestLogsErrors(t *testing.T) {
	base := serveLogs(t, newFakeLogs(1))
	if e := errorBody(t, do(t, http.MethodGet, base+"nope/logs", nil), http.StatusNotFound); e.Code != api.CodeNotFound {
		t.Errorf("unknown function: %+v", e)
	}
	for _, q := range []string{"tail=many", "since=yesterday", "follow=maybe"} {
		e := errorBody(t, do(t, http.MethodGet, base+"hello/logs?"+q, nil), http.StatusBadRequest)
		if e.Code != api.CodeInvalid || e.Field == "" {
			t.Errorf("?%s: %+v, want invalid with the parameter named", q, e)
		}
	}
}

func TestLogsFollow(t *testing.T) {
	fl := newFakeLogs(3)
	base := serveLogs(t, fl)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"hello/logs?follow=true&tail=1&call=c-odd", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	sc := bufio.NewScanner(resp.Body)
	if got := readLines(t, sc, 1); !slices.Equal(got, []string{"line 3"}) {
		t.Fatalf("first lines = %q, want the tail [line 3]", got)
	}
	fl.add(logLine(4, "c-even")) // filtered out
	fl.add(logLine(5, "c-odd"))
	if got := readLines(t, sc, 1); !slices.Equal(got, []string{"line 5"}) {
		t.Fatalf("followed lines = %q, want [line 5]", got)
	}
	// The client going away ends the handler: the server's Close in Cleanup would hang otherwise.
	cancel()

	// A collector that closes (server shutdown) ends the answer.
	resp2 := do(t, http.MethodGet, base+"hello/logs?follow=true&tail=0", nil)
	fl.close()
	if got := readLines(t, bufio.NewScanner(resp2.Body), 10); len(got) != 0 {
		t.Errorf("lines after close = %q", got)
	}
}
