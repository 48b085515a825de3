package triggers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/internal/syncbuf"
	"github.com/hearthfn/hearth/scheduler/store"
)

// t0 is the tests' start: a Monday in January, 10:02:03 UTC.
var t0 = time.Date(2030, 1, 7, 10, 2, 3, 0, time.UTC)

func clock(hh, mm, ss int) time.Time { return time.Date(2030, 1, 7, hh, mm, ss, 0, time.UTC) }

// fakeStore keeps trigger states and the calls the fake queue took.
type fakeStore struct {
	mu     sync.Mutex
	states map[key]store.TriggerState
	calls  map[string]api.Call
}

func newFakeStore() *fakeStore {
	return &fakeStore{states: map[key]store.TriggerState{}, calls: map[string]api.Call{}}
}

func (f *fakeStore) ListTriggerStates(context.Context) ([]store.TriggerState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []store.TriggerState
	for _, s := range f.states {
		out = append(out, s)
	}
	return out, nil
}

func (f *fakeStore) PutTriggerState(_ context.Context, s store.TriggerState) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.states[key{s.Function, s.Name}] = s
	return nil
}

func (f *fakeStore) DeleteTriggerState(_ context.Context, fn, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k := range f.states {
		if k.fn == fn && (name == "" || k.name == name) {
			delete(f.states, k)
		}
	}
	return nil
}

func (f *fakeStore) GetCall(_ context.Context, id string) (api.Call, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.calls[id]
	if !ok {
		return api.Call{}, store.ErrNotFound
	}
	return c, nil
}

func (f *fakeStore) state(fn, name string) (store.TriggerState, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.states[key{fn, name}]
	return s, ok
}

// queued is one call the fake queue took.
type queued struct {
	call api.Call
	req  store.AsyncRequest
}

type fakeQueue struct {
	st   *fakeStore
	mu   sync.Mutex
	got  []queued
	fail error
	ch   chan queued
}

func (q *fakeQueue) Enqueue(_ context.Context, c api.Call, req store.AsyncRequest) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.fail != nil {
		return q.fail
	}
	q.got = append(q.got, queued{c, req})
	q.st.mu.Lock()
	q.st.calls[c.ID] = c
	q.st.mu.Unlock()
	if q.ch != nil {
		q.ch <- queued{c, req}
	}
	return nil
}

// take returns and clears what was queued.
func (q *fakeQueue) take() []queued {
	q.mu.Lock()
	defer q.mu.Unlock()
	got := q.got
	q.got = nil
	return got
}

type harness struct {
	s   *Scheduler
	st  *fakeStore
	q   *fakeQueue
	log *syncbuf.Buffer
}

// newHarness is a scheduler over st (a fresh store when nil) that has loaded its state.
func newHarness(t *testing.T, st *fakeStore, fns ...api.Function) *harness {
	t.Helper()
	if st == nil {
		st = newFakeStore()
	}
	q := &fakeQueue{st: st}
	buf := &syncbuf.Buffer{}
	s := New(st, q, Config{}, slog.New(slog.NewTextHandler(buf, nil)))
	for _, fn := range fns {
		s.Set(fn)
	}
	if err := s.load(t.Context()); err != nil {
		t.Fatal(err)
	}
	return &harness{s: s, st: st, q: q, log: buf}
}

func fn(name string, deployed time.Time, ts ...api.Trigger) api.Function {
	return api.Function{Name: name, Version: api.Version{Number: 1, CreatedAt: deployed, Spec: api.FunctionSpec{Name: name, Triggers: ts}}}
}

func cronTrigger(name, schedule string) api.Trigger {
	return api.Trigger{Name: name, Type: api.TriggerCron, Schedule: schedule}
}

func marks(qs []queued) []string {
	var out []string
	for _, q := range qs {
		out = append(out, q.call.Function+" "+q.call.Trigger)
	}
	return out
}

func TestFiresAtScheduledTimes(t *testing.T) {
	trig := cronTrigger("every5", "*/5 * * * *")
	trig.Path, trig.Body, trig.Headers = "/tick?from=cron", `{"job":1}`, map[string]string{"Content-Type": "application/json"}
	h := newHarness(t, nil, fn("hello", t0.Add(-time.Hour), trig))
	ctx := t.Context()

	if next := h.s.step(ctx, t0); !next.Equal(clock(10, 5, 0)) {
		t.Fatalf("next after 10:02:03: got %s, want 10:05", next)
	}
	if got := h.q.take(); len(got) != 0 {
		t.Fatalf("a new trigger fired at once: %v", marks(got))
	}
	if next := h.s.step(ctx, clock(10, 5, 0)); !next.Equal(clock(10, 10, 0)) {
		t.Fatalf("next after firing at 10:05: got %s", next)
	}
	got := h.q.take()
	if len(got) != 1 {
		t.Fatalf("at 10:05: want one call, got %v", marks(got))
	}
	c, req := got[0].call, got[0].req
	if c.Function != "hello" || !c.Async || c.Status != api.CallQueued || c.Trigger != "cron/every5" || c.ID == "" {
		t.Errorf("call: %+v", c)
	}
	if req.Method != http.MethodPost || req.Path != "/tick" || req.Query != "from=cron" || string(req.Body) != `{"job":1}` {
		t.Errorf("request: %+v", req)
	}
	hd := http.Header(req.Header)
	if hd.Get(api.HeaderTrigger) != "cron/every5" || hd.Get("Content-Type") != "application/json" ||
		hd.Get(api.HeaderTriggerTime) != "2030-01-07T10:05:00Z" || hd.Get(api.HeaderTriggerMissed) != "" {
		t.Errorf("headers: %v", hd)
	}
	st, _ := h.st.state("hello", "every5")
	if !st.LastFired.Equal(clock(10, 5, 0)) || st.LastCallID != c.ID || !st.RegisteredAt.Equal(t0) {
		t.Errorf("state: %+v", st)
	}
	// Woken early (a deploy elsewhere): nothing fires.
	h.s.step(ctx, clock(10, 9, 59))
	if got := h.q.take(); len(got) != 0 {
		t.Fatalf("fired early: %v", marks(got))
	}
	// A little late is still one regular firing.
	h.s.step(ctx, clock(10, 10, 1))
	if got := marks(h.q.take()); !slices.Equal(got, []string{"hello cron/every5"}) {
		t.Fatalf("at 10:10:01: %v", got)
	}
}

// TestCatchUpOnceAfterRestart: a server down over five scheduled times fires once at start,
// marked and logged, then keeps the schedule.
func TestCatchUpOnceAfterRestart(t *testing.T) {
	st := newFakeStore()
	trig := cronTrigger("every5", "*/5 * * * *")
	f := fn("hello", t0.Add(-time.Hour), trig)
	h := newHarness(t, st, f)
	h.s.step(t.Context(), t0)
	h.s.step(t.Context(), clock(10, 5, 0))
	if len(h.q.take()) != 1 {
		t.Fatal("no firing at 10:05")
	}

	// The server stops; a new one starts at 10:31 on the same store.
	h2 := newHarness(t, st, f)
	if next := h2.s.step(t.Context(), clock(10, 31, 0)); !next.Equal(clock(10, 35, 0)) {
		t.Fatalf("next after the catch-up: %s", next)
	}
	got := h2.q.take()
	if m := marks(got); !slices.Equal(m, []string{"hello cron/every5 (catch-up of 5)"}) {
		t.Fatalf("at start: %v", m)
	}
	hd := http.Header(got[0].req.Header)
	if hd.Get(api.HeaderTriggerMissed) != "5" || hd.Get(api.HeaderTriggerTime) != "2030-01-07T10:30:00Z" {
		t.Errorf("catch-up headers: %v", hd)
	}
	if !strings.Contains(h2.log.String(), "trigger every5 of hello missed 5 firings while the server was down; firing once now") {
		t.Errorf("log:\n%s", h2.log.String())
	}
	if s, _ := st.state("hello", "every5"); !s.LastFired.Equal(clock(10, 30, 0)) {
		t.Errorf("state after the catch-up: %+v", s)
	}
	h2.s.step(t.Context(), clock(10, 33, 0))
	h2.s.step(t.Context(), clock(10, 35, 0))
	if m := marks(h2.q.take()); !slices.Equal(m, []string{"hello cron/every5"}) {
		t.Fatalf("after the catch-up: %v", m)
	}
}

// TestRestartWithNothingMissed: a restart between two scheduled times fires nothing early
// and marks nothing.
func TestRestartWithNothingMissed(t *testing.T) {
	st := newFakeStore()
	f := fn("hello", t0.Add(-time.Hour), cronTrigger("every5", "*/5 * * * *"))
	newHarness(t, st, f).s.step(t.Context(), t0)
	h := newHarness(t, st, f)
	h.s.step(t.Context(), clock(10, 4, 0))
	h.s.step(t.Context(), clock(10, 5, 0))
	if m := marks(h.q.take()); !slices.Equal(m, []string{"hello cron/every5"}) {
		t.Fatalf("got %v", m)
	}
}

// TestNeverMissedBeforeDeploy: times before the function's current version was deployed are
// not missed, even when the trigger was registered long before.
func TestNeverMissedBeforeDeploy(t *testing.T) {
	st := newFakeStore()
	trig := cronTrigger("every5", "*/5 * * * *")
	_ = st.PutTriggerState(t.Context(), store.TriggerState{Function: "hello", Name: "every5", Schedule: scheduleKey(trig),
		RegisteredAt: clock(6, 0, 0)})
	h := newHarness(t, st, fn("hello", clock(10, 20, 30), trig))
	h.s.step(t.Context(), clock(10, 31, 0))
	if m := marks(h.q.take()); !slices.Equal(m, []string{"hello cron/every5 (catch-up of 2)"}) {
		t.Fatalf("got %v (want the 10:25 and 10:30 times only)", m)
	}
}

// TestScheduleChangeStartsAfresh: a saved state of another schedule is no reason to catch up.
func TestScheduleChangeStartsAfresh(t *testing.T) {
	st := newFakeStore()
	_ = st.PutTriggerState(t.Context(), store.TriggerState{Function: "hello", Name: "t", Schedule: "@hourly|",
		RegisteredAt: clock(1, 0, 0), LastFired: clock(2, 0, 0)})
	h := newHarness(t, st, fn("hello", clock(1, 0, 0), cronTrigger("t", "*/5 * * * *")))
	h.s.step(t.Context(), t0)
	if m := marks(h.q.take()); len(m) != 0 {
		t.Fatalf("got %v", m)
	}
	if s, _ := st.state("hello", "t"); s.Schedule != "*/5 * * * *|" || !s.RegisteredAt.Equal(t0) || !s.LastFired.IsZero() {
		t.Fatalf("state: %+v", s)
	}
}

// TestClockJumpForward: a running server whose clock jumps past several times fires once.
func TestClockJumpForward(t *testing.T) {
	h := newHarness(t, nil, fn("hello", t0.Add(-time.Hour), cronTrigger("every5", "*/5 * * * *")))
	h.s.step(t.Context(), t0)
	h.s.step(t.Context(), clock(10, 5, 0))
	h.q.take()
	h.s.step(t.Context(), clock(10, 21, 0))
	if m := marks(h.q.take()); !slices.Equal(m, []string{"hello cron/every5 (catch-up of 3)"}) {
		t.Fatalf("got %v", m)
	}
	if !strings.Contains(h.log.String(), "missed 3 firings (the clock jumped") {
		t.Errorf("log:\n%s", h.log.String())
	}
}

// TestClockSetBack: a clock set back an hour does not wait an hour for the next time.
func TestClockSetBack(t *testing.T) {
	h := newHarness(t, nil, fn("hello", t0.Add(-time.Hour), cronTrigger("every5", "*/5 * * * *")))
	h.s.step(t.Context(), t0)
	if next := h.s.step(t.Context(), t0.Add(-time.Hour)); !next.Equal(clock(9, 5, 0)) {
		t.Fatalf("next after the clock went back: %s", next)
	}
}

func TestEveryCountsByDivision(t *testing.T) {
	st := newFakeStore()
	f := fn("hello", t0.Add(-time.Hour), cronTrigger("fast", "@every 2s"))
	h := newHarness(t, st, f)
	if next := h.s.step(t.Context(), t0); !next.Equal(t0.Add(2 * time.Second)) {
		t.Fatalf("next: %s", next)
	}
	h.s.step(t.Context(), t0.Add(2*time.Second))
	h.s.step(t.Context(), t0.Add(4*time.Second))
	if m := marks(h.q.take()); !slices.Equal(m, []string{"hello cron/fast", "hello cron/fast"}) {
		t.Fatalf("got %v", m)
	}
	h2 := newHarness(t, st, f)
	h2.s.step(t.Context(), t0.Add(4*time.Second+11*time.Second)) // 6, 8, ... 14 missed
	if m := marks(h2.q.take()); !slices.Equal(m, []string{"hello cron/fast (catch-up of 5)"}) {
		t.Fatalf("got %v", m)
	}
	if s, _ := st.state("hello", "fast"); !s.LastFired.Equal(t0.Add(14 * time.Second)) {
		t.Fatalf("state: %+v", s)
	}
}

func TestTimezone(t *testing.T) {
	trig := cronTrigger("morning", "0 9 * * *")
	trig.Timezone = "Europe/Berlin"
	h := newHarness(t, nil, fn("hello", t0.Add(-time.Hour), trig))
	// 09:00 in Berlin is 08:00 UTC in January.
	if next := h.s.step(t.Context(), t0); !next.Equal(time.Date(2030, 1, 8, 8, 0, 0, 0, time.UTC)) {
		t.Fatalf("next: %s", next.UTC())
	}
	h.s.step(t.Context(), time.Date(2030, 1, 8, 8, 0, 0, 0, time.UTC))
	got := h.q.take()
	if len(got) != 1 || http.Header(got[0].req.Header).Get(api.HeaderTriggerTime) != "2030-01-08T09:00:00+01:00" {
		t.Fatalf("got %+v", got)
	}
}

// TestDST: in Europe/Berlin, 02:30 does not exist on the last Sunday of March 2030 and comes
// twice on the last Sunday of October. A daily 02:30 trigger skips the day it does not exist
// (robfig/cron's rule, documented) and fires once, not twice, the day it comes twice.
func TestDST(t *testing.T) {
	trig := cronTrigger("night", "30 2 * * *")
	trig.Timezone = "Europe/Berlin"
	for _, tt := range []struct {
		name string
		from time.Time
		want []time.Time
	}{
		{"spring forward", time.Date(2030, 3, 30, 12, 0, 0, 0, time.UTC), []time.Time{
			time.Date(2030, 4, 1, 0, 30, 0, 0, time.UTC), time.Date(2030, 4, 2, 0, 30, 0, 0, time.UTC)}},
		{"fall back", time.Date(2030, 10, 26, 12, 0, 0, 0, time.UTC), []time.Time{
			time.Date(2030, 10, 27, 0, 30, 0, 0, time.UTC), time.Date(2030, 10, 28, 1, 30, 0, 0, time.UTC)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil, fn("hello", tt.from.Add(-time.Hour), trig))
			var fired []time.Time
			now := tt.from
			for range 3 {
				next := h.s.step(t.Context(), now)
				if now != tt.from {
					fired = append(fired, now)
				}
				now = next
			}
			if len(fired) != 2 || !fired[0].Equal(tt.want[0]) || !fired[1].Equal(tt.want[1]) {
				t.Fatalf("fired at %v, want %v", fired, tt.want)
			}
			if m := marks(h.q.take()); len(m) != 2 || strings.Contains(m[0]+m[1], "catch-up") {
				t.Fatalf("calls: %v", m)
			}
		})
	}
}

// TestTriggersFollowTheSpec: a trigger taken out, a function deleted: their state goes.
// A trigger's body changing keeps its schedule.
func TestTriggersFollowTheSpec(t *testing.T) {
	a, b := cronTrigger("a", "*/5 * * * *"), cronTrigger("b", "@hourly")
	h := newHarness(t, nil, fn("hello", t0, a, b), fn("other", t0, a))
	h.s.step(t.Context(), t0)
	for _, k := range []key{{"hello", "a"}, {"hello", "b"}, {"other", "a"}} {
		if _, ok := h.st.state(k.fn, k.name); !ok {
			t.Fatalf("no state for %v", k)
		}
	}
	a2 := a
	a2.Body = "new"
	h.s.Set(fn("hello", t0.Add(time.Minute), a2))
	h.s.Remove("other")
	h.s.Set(api.Function{Name: "hello@1"}) // an alias's pool entry, not a function
	h.s.step(t.Context(), clock(10, 5, 0))
	if _, ok := h.st.state("hello", "b"); ok {
		t.Error("the state of a trigger taken out of func.yaml stayed")
	}
	if _, ok := h.st.state("other", "a"); ok {
		t.Error("the state of a deleted function's trigger stayed")
	}
	got := h.q.take()
	if len(got) != 1 || got[0].call.Function != "hello" || string(got[0].req.Body) != "new" {
		t.Fatalf("got %+v", got)
	}
}

// TestOrphanStateDropped: state saved for a function no longer there goes at the first step.
func TestOrphanStateDropped(t *testing.T) {
	st := newFakeStore()
	_ = st.PutTriggerState(t.Context(), store.TriggerState{Function: "gone", Name: "t", Schedule: "@hourly|", RegisteredAt: t0})
	h := newHarness(t, st)
	h.s.step(t.Context(), t0)
	if _, ok := st.state("gone", "t"); ok {
		t.Fatal("orphan state kept")
	}
}

// TestQueueRefusalIsRetried: a full queue delays the firing; it is not lost.
func TestQueueRefusalIsRetried(t *testing.T) {
	h := newHarness(t, nil, fn("hello", t0, cronTrigger("every5", "*/5 * * * *")))
	h.s.step(t.Context(), t0)
	h.q.fail = fmt.Errorf("enqueue: %w", store.ErrQueueFull)
	next := h.s.step(t.Context(), clock(10, 5, 0))
	if !next.Equal(clock(10, 5, 5)) {
		t.Fatalf("retry at %s, want 5 s later", next)
	}
	h.q.fail = nil
	h.s.step(t.Context(), clock(10, 5, 2))
	if len(h.q.take()) != 0 {
		t.Fatal("tried again before the pause")
	}
	h.s.step(t.Context(), clock(10, 5, 5))
	if m := marks(h.q.take()); !slices.Equal(m, []string{"hello cron/every5"}) {
		t.Fatalf("got %v", m)
	}
}

func TestList(t *testing.T) {
	berlin := cronTrigger("morning", "0 9 * * *")
	berlin.Timezone = "Europe/Berlin"
	h := newHarness(t, nil, fn("hello", t0, cronTrigger("every5", "*/5 * * * *"), berlin), fn("plain", t0))
	h.s.step(t.Context(), t0)
	h.s.step(t.Context(), clock(10, 5, 0))
	id := h.q.take()[0].call.ID
	h.st.calls[id] = api.Call{ID: id, Status: api.CallSucceeded}
	got, err := h.s.List(t.Context(), "hello")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Name != "every5" || got[0].Timezone != "UTC" || !got[0].Next.Equal(clock(10, 10, 0)) ||
		!got[0].LastFired.Equal(clock(10, 5, 0)) || got[0].LastCallID != id || got[0].LastStatus != api.CallSucceeded {
		t.Fatalf("every5: %+v", got)
	}
	if got[1].Name != "morning" || got[1].Timezone != "Europe/Berlin" || got[1].Next.Location().String() != "Europe/Berlin" ||
		!got[1].LastFired.IsZero() || got[1].LastCallID != "" {
		t.Fatalf("morning: %+v", got[1])
	}
	if l, err := h.s.List(t.Context(), "plain"); err != nil || len(l) != 0 {
		t.Fatalf("a function without triggers: %v, %v", l, err)
	}
	if _, err := h.s.List(t.Context(), "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown function: %v", err)
	}
}

// fakeClock's After channels fire when the test advances it past their time.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []fakeTimer
	asked  chan struct{}
}

type fakeTimer struct {
	at time.Time
	ch chan time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	c.timers = append(c.timers, fakeTimer{c.now.Add(d), ch})
	select {
	case c.asked <- struct{}{}:
	default:
	}
	return ch
}

// set moves the clock to now and wakes every waiter, due or not: Run reads Now again when it
// wakes, so an early wake is harmless, and a wait begun from a stale Now cannot be missed.
func (c *fakeClock) set(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = now
	for _, tm := range c.timers {
		tm.ch <- now
	}
	c.timers = nil
}

// TestRunWaitsForTheClock: Run sleeps on the clock until the next time, then fires.
func TestRunWaitsForTheClock(t *testing.T) {
	st := newFakeStore()
	q := &fakeQueue{st: st, ch: make(chan queued, 1)}
	clk := &fakeClock{now: t0, asked: make(chan struct{}, 1)}
	s := New(st, q, Config{Clock: clk}, slog.New(slog.DiscardHandler))
	s.Set(fn("hello", t0, cronTrigger("every5", "*/5 * * * *")))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	select {
	case <-clk.asked: // Run is waiting
	case <-time.After(10 * time.Second):
		t.Fatal("Run never waited on the clock")
	}
	clk.set(clock(10, 4, 59))
	select {
	case got := <-q.ch:
		t.Fatalf("fired before its time: %+v", got.call)
	case <-clk.asked: // waiting again
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not wait again")
	}
	deadline := time.After(10 * time.Second)
	for {
		clk.set(clock(10, 5, 0))
		select {
		case got := <-q.ch:
			if got.call.Trigger != "cron/every5" {
				t.Fatalf("got %+v", got.call)
			}
			return
		case <-clk.asked: // a wait begun before the clock moved: wake it again
		case <-deadline:
			t.Fatal("no call once the clock reached 10:05")
		}
	}
}
