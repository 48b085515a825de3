package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/store"
)

// Storage opens stores over one piece of storage (a file, a database): every store it returns
// sees the data the previous ones wrote, as a restarted process would. The suite closes a store
// before it opens the next one; the maker of a Storage cleans up through t.Cleanup, including
// stores the suite left open.
type Storage func() store.Store

// RunCalls checks the CallStore contract. newStorage is called once per subtest and must give
// fresh, empty storage.
func RunCalls(t *testing.T, newStorage func(t *testing.T) Storage) {
	open := func(t *testing.T) store.Store { return newStorage(t)() }
	t.Run("RecordAndGet", func(t *testing.T) { testRecordAndGet(t, open(t)) })
	t.Run("RecordSkipsStoredIDs", func(t *testing.T) { testRecordSkipsStoredIDs(t, open(t)) })
	t.Run("RecordRejectsUnfinished", func(t *testing.T) { testRecordRejectsUnfinished(t, open(t)) })
	t.Run("ListNewestFirstInPages", func(t *testing.T) { testListPages(t, open(t)) })
	t.Run("ListFilters", func(t *testing.T) { testListFilters(t, open(t)) })
	t.Run("ListLimits", func(t *testing.T) { testListLimits(t, open(t)) })
	t.Run("EnqueueUntilFull", func(t *testing.T) { testEnqueueUntilFull(t, open(t)) })
	t.Run("EnqueueConcurrentlyKeepsBound", func(t *testing.T) { testEnqueueConcurrent(t, open(t)) })
	t.Run("ClaimRespectsDueAndLimit", func(t *testing.T) { testClaim(t, open(t)) })
	t.Run("RetryWaitsForDue", func(t *testing.T) { testRetry(t, open(t)) })
	t.Run("FinishStoresResult", func(t *testing.T) { testFinish(t, open(t)) })
	t.Run("RequeueRunningAfterRestart", func(t *testing.T) { testRequeue(t, newStorage(t)) })
	t.Run("PruneOnlyOldFinished", func(t *testing.T) { testPrune(t, open(t)) })
	t.Run("CallsSinceOldestFirst", func(t *testing.T) { testCallsSince(t, open(t)) })
	t.Run("CallsSinceStopsOnError", func(t *testing.T) { testCallsSinceStops(t, open(t)) })
}

// base is the suite's clock: stores take times from their callers, so none depends on now.
// The odd nanoseconds check that times are kept to the nanosecond.
var base = time.Date(2031, 5, 6, 7, 8, 9, 123456789, time.UTC)

func at(sec int) time.Time { return base.Add(time.Duration(sec) * time.Second) }

func testRecordAndGet(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := syncCall("a", "fa", at(0), api.CallSucceeded)
	b := syncCall("b", "fb", at(1), api.CallCanceled)
	b.StartedAt, b.Instance, b.Cold, b.Error = time.Time{}, "", "", "client went away"
	b.Result = &api.CallResult{Status: 200, Body: []byte("kept")}
	if err := s.RecordCalls(ctx, []api.Call{a, b}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []api.Call{a, b} {
		got, err := s.GetCall(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		sameCall(t, got, want)
	}
	if _, err := s.GetCall(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetCall of an unknown id: want ErrNotFound, got %v", err)
	}
	if err := s.RecordCalls(ctx, nil); err != nil {
		t.Errorf("RecordCalls of no calls: %v", err)
	}
}

func testRecordSkipsStoredIDs(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := syncCall("a", "f", at(0), api.CallSucceeded)
	if err := s.RecordCalls(ctx, []api.Call{a}); err != nil {
		t.Fatal(err)
	}
	again := syncCall("a", "other", at(5), api.CallFailed)
	if err := s.RecordCalls(ctx, []api.Call{again, syncCall("b", "f", at(1), api.CallFailed)}); err != nil {
		t.Fatalf("a batch with a stored id: %v", err)
	}
	got := mustGet(t, s, "a")
	sameCall(t, got, a)
	mustGet(t, s, "b")
}

func testRecordRejectsUnfinished(t *testing.T, s store.Store) {
	ctx := t.Context()
	bad := syncCall("bad", "f", at(1), api.CallRunning)
	if err := s.RecordCalls(ctx, []api.Call{syncCall("ok", "f", at(0), api.CallSucceeded), bad}); err == nil {
		t.Fatal("RecordCalls with a running call: want an error")
	}
	if _, err := s.GetCall(ctx, "ok"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a rejected batch writes nothing: GetCall(ok) = %v", err)
	}
}

// testListPages records calls with ties in created_at and ids out of creation order, and
// walks them in pages of every size.
func testListPages(t *testing.T, s store.Store) {
	var calls []api.Call
	for i := range 25 {
		c := syncCall(fmt.Sprintf("c%02d", (i*7)%25), "f", at(i/3), api.CallSucceeded)
		if i == 4 {
			c.Result = &api.CallResult{Status: 200, Body: []byte("not listed")}
		}
		calls = append(calls, c)
	}
	record(t, s, calls...)
	want := newestFirst(calls)
	all := list(t, s, store.CallFilter{})
	if !slices.Equal(ids(all), want) {
		t.Fatalf("newest first, ties by id descending:\n got %v\nwant %v", ids(all), want)
	}
	for _, c := range all {
		if c.Result != nil {
			t.Errorf("ListCalls returned the result of %s", c.ID)
		}
	}
	for size := 1; size <= 26; size++ {
		if got := walk(t, s, store.CallFilter{Limit: size}); !slices.Equal(got, want) {
			t.Fatalf("pages of %d:\n got %v\nwant %v", size, got, want)
		}
	}
	if _, err := s.ListCalls(t.Context(), store.CallFilter{Before: "nope"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Before an unknown id: want ErrNotFound, got %v", err)
	}
}

func testListFilters(t *testing.T, s store.Store) {
	var calls []api.Call
	statuses := []api.CallStatus{api.CallSucceeded, api.CallFailed, api.CallTimedOut}
	for i := range 18 {
		calls = append(calls, syncCall(fmt.Sprintf("c%02d", i), fmt.Sprintf("f%d", i%2), at(i/2), statuses[i%3]))
	}
	record(t, s, calls...)
	enqueue(t, s, asyncCall("q1", "f0", at(20)), 10)
	keep := func(ok func(api.Call) bool) []string {
		var out []api.Call
		for _, c := range calls {
			if ok(c) {
				out = append(out, c)
			}
		}
		return newestFirst(out)
	}
	for _, tc := range []struct {
		f    store.CallFilter
		want []string
	}{
		{store.CallFilter{Function: "f1"}, keep(func(c api.Call) bool { return c.Function == "f1" })},
		{store.CallFilter{Status: api.CallFailed}, keep(func(c api.Call) bool { return c.Status == api.CallFailed })},
		{store.CallFilter{Function: "f0", Status: api.CallTimedOut},
			keep(func(c api.Call) bool { return c.Function == "f0" && c.Status == api.CallTimedOut })},
		{store.CallFilter{Status: api.CallQueued}, []string{"q1"}},
		{store.CallFilter{Function: "nope"}, nil},
	} {
		for _, size := range []int{0, 1, 2, 5} {
			f := tc.f
			f.Limit = size
			if got := walk(t, s, f); !slices.Equal(got, tc.want) {
				t.Errorf("%+v:\n got %v\nwant %v", f, got, tc.want)
			}
		}
	}
}

func testListLimits(t *testing.T, s store.Store) {
	var calls []api.Call
	for i := range 1001 {
		calls = append(calls, syncCall(fmt.Sprintf("c%04d", i), "f", at(i), api.CallSucceeded))
	}
	record(t, s, calls...)
	for _, tc := range []struct{ limit, want int }{{0, 50}, {-1, 50}, {7, 7}, {1000, 1000}, {5000, 1000}} {
		got := list(t, s, store.CallFilter{Limit: tc.limit})
		if len(got) != tc.want || got[0].ID != "c1000" {
			t.Errorf("Limit %d: got %d calls %v..., want %d from c1000", tc.limit, len(got), ids(got)[:min(len(got), 2)], tc.want)
		}
	}
}
