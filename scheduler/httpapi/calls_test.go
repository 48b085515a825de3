package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/httpapi"
	"github.com/hearthfn/hearth/scheduler/store"
)

// fakeCalls keeps calls newest first and pages them as the store does; it records every
// filter it is asked for.
type fakeCalls struct {
	calls []api.Call // newest first
	err   error      // when set, every method fails with it

	mu      sync.Mutex
	filters []store.CallFilter
}

var _ httpapi.CallReader = (*fakeCalls)(nil)

func (f *fakeCalls) GetCall(_ context.Context, id string) (api.Call, error) {
	if f.err != nil {
		return api.Call{}, f.err
	}
	for _, c := range f.calls {
		if c.ID == id {
			return c, nil
		}
	}
	return api.Call{}, fmt.Errorf("call %s: %w", id, store.ErrNotFound)
}

func (f *fakeCalls) ListCalls(_ context.Context, flt store.CallFilter) ([]api.Call, error) {
	f.mu.Lock()
	f.filters = append(f.filters, flt)
	f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	var out []api.Call
	past := flt.Before == ""
	for _, c := range f.calls {
		if !past {
			past = c.ID == flt.Before
			continue
		}
		if (flt.Function == "" || c.Function == flt.Function) && (flt.Status == "" || c.Status == flt.Status) {
			c.Result = nil
			out = append(out, c)
		}
		if len(out) == flt.Limit {
			break
		}
	}
	return out, nil
}

func (f *fakeCalls) Filters() []store.CallFilter {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]store.CallFilter(nil), f.filters...)
}

// sampleCalls returns n calls, newest first, alternating between functions a and b; the
// first is async and has a result.
func sampleCalls(n int) []api.Call {
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	calls := make([]api.Call, n)
	for i := range calls {
		fn, status := "a", api.CallSucceeded
		if i%2 == 1 {
			fn, status = "b", api.CallFailed
		}
		calls[i] = api.Call{ID: fmt.Sprintf("c%03d", n-i), Function: fn, Version: 1, Status: status, HTTPStatus: 200,
			CreatedAt: at.Add(-time.Duration(i) * time.Second), DurationMS: 1.5, Instance: "i1"}
	}
	if n > 0 {
		calls[0].Async, calls[0].Attempts, calls[0].CallbackURL = true, 2, "http://hook.test/done"
		calls[0].Result = &api.CallResult{Status: 200, Headers: map[string][]string{"Content-Type": {"text/plain"}}, Body: []byte("hi")}
	}
	return calls
}

func serveCalls(t *testing.T, fc *fakeCalls) string {
	t.Helper()
	srv, _ := serve(t, &fakeRegistry{}, func(d *httpapi.Deps) { d.Calls = fc })
	return srv.URL
}

func ids(calls []api.Call) string {
	s := make([]string, len(calls))
	for i, c := range calls {
		s[i] = c.ID
	}
	return strings.Join(s, ",")
}

func TestListCalls(t *testing.T) {
	fc := &fakeCalls{calls: sampleCalls(5)} // c005 (a), c004 (b), c003 (a), c002 (b), c001 (a)
	base := serveCalls(t, fc)
	tests := []struct {
		query, ids, next string
		filter           store.CallFilter
	}{
		{"", "c005,c004,c003,c002,c001", "", store.CallFilter{Limit: 50}},
		{"?limit=2", "c005,c004", "c004", store.CallFilter{Limit: 2}},
		{"?limit=2&before=c004", "c003,c002", "c002", store.CallFilter{Before: "c004", Limit: 2}},
		{"?limit=2&before=c002", "c001", "", store.CallFilter{Before: "c002", Limit: 2}},
		{"?function=a&status=succeeded", "c005,c003,c001", "", store.CallFilter{Function: "a", Status: api.CallSucceeded, Limit: 50}},
		{"?function=nope", "", "", store.CallFilter{Function: "nope", Limit: 50}},
		{"?limit=1000", "c005,c004,c003,c002,c001", "", store.CallFilter{Limit: 1000}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			var got api.CallList
			decodeJSON(t, do(t, http.MethodGet, base+"/v1/calls"+tt.query, nil), http.StatusOK, &got)
			if ids(got.Items) != tt.ids || got.Next != tt.next {
				t.Errorf("items %s next %q, want %s next %q", ids(got.Items), got.Next, tt.ids, tt.next)
			}
			if got.Items == nil {
				t.Error("items is null, want []")
			}
			for _, c := range got.Items {
				if c.Result != nil {
					t.Errorf("call %s listed with its result", c.ID)
				}
			}
			fs := fc.Filters()
			if f := fs[len(fs)-1]; f != tt.filter {
				t.Errorf("filter = %+v, want %+v", f, tt.filter)
			}
		})
	}
}

func TestListFunctionCalls(t *testing.T) {
	fc := &fakeCalls{calls: sampleCalls(5)}
	base := serveCalls(t, fc)

	var got api.CallList
	// The path names the function; a ?function= beside it does not widen the listing.
	decodeJSON(t, do(t, http.MethodGet, base+"/v1/functions/b/calls?status=failed&limit=1&function=a", nil), http.StatusOK, &got)
	if ids(got.Items) != "c004" || got.Next != "c004" {
		t.Errorf("items %s next %q, want c004 next c004", ids(got.Items), got.Next)
	}
	want := store.CallFilter{Function: "b", Status: api.CallFailed, Limit: 1}
	if fs := fc.Filters(); !reflect.DeepEqual(fs, []store.CallFilter{want}) {
		t.Errorf("filters = %+v, want %+v", fs, want)
	}
}

func TestListCallsRejectsBadQueries(t *testing.T) {
	tests := []struct{ query, field, msgPart string }{
		{"?limit=0", "limit", "from 1 to 1000"},
		{"?limit=1001", "limit", "from 1 to 1000"},
		{"?limit=ten", "limit", `"ten"`},
		{"?limit=-3", "limit", "whole number"},
		{"?status=done", "status", `unknown status "done"`},
		{"?status=SUCCEEDED", "status", "unknown status"},
	}
	for _, tt := range tests {
		for _, path := range []string{"/v1/calls", "/v1/functions/a/calls"} {
			t.Run(path+tt.query, func(t *testing.T) {
				fc := &fakeCalls{calls: sampleCalls(2)}
				base := serveCalls(t, fc)
				e := errorBody(t, do(t, http.MethodGet, base+path+tt.query, nil), http.StatusBadRequest)
				if e.Code != api.CodeInvalid || e.Field != tt.field || !strings.Contains(e.Message, tt.msgPart) {
					t.Errorf("error %+v, want invalid, field %q, message containing %q", e, tt.field, tt.msgPart)
				}
				if fs := fc.Filters(); len(fs) != 0 {
					t.Errorf("store asked for %+v", fs)
				}
			})
		}
	}
}

func TestGetCall(t *testing.T) {
	calls := sampleCalls(3)
	base := serveCalls(t, &fakeCalls{calls: calls})

	var got api.Call
	decodeJSON(t, do(t, http.MethodGet, base+"/v1/calls/c003", nil), http.StatusOK, &got)
	if !reflect.DeepEqual(got, calls[0]) {
		t.Errorf("call =\n%+v\nwant\n%+v", got, calls[0])
	}
	if got.Result == nil || string(got.Result.Body) != "hi" {
		t.Errorf("result = %+v, want the async call's answer", got.Result)
	}

	e := errorBody(t, do(t, http.MethodGet, base+"/v1/calls/nope", nil), http.StatusNotFound)
	if e.Code != api.CodeNotFound || e.Message != `call "nope" not found` {
		t.Errorf("unknown call: error %+v, want not_found naming it", e)
	}
}

func TestCallsStoreError(t *testing.T) {
	base := serveCalls(t, &fakeCalls{err: errors.New("database is locked")})
	for _, path := range []string{"/v1/calls", "/v1/calls/c1", "/v1/functions/a/calls"} {
		if e := errorBody(t, do(t, http.MethodGet, base+path, nil), http.StatusInternalServerError); e.Code != api.CodeInternal {
			t.Errorf("GET %s: code = %q, want internal", path, e.Code)
		}
	}
}

func TestCallsMethodNotAllowed(t *testing.T) {
	base := serveCalls(t, &fakeCalls{})
	for _, tt := range []struct{ method, path string }{
		{http.MethodPost, "/v1/calls"},
		{http.MethodDelete, "/v1/calls/c1"},
		{http.MethodPost, "/v1/functions/a/calls"},
	} {
		if e := errorBody(t, do(t, tt.method, base+tt.path, nil), http.StatusMethodNotAllowed); e.Code != api.CodeInvalid {
			t.Errorf("%s %s: code = %q, want invalid", tt.method, tt.path, e.Code)
		}
	}
}
