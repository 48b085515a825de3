package storetest

import (
	"reflect"
	"testing"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/store"
)

// RunTriggers checks the TriggerStore contract, and that a call's trigger mark is kept, against
// storage from newStorage (fresh per subtest).
func RunTriggers(t *testing.T, newStorage func(t *testing.T) Storage) {
	t.Run("PutListReplaceDelete", func(t *testing.T) {
		s, ctx := newStorage(t)(), t.Context()
		a := store.TriggerState{Function: "hello", Name: "nightly", Schedule: "0 2 * * *|Europe/Berlin", RegisteredAt: at(1)}
		b := store.TriggerState{Function: "alpha", Name: "tick", Schedule: "@every 2s|", RegisteredAt: at(2),
			LastFired: at(4), LastCallID: "c1"}
		c := store.TriggerState{Function: "hello", Name: "every5", Schedule: "*/5 * * * *|", RegisteredAt: at(3)}
		for _, st := range []store.TriggerState{a, b, c} {
			if err := s.PutTriggerState(ctx, st); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.ListTriggerStates(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := []store.TriggerState{b, c, a}; !reflect.DeepEqual(got, want) {
			t.Fatalf("list by function then name:\n got %+v\nwant %+v", got, want)
		}
		a.LastFired, a.LastCallID = at(10), "c2"
		if err := s.PutTriggerState(ctx, a); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteTriggerState(ctx, "hello", "every5"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteTriggerState(ctx, "hello", "never-there"); err != nil {
			t.Fatalf("removing what is not there: %v", err)
		}
		got, err = s.ListTriggerStates(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := []store.TriggerState{b, a}; !reflect.DeepEqual(got, want) {
			t.Fatalf("after replace and delete:\n got %+v\nwant %+v", got, want)
		}
		if err := s.DeleteTriggerState(ctx, "hello", ""); err != nil {
			t.Fatal(err)
		}
		if got, err = s.ListTriggerStates(ctx); err != nil || !reflect.DeepEqual(got, []store.TriggerState{b}) {
			t.Fatalf("after deleting every trigger of hello: %+v, %v", got, err)
		}
	})
	t.Run("KeptAcrossRestart", func(t *testing.T) {
		storage := newStorage(t)
		s := storage()
		st := store.TriggerState{Function: "hello", Name: "tick", Schedule: "@hourly|", RegisteredAt: at(1), LastFired: at(7), LastCallID: "c9"}
		if err := s.PutTriggerState(t.Context(), st); err != nil {
			t.Fatal(err)
		}
		s.Close()
		got, err := storage().ListTriggerStates(t.Context())
		if err != nil || !reflect.DeepEqual(got, []store.TriggerState{st}) {
			t.Fatalf("after a restart: %+v, %v", got, err)
		}
	})
	t.Run("CallTriggerMark", func(t *testing.T) {
		s, ctx := newStorage(t)(), t.Context()
		q := api.Call{ID: "trig-async", Function: "hello", Async: true, Status: api.CallQueued, CreatedAt: at(1),
			Trigger: "cron/tick (catch-up of 3)"}
		if err := s.EnqueueAsync(ctx, q, store.AsyncRequest{Method: "POST", Path: "/"}, 10); err != nil {
			t.Fatal(err)
		}
		claimed, err := s.ClaimAsync(ctx, at(2), 10)
		if err != nil || len(claimed) != 1 || claimed[0].Call.Trigger != q.Trigger {
			t.Fatalf("claimed: %+v, %v", claimed, err)
		}
		c := claimed[0].Call
		c.Status, c.FinishedAt, c.HTTPStatus = api.CallSucceeded, at(3), 200
		if err := s.FinishAsync(ctx, c); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetCall(ctx, q.ID)
		if err != nil || got.Trigger != q.Trigger {
			t.Fatalf("get: %+v, %v", got, err)
		}
		l, err := s.ListCalls(ctx, store.CallFilter{Function: "hello"})
		if err != nil || len(l) != 1 || l[0].Trigger != q.Trigger {
			t.Fatalf("list: %+v, %v", l, err)
		}
	})
}
