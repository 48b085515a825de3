package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/store"
)

func testEnqueueUntilFull(t *testing.T, s store.Store) {
	ctx := t.Context()
	record(t, s, syncCall("s1", "f", at(0), api.CallSucceeded), syncCall("s2", "f", at(0), api.CallFailed))
	for _, id := range []string{"a", "b", "c"} {
		enqueue(t, s, asyncCall(id, "f", at(1)), 3)
	}
	err := s.EnqueueAsync(ctx, asyncCall("d", "f", at(2)), request("d"), 3)
	if !errors.Is(err, store.ErrQueueFull) {
		t.Fatalf("fourth call with a bound of 3: want ErrQueueFull, got %v", err)
	}
	if _, err := s.GetCall(ctx, "d"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a refused call is not stored: GetCall = %v", err)
	}
	a := mustGet(t, s, "a")
	if a.Status != api.CallQueued || !a.Async || a.Attempts != 0 || a.CallbackURL != "http://cb/a" || a.Version != 3 {
		t.Errorf("enqueued call: %+v", a)
	}
	claimed := claim(t, s, at(5), 1)
	if err := s.EnqueueAsync(ctx, asyncCall("d", "f", at(2)), request("d"), 3); !errors.Is(err, store.ErrQueueFull) {
		t.Fatalf("running calls count toward the bound: want ErrQueueFull, got %v", err)
	}
	finish(t, s, claimed[0].Call.ID, at(6))
	enqueue(t, s, asyncCall("d", "f", at(2)), 3)
	if err := s.EnqueueAsync(ctx, asyncCall("d", "f", at(2)), request("d"), 10); err == nil || errors.Is(err, store.ErrQueueFull) {
		t.Errorf("enqueue of a stored id: want an error other than ErrQueueFull, got %v", err)
	}
}

func testEnqueueConcurrent(t *testing.T, s store.Store) {
	const bound, callers = 5, 16
	var (
		wg         sync.WaitGroup
		mu         sync.Mutex
		ok, full   int
		unexpected []error
	)
	for i := range callers {
		wg.Go(func() {
			err := s.EnqueueAsync(t.Context(), asyncCall(fmt.Sprintf("c%02d", i), "f", at(i)), request("x"), bound)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, store.ErrQueueFull):
				full++
			default:
				unexpected = append(unexpected, err)
			}
		})
	}
	wg.Wait()
	if ok != bound || full != callers-bound || len(unexpected) > 0 {
		t.Fatalf("%d concurrent enqueues, bound %d: %d accepted, %d full, errors %v", callers, bound, ok, full, unexpected)
	}
}

func testClaim(t *testing.T, s store.Store) {
	for i := 4; i >= 0; i-- { // enqueued newest first: claims go by due, not by insertion
		enqueue(t, s, asyncCall(fmt.Sprintf("c%d", i), "f", at(i)), 10)
	}
	if got := claim(t, s, at(10), 0); len(got) != 0 {
		t.Errorf("limit 0 claimed %d calls", len(got))
	}
	got := claim(t, s, at(2), 2)
	if !slices.Equal(asyncIDs(got), []string{"c0", "c1"}) {
		t.Fatalf("claim(at 2, limit 2): got %v, want [c0 c1]", asyncIDs(got))
	}
	for i, a := range got {
		c := a.Call
		if c.Status != api.CallRunning || c.Attempts != 1 || !c.StartedAt.Equal(at(2)) || !a.Due.Equal(at(i)) {
			t.Errorf("claimed %s: status %s, attempts %d, started %v, due %v", c.ID, c.Status, c.Attempts, c.StartedAt, a.Due)
		}
		sameRequest(t, a.Request, request(c.ID))
		stored := mustGet(t, s, c.ID)
		if stored.Status != api.CallRunning || stored.Attempts != 1 || !stored.StartedAt.Equal(at(2)) {
			t.Errorf("stored %s after claim: %+v", c.ID, stored)
		}
	}
	if got := claim(t, s, at(2), 10); !slices.Equal(asyncIDs(got), []string{"c2"}) {
		t.Fatalf("claim(at 2): due at now is due; got %v, want [c2]", asyncIDs(got))
	}
	if got := claim(t, s, at(2), 10); len(got) != 0 {
		t.Fatalf("claim(at 2) again: got %v, want none", asyncIDs(got))
	}
	if got := claim(t, s, at(100), 10); !slices.Equal(asyncIDs(got), []string{"c3", "c4"}) {
		t.Fatalf("claim(at 100): got %v, want [c3 c4]", asyncIDs(got))
	}
}

func testRetry(t *testing.T, s store.Store) {
	ctx := t.Context()
	enqueue(t, s, asyncCall("r", "f", at(0)), 10)
	if err := s.RetryAsync(ctx, "r", at(60), "x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("retry of a queued call: want ErrNotFound, got %v", err)
	}
	claim(t, s, at(1), 1)
	if err := s.RetryAsync(ctx, "r", at(60), "engine away"); err != nil {
		t.Fatal(err)
	}
	if c := mustGet(t, s, "r"); c.Status != api.CallQueued || c.Error != "engine away" || c.Attempts != 1 {
		t.Errorf("after retry: %+v", c)
	}
	if got := claim(t, s, at(59), 10); len(got) != 0 {
		t.Fatalf("claim before the retry is due: got %v", asyncIDs(got))
	}
	got := claim(t, s, at(60), 10)
	if len(got) != 1 || got[0].Call.Attempts != 2 || !got[0].Due.Equal(at(60)) || !got[0].Call.StartedAt.Equal(at(60)) {
		t.Fatalf("claim when due: %+v", got)
	}
	sameRequest(t, got[0].Request, request("r"))

	// A retry goes behind calls due before it, even ones created after it.
	if err := s.RetryAsync(ctx, "r", at(90), "again"); err != nil {
		t.Fatal(err)
	}
	enqueue(t, s, asyncCall("later", "f", at(80)), 10)
	if got := claim(t, s, at(100), 1); !slices.Equal(asyncIDs(got), []string{"later"}) {
		t.Fatalf("claim by due: got %v, want [later] (due at 80, r at 90)", asyncIDs(got))
	}
	if err := s.RetryAsync(ctx, "nope", at(0), "x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("retry of an unknown call: want ErrNotFound, got %v", err)
	}
	record(t, s, syncCall("s", "f", at(0), api.CallError))
	if err := s.RetryAsync(ctx, "s", at(0), "x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("retry of a sync call: want ErrNotFound, got %v", err)
	}
}

func testFinish(t *testing.T, s store.Store) {
	ctx := t.Context()
	enqueue(t, s, asyncCall("a", "f", at(0)), 10)
	enqueue(t, s, asyncCall("b", "f", at(1)), 10)
	enqueue(t, s, asyncCall("e", "f", at(2)), 10)
	if err := s.FinishAsync(ctx, finished("a", at(3))); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("finish of a queued call: want ErrNotFound, got %v", err)
	}
	claim(t, s, at(2), 10)

	body := make([]byte, 0, 600)
	for i := range 600 {
		body = append(body, byte(i*31)) // every byte value, NULs and invalid UTF-8 included
	}
	done := finished("a", at(4))
	done.Result.Body = body
	done.Version = 7 // the version that ran it, known only once it ran
	if err := s.FinishAsync(ctx, done); err != nil {
		t.Fatal(err)
	}
	want := asyncCall("a", "f", at(0))
	want.Status, want.HTTPStatus, want.StartedAt, want.FinishedAt = done.Status, done.HTTPStatus, done.StartedAt, done.FinishedAt
	want.DurationMS, want.Instance, want.Cold, want.Attempts, want.Result = done.DurationMS, done.Instance, done.Cold, 1, done.Result
	want.Version = 7
	sameCall(t, mustGet(t, s, "a"), want)

	empty := finished("b", at(4))
	empty.StartedAt = at(0) // a given start replaces the claim's
	empty.Result = &api.CallResult{Status: 204}
	if err := s.FinishAsync(ctx, empty); err != nil {
		t.Fatal(err)
	}
	if c := mustGet(t, s, "b"); c.Result == nil || c.Result.Status != 204 || len(c.Result.Body) != 0 || !c.StartedAt.Equal(at(0)) {
		t.Errorf("empty answer: %+v, result %+v", c, c.Result)
	}
	failed := api.Call{ID: "e", Status: api.CallError, FinishedAt: at(5), Error: "no instance"}
	if err := s.FinishAsync(ctx, failed); err != nil {
		t.Fatal(err)
	}
	if c := mustGet(t, s, "e"); c.Result != nil || c.Error != "no instance" || c.Status != api.CallError || !c.StartedAt.Equal(at(2)) {
		t.Errorf("finished without an answer: %+v", c)
	}

	if err := s.FinishAsync(ctx, finished("a", at(9))); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second finish: want ErrNotFound, got %v", err)
	}
	if err := s.FinishAsync(ctx, finished("nope", at(9))); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("finish of an unknown call: want ErrNotFound, got %v", err)
	}
	if got := claim(t, s, at(100), 10); len(got) != 0 {
		t.Errorf("finished calls claimed again: %v", asyncIDs(got))
	}
	for _, c := range list(t, s, store.CallFilter{}) {
		if c.Result != nil {
			t.Errorf("ListCalls returned the result of %s", c.ID)
		}
	}
}

// testRequeue stops a store with calls queued, running and finished, and opens the storage
// again, as a restarted server does.
func testRequeue(t *testing.T, storage Storage) {
	ctx := t.Context()
	s := storage()
	for i, id := range []string{"a", "b", "c", "d"} {
		enqueue(t, s, asyncCall(id, "f", at(i)), 10)
	}
	claim(t, s, at(10), 3)
	done := finished("a", at(11))
	if err := s.FinishAsync(ctx, done); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = storage()
	n, err := s.RequeueRunning(ctx)
	if err != nil || n != 2 {
		t.Fatalf("RequeueRunning: %d, %v; want 2 (b and c)", n, err)
	}
	if c := mustGet(t, s, "b"); c.Status != api.CallQueued || c.Attempts != 1 {
		t.Errorf("requeued b: %+v", c)
	}
	got := claim(t, s, at(20), 10)
	if !slices.Equal(asyncIDs(got), []string{"b", "c", "d"}) {
		t.Fatalf("claim after restart: got %v, want [b c d]", asyncIDs(got))
	}
	for _, a := range got {
		want := 2
		if a.Call.ID == "d" {
			want = 1
		}
		if a.Call.Attempts != want {
			t.Errorf("%s: attempts %d, want %d", a.Call.ID, a.Call.Attempts, want)
		}
		sameRequest(t, a.Request, request(a.Call.ID))
	}
	if c := mustGet(t, s, "a"); c.Status != done.Status || c.Result == nil || string(c.Result.Body) != string(done.Result.Body) {
		t.Errorf("finished call after restart: %+v", c)
	}
}

func testPrune(t *testing.T, s store.Store) {
	ctx := t.Context()
	record(t, s,
		syncCall("old", "f", at(-100), api.CallSucceeded), // finished at(-99)
		syncCall("edge", "f", at(-1), api.CallFailed),     // finished at(0): not before at(0)
		syncCall("new", "f", at(50), api.CallSucceeded))
	enqueue(t, s, asyncCall("queued", "f", at(-200)), 10)
	enqueue(t, s, asyncCall("running", "f", at(-400)), 10)
	enqueue(t, s, asyncCall("async-old", "f", at(-300)), 10)
	claim(t, s, at(-300), 10) // running and async-old; queued is not due yet
	if err := s.FinishAsync(ctx, finished("async-old", at(-250))); err != nil {
		t.Fatal(err)
	}
	n, err := s.PruneCalls(ctx, at(0))
	if err != nil || n != 2 {
		t.Fatalf("PruneCalls: %d, %v; want 2 (old, async-old)", n, err)
	}
	if got, want := ids(list(t, s, store.CallFilter{})), []string{"new", "edge", "queued", "running"}; !slices.Equal(got, want) {
		t.Errorf("left after prune: %v, want %v", got, want)
	}
	if n, err := s.PruneCalls(ctx, at(0)); err != nil || n != 0 {
		t.Errorf("second prune: %d, %v; want 0", n, err)
	}
}
