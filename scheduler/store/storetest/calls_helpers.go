package storetest

import (
	"cmp"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/store"
)

// syncCall is a finished sync call with every field set, as the recorder would store it.
func syncCall(id, function string, created time.Time, status api.CallStatus) api.Call {
	return api.Call{ID: id, Function: function, Version: 2, Status: status, HTTPStatus: 200,
		CreatedAt: created, StartedAt: created.Add(10*time.Millisecond + 7), FinishedAt: created.Add(time.Second),
		DurationMS: 990.25, Instance: "inst-" + function, Cold: "resumed", Error: "handler said " + id}
}

// asyncCall is an async call as EnqueueAsync stores it.
func asyncCall(id, function string, created time.Time) api.Call {
	return api.Call{ID: id, Function: function, Version: 3, Async: true, Status: api.CallQueued,
		CreatedAt: created, CallbackURL: "http://cb/" + id}
}

// request is the request enqueued with the call id.
func request(id string) store.AsyncRequest {
	return store.AsyncRequest{Method: "POST", Path: "/hooks/" + id, Query: "a=1&b=%20",
		Header: map[string][]string{"Content-Type": {"application/json"}, "X-Id": {id, "again"}},
		Body:   append([]byte{0, 0xff, 0xfe, '\n'}, id...)}
}

// finished is how the runner ends a call it claimed: succeeded with an answer.
func finished(id string, end time.Time) api.Call {
	return api.Call{ID: id, Status: api.CallSucceeded, HTTPStatus: 201,
		StartedAt: end.Add(-500 * time.Millisecond), FinishedAt: end, DurationMS: 500.5,
		Instance: "inst-7", Cold: "new",
		Result: &api.CallResult{Status: 201, Body: []byte("ok " + id),
			Headers: map[string][]string{"Content-Type": {"text/plain"}, "X-Multi": {"1", "2"}}}}
}

func record(t *testing.T, s store.Store, calls ...api.Call) {
	t.Helper()
	if err := s.RecordCalls(t.Context(), calls); err != nil {
		t.Fatal(err)
	}
}

func enqueue(t *testing.T, s store.Store, c api.Call, maxQueued int) {
	t.Helper()
	if err := s.EnqueueAsync(t.Context(), c, request(c.ID), maxQueued); err != nil {
		t.Fatal(err)
	}
}

func claim(t *testing.T, s store.Store, now time.Time, limit int) []store.AsyncCall {
	t.Helper()
	got, err := s.ClaimAsync(t.Context(), now, limit)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func finish(t *testing.T, s store.Store, id string, end time.Time) {
	t.Helper()
	if err := s.FinishAsync(t.Context(), finished(id, end)); err != nil {
		t.Fatal(err)
	}
}

func mustGet(t *testing.T, s store.Store, id string) api.Call {
	t.Helper()
	c, err := s.GetCall(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func list(t *testing.T, s store.Store, f store.CallFilter) []api.Call {
	t.Helper()
	got, err := s.ListCalls(t.Context(), f)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// walk lists every page of f, following Before, and returns the ids in order.
func walk(t *testing.T, s store.Store, f store.CallFilter) []string {
	t.Helper()
	var out []string
	for range 2000 {
		page := list(t, s, f)
		if len(page) == 0 {
			return out
		}
		out = append(out, ids(page)...)
		f.Before = page[len(page)-1].ID
	}
	t.Fatalf("paging %+v does not end", f)
	return nil
}

// newestFirst is the ids of calls in ListCalls order.
func newestFirst(calls []api.Call) []string {
	calls = slices.Clone(calls)
	slices.SortFunc(calls, func(a, b api.Call) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(b.ID, a.ID))
	})
	return ids(calls)
}

func ids(calls []api.Call) []string {
	var out []string
	for _, c := range calls {
		out = append(out, c.ID)
	}
	return out
}

func asyncIDs(calls []store.AsyncCall) []string {
	var out []string
	for _, a := range calls {
		out = append(out, a.Call.ID)
	}
	return out
}

// sameCall fails t unless got and want are equal to the nanosecond, whatever their time zones.
func sameCall(t *testing.T, got, want api.Call) {
	t.Helper()
	got, want = normal(got), normal(want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("call %s:\n got %s\nwant %s", want.ID, show(got), show(want))
	}
}

func sameRequest(t *testing.T, got, want store.AsyncRequest) {
	t.Helper()
	for _, r := range []*store.AsyncRequest{&got, &want} {
		if len(r.Body) == 0 {
			r.Body = nil
		}
		if len(r.Header) == 0 {
			r.Header = nil
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("request:\n got %+v\nwant %+v", got, want)
	}
}

func normal(c api.Call) api.Call {
	for _, tm := range []*time.Time{&c.CreatedAt, &c.StartedAt, &c.FinishedAt} {
		if tm.IsZero() {
			*tm = time.Time{}
		} else {
			*tm = tm.UTC()
		}
	}
	if r := c.Result; r != nil {
		n := *r
		if len(n.Body) == 0 {
			n.Body = nil
		}
		if len(n.Headers) == 0 {
			n.Headers = nil
		}
		c.Result = &n
	}
	return c
}

func show(c api.Call) string {
	s := fmt.Sprintf("%+v", c)
	if c.Result != nil {
		s += fmt.Sprintf(" result %+v", *c.Result)
	}
	return s
}
