package storetest

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/store"
)

// testCallsSince records more calls than one page of most stores, many created at the same
// time and with ids out of creation order, and some before the cut; CallsSince must give those
// at or after it once each, oldest first, in whatever state, without results.
func testCallsSince(t *testing.T, s store.Store) {
	var calls []api.Call
	for i := range 2345 {
		c := syncCall(fmt.Sprintf("c%04d", (i*7919)%2345), fmt.Sprintf("f%d", i%3), at(i/9), api.CallSucceeded)
		if i%5 == 0 {
			c.Status = api.CallFailed
		}
		calls = append(calls, c)
	}
	record(t, s, calls...)
	enqueue(t, s, asyncCall("q1", "f0", at(100)), 10)
	enqueue(t, s, asyncCall("q2", "f1", at(101)), 10)
	claim(t, s, at(200), 1) // q1 runs
	enqueue(t, s, asyncCall("q3", "f2", at(102)), 10)
	claim(t, s, at(200), 1) // q2 runs
	finish(t, s, "q2", at(300))

	since := at(50)
	var want []api.Call
	for _, c := range calls {
		if !c.CreatedAt.Before(since) {
			want = append(want, c)
		}
	}
	q1, q2, q3 := mustGet(t, s, "q1"), mustGet(t, s, "q2"), mustGet(t, s, "q3")
	q2.Result = nil
	want = append(want, q1, q2, q3)
	slices.SortFunc(want, func(a, b api.Call) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})

	var got []api.Call
	if err := s.CallsSince(t.Context(), since, func(c api.Call) error {
		got = append(got, c)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(got), ids(want)) {
		t.Fatalf("CallsSince(%s): got %d calls, want %d, oldest first by (created_at, id), once each", since, len(got), len(want))
	}
	for i := range got {
		if got[i].Result != nil {
			t.Errorf("call %s given with its result", got[i].ID)
		}
		sameCall(t, got[i], want[i])
	}
	statuses := map[string]api.CallStatus{}
	for _, c := range got {
		statuses[c.ID] = c.Status
	}
	if statuses["q1"] != api.CallRunning || statuses["q2"] != api.CallSucceeded || statuses["q3"] != api.CallQueued {
		t.Errorf("async calls in every state: got q1 %s, q2 %s, q3 %s", statuses["q1"], statuses["q2"], statuses["q3"])
	}

	n := 0
	if err := s.CallsSince(t.Context(), at(10_000), func(api.Call) error { n++; return nil }); err != nil || n != 0 {
		t.Errorf("CallsSince after the newest call: %d calls, %v; want none and no error", n, err)
	}
}

func testCallsSinceStops(t *testing.T, s store.Store) {
	var calls []api.Call
	for i := range 30 {
		calls = append(calls, syncCall(fmt.Sprintf("c%02d", i), "f", at(i), api.CallSucceeded))
	}
	record(t, s, calls...)
	stop := errors.New("enough")
	var seen []string
	err := s.CallsSince(t.Context(), time.Time{}, func(c api.Call) error {
		seen = append(seen, c.ID)
		if len(seen) == 7 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Errorf("CallsSince returned %v, want fn's error", err)
	}
	if want := ids(calls[:7]); !slices.Equal(seen, want) {
		t.Errorf("calls seen: %v, want %v and no more", seen, want)
	}
}
