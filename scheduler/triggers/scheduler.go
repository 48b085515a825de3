package triggers

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/runtimes/funcfile"
	"github.com/hearthfn/hearth/scheduler/store"
)

// Queue takes async calls: the router's AsyncQueue (scheduler/calls.Runner).
type Queue interface {
	Enqueue(ctx context.Context, c api.Call, req store.AsyncRequest) error
}

// Store is what the scheduler keeps and reads: the triggers' state, and the call records it
// reports the last firing's status from.
type Store interface {
	store.TriggerStore
	GetCall(ctx context.Context, id string) (api.Call, error)
}

// Clock is the scheduler's time: the real one in the server, a fake one in tests.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Config tunes the Scheduler. Zero fields take defaults.
type Config struct {
	// Clock is the time; default the system's.
	Clock Clock
	// MaxWait bounds a wait for the next scheduled time (default 1 min): the wall clock is
	// looked at again at least this often, so that a jump of it is noticed.
	MaxWait time.Duration
	// RetryPause is the wait before a firing the queue refused is tried again (default 5 s).
	RetryPause time.Duration
}

// ErrNotFound: no function of that name has been handed to the scheduler. It wraps
// store.ErrNotFound, so the API answers 404.
var ErrNotFound = fmt.Errorf("function not found: %w", store.ErrNotFound)

// Scheduler fires functions' cron triggers; see the package doc.
type Scheduler struct {
	cfg   Config
	store Store
	queue Queue
	log   *slog.Logger
	wake  chan struct{}

	mu      sync.Mutex
	fns     map[string]function // the current spec's triggers of every function
	removed map[string]bool     // functions deleted since the last step, whose state goes
	entries map[key]*entry      // the scheduled triggers
	saved   map[key]store.TriggerState
	loaded  bool // saved holds what the store had at start; cleared by the first step
}

// function is what the scheduler needs of a function's current version.
type function struct {
	triggers []api.Trigger
	deployed time.Time
}

type key struct{ fn, name string }

// entry is one scheduled trigger.
type entry struct {
	trig  api.Trigger
	sched cron.Schedule
	loc   *time.Location
	state store.TriggerState
	// next is the first scheduled time after the last firing (or registration): it may be in
	// the past when times were missed.
	next time.Time
	// restored: the state came from an earlier process, so any time already due was missed
	// while the server was down.
	restored bool
	// retryAt delays a firing the queue refused.
	retryAt time.Time
}

// New returns a scheduler; Set and Remove may be called at once, and Run must run for
// triggers to fire.
func New(st Store, q Queue, cfg Config, log *slog.Logger) *Scheduler {
	if cfg.Clock == nil {
		cfg.Clock = realClock{}
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = time.Minute
	}
	if cfg.RetryPause <= 0 {
		cfg.RetryPause = 5 * time.Second
	}
	return &Scheduler{cfg: cfg, store: st, queue: q, log: log, wake: make(chan struct{}, 1),
		fns: map[string]function{}, removed: map[string]bool{}, entries: map[key]*entry{}}
}

// Set tells the scheduler fn's current version: its triggers replace the function's earlier
// ones. Pool entries of extra versions ("NAME@N") are not functions and are ignored.
func (s *Scheduler) Set(fn api.Function) {
	if strings.Contains(fn.Name, "@") {
		return
	}
	s.mu.Lock()
	s.fns[fn.Name] = function{triggers: slices.Clone(fn.Version.Spec.Triggers), deployed: fn.Version.CreatedAt}
	s.mu.Unlock()
	s.poke()
}

// Remove forgets a deleted function: its triggers stop and their state goes.
func (s *Scheduler) Remove(name string) {
	if strings.Contains(name, "@") {
		return
	}
	s.mu.Lock()
	delete(s.fns, name)
	s.removed[name] = true
	s.mu.Unlock()
	s.poke()
}

func (s *Scheduler) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run reads the triggers' state, then fires triggers as they come due until ctx ends. The
// functions must have been Set before (the registry's Restore): a saved state no function
// claims at the first step is removed.
func (s *Scheduler) Run(ctx context.Context) error {
	if err := s.load(ctx); err != nil {
		return err
	}
	for {
		now := s.cfg.Clock.Now()
		wait := s.cfg.MaxWait
		if next := s.step(ctx, now); !next.IsZero() {
			wait = min(wait, max(next.Sub(now), 0))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.wake:
		case <-s.cfg.Clock.After(wait):
		}
	}
}

// load reads the state an earlier process saved, trying again while the store cannot be read.
func (s *Scheduler) load(ctx context.Context) error {
	pause := time.Second
	for {
		states, err := s.store.ListTriggerStates(ctx)
		if err == nil {
			s.mu.Lock()
			s.saved = make(map[key]store.TriggerState, len(states))
			for _, st := range states {
				s.saved[key{st.Function, st.Name}] = st
			}
			s.loaded = true
			s.mu.Unlock()
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.log.Error("could not read the triggers' state; cron triggers wait for the store", "error", err, "next_try_in", pause)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.cfg.Clock.After(pause):
		}
		pause = min(2*pause, time.Minute)
	}
}

// scheduleKey identifies a trigger's schedule in its state.
func scheduleKey(t api.Trigger) string { return t.Schedule + "|" + t.Timezone }

// step brings the entries in line with the functions, fires every trigger due at now, and
// returns the earliest time something is due next (zero: nothing is scheduled).
func (s *Scheduler) step(ctx context.Context, now time.Time) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reconcile(ctx, now)
	keys := make([]key, 0, len(s.entries))
	for k := range s.entries {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int { return strings.Compare(a.fn+"\x00"+a.name, b.fn+"\x00"+b.name) })
	var earliest time.Time
	for _, k := range keys {
		e := s.entries[k]
		if e.next.IsZero() {
			continue // robfig/cron found no time in the next five years
		}
		// A clock set back would otherwise wait for the old next time: take the schedule's
		// next time from now when it is sooner.
		if n := nextAfter(e.sched, e.loc, now); !n.IsZero() && n.Before(e.next) && !e.restored {
			e.next = n
		}
		if !now.Before(e.next) && !now.Before(e.retryAt) {
			s.fire(ctx, k, e, now)
		}
		due := e.next
		if e.retryAt.After(due) {
			due = e.retryAt
		}
		if !due.IsZero() && (earliest.IsZero() || due.Before(earliest)) {
			earliest = due
		}
	}
	return earliest
}

// reconcile makes s.entries the triggers of s.fns, dropping the state of triggers that went
// and starting those that came. Called with s.mu held.
func (s *Scheduler) reconcile(ctx context.Context, now time.Time) {
	for name := range s.removed {
		for k := range s.entries {
			if k.fn == name {
				delete(s.entries, k)
			}
		}
		for k := range s.saved {
			if k.fn == name {
				delete(s.saved, k)
			}
		}
		s.forget(ctx, name, "")
		delete(s.removed, name)
	}
	for k := range s.entries {
		f, ok := s.fns[k.fn]
		if !ok || !slices.ContainsFunc(f.triggers, func(t api.Trigger) bool { return t.Name == k.name }) {
			delete(s.entries, k)
			s.forget(ctx, k.fn, k.name)
		}
	}
	for name, f := range s.fns {
		for _, t := range f.triggers {
			k := key{name, t.Name}
			if e := s.entries[k]; e != nil && e.state.Schedule == scheduleKey(t) {
				e.trig = t // path, body and headers take effect at the next firing
				continue
			}
			if e := s.start(ctx, k, t, f, now); e != nil {
				s.entries[k] = e
			}
		}
	}
	if s.loaded {
		// What no function claimed at the first step belongs to functions or triggers gone
		// while no server ran (a store copied from elsewhere, a failed write): drop it.
		for k := range s.saved {
			s.forget(ctx, k.fn, k.name)
		}
		s.saved, s.loaded = nil, false
	}
}

// start schedules a trigger: from its saved state when an earlier process left one for the
// same schedule, else afresh from now.
func (s *Scheduler) start(ctx context.Context, k key, t api.Trigger, f function, now time.Time) *entry {
	sched, loc, err := funcfile.ParseSchedule(t.Schedule, t.Timezone)
	if err != nil {
		// Validated at deploy; a spec that no longer parses (an older binary's rules) is
		// reported, not fired.
		s.log.Error("a cron trigger's schedule cannot be read; it will not fire", "function", k.fn, "trigger", k.name, "error", err)
		return nil
	}
	e := &entry{trig: t, sched: sched, loc: loc}
	if st, ok := s.saved[k]; ok && st.Schedule == scheduleKey(t) {
		delete(s.saved, k)
		e.state = st
		anchor := latest(st.LastFired, st.RegisteredAt, f.deployed)
		e.next = nextAfter(sched, loc, anchor)
		e.restored = !e.next.After(now) // a time came while no server ran
		return e
	}
	delete(s.saved, k)
	e.state = store.TriggerState{Function: k.fn, Name: k.name, Schedule: scheduleKey(t), RegisteredAt: now}
	e.next = nextAfter(sched, loc, now)
	s.save(ctx, e.state)
	return e
}

// fire enqueues the call of a due trigger: one call however many scheduled times are due.
func (s *Scheduler) fire(ctx context.Context, k key, e *entry, now time.Time) {
	count, last, capped := dueTimes(e.sched, e.next, now)
	mark := "cron/" + k.name
	catchUp := e.restored || count > 1
	if catchUp {
		mark = fmt.Sprintf("%s (catch-up of %d)", mark, count)
	}
	id := newCallID(now)
	c := api.Call{ID: id, Function: k.fn, Async: true, Status: api.CallQueued, CreatedAt: now, Trigger: mark}
	if err := s.queue.Enqueue(ctx, c, request(e.trig, last.In(e.loc), count, catchUp)); err != nil {
		e.retryAt = now.Add(s.cfg.RetryPause)
		s.log.Error("a cron trigger could not queue its call; trying again", "function", k.fn, "trigger", k.name,
			"error", err, "next_try_in", s.cfg.RetryPause)
		return
	}
	switch {
	case e.restored:
		s.log.Warn(fmt.Sprintf("trigger %s of %s missed %d firings while the server was down; firing once now", k.name, k.fn, count),
			"function", k.fn, "trigger", k.name, "missed", count, "call_id", id)
	case catchUp:
		s.log.Warn(fmt.Sprintf("trigger %s of %s missed %d firings (the clock jumped or the server was stalled); firing once now", k.name, k.fn, count),
			"function", k.fn, "trigger", k.name, "missed", count, "call_id", id)
	default:
		s.log.Debug("cron trigger fired", "function", k.fn, "trigger", k.name, "scheduled", last, "call_id", id)
	}
	e.restored, e.retryAt = false, time.Time{}
	e.state.LastFired, e.state.LastCallID = last, id
	if capped {
		e.next = nextAfter(e.sched, e.loc, now)
	} else {
		e.next = nextAfter(e.sched, e.loc, last)
	}
	s.save(ctx, e.state)
}

// nextAfter is the schedule's first time after t, read in loc. When the clocks go back, a
// wall-clock time comes twice (02:30 CEST, then 02:30 CET): robfig/cron would fire at both, and
// a daily job would run twice that night, so the second is skipped. (When they go forward, a
// time that does not exist that day is skipped, as robfig/cron does.)
func nextAfter(sched cron.Schedule, loc *time.Location, t time.Time) time.Time {
	t = t.In(loc)
	n := sched.Next(t)
	if _, every := sched.(cron.ConstantDelaySchedule); !every && !n.IsZero() && n.Format("2006-01-02 15:04") == t.Format("2006-01-02 15:04") {
		n = sched.Next(n)
	}
	return n
}

// maxCount bounds the counting of missed times of a cron expression (an @every interval is
// counted by division): past it, the count says "at least".
const maxCount = 1_000_000

// dueTimes counts the scheduled times from first (due) to now and returns the latest of them.
// capped says the count stopped at maxCount short of now.
func dueTimes(sched cron.Schedule, first, now time.Time) (count int, last time.Time, capped bool) {
	if cd, ok := sched.(cron.ConstantDelaySchedule); ok && cd.Delay > 0 {
		n := now.Sub(first) / cd.Delay
		return int(n) + 1, first.Add(n * cd.Delay), false
	}
	count, last = 1, first
	for count < maxCount {
		n := sched.Next(last)
		if n.IsZero() || n.After(now) {
			return count, last, false
		}
		count, last = count+1, n
	}
	return count, last, true
}

// request is the async request a firing replays against the function.
func request(t api.Trigger, scheduled time.Time, count int, catchUp bool) store.AsyncRequest {
	path, query := "/", ""
	if t.Path != "" {
		if u, err := url.ParseRequestURI(t.Path); err == nil {
			path, query = u.EscapedPath(), u.RawQuery
		}
	}
	h := http.Header{}
	for k, v := range t.Headers {
		h.Set(k, v)
	}
	h.Set(api.HeaderTrigger, "cron/"+t.Name)
	h.Set(api.HeaderTriggerTime, scheduled.Format(time.RFC3339))
	if catchUp {
		h.Set(api.HeaderTriggerMissed, strconv.Itoa(count))
	}
	return store.AsyncRequest{Method: http.MethodPost, Path: path, Query: query, Header: h, Body: []byte(t.Body)}
}

func (s *Scheduler) save(ctx context.Context, st store.TriggerState) {
	if err := s.store.PutTriggerState(ctx, st); err != nil {
		s.log.Error("could not save a cron trigger's state; after a restart it may fire a catch-up it need not", "function", st.Function, "trigger", st.Name, "error", err)
	}
}

func (s *Scheduler) forget(ctx context.Context, fn, name string) {
	if err := s.store.DeleteTriggerState(ctx, fn, name); err != nil {
		s.log.Error("could not remove a cron trigger's state", "function", fn, "trigger", name, "error", err)
	}
}

// List reports the triggers of the function name's current version, in func.yaml's order.
// Errors: ErrNotFound (wrapping store.ErrNotFound) for a function the scheduler was not given.
func (s *Scheduler) List(ctx context.Context, name string) ([]api.TriggerStatus, error) {
	s.mu.Lock()
	f, ok := s.fns[name]
	out := make([]api.TriggerStatus, 0, len(f.triggers))
	for _, t := range f.triggers {
		ts := api.TriggerStatus{Name: t.Name, Type: t.Type, Schedule: t.Schedule, Timezone: t.Timezone}
		if ts.Timezone == "" {
			ts.Timezone = "UTC"
		}
		if e := s.entries[key{name, t.Name}]; e != nil && e.state.Schedule == scheduleKey(t) {
			ts.Next = e.next.In(e.loc)
			if !e.state.LastFired.IsZero() {
				ts.LastFired = e.state.LastFired.In(e.loc)
			}
			ts.LastCallID = e.state.LastCallID
			if e.restored && !e.next.After(s.cfg.Clock.Now()) {
				ts.Next = time.Time{} // due now: the first step fires it
			}
		}
		out = append(out, ts)
	}
	s.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("%w: %q (deploy it first: hearth deploy)", ErrNotFound, name)
	}
	for i := range out {
		if out[i].LastCallID == "" {
			continue
		}
		c, err := s.store.GetCall(ctx, out[i].LastCallID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			// Pruned with the old call records.
		case err != nil:
			return nil, fmt.Errorf("read the last call of trigger %s: %w", out[i].Name, err)
		default:
			out[i].LastStatus = c.Status
		}
	}
	return out, nil
}

func latest(ts ...time.Time) time.Time {
	var l time.Time
	for _, t := range ts {
		if t.After(l) {
			l = t
		}
	}
	return l
}

// newCallID returns a call id like the router's (scheduler/router): 48 bits of Unix
// milliseconds, then random bits, in hex, so that ids sort by creation time.
func newCallID(now time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli())<<16)
	_, _ = rand.Read(b[6:])
	return hex.EncodeToString(b[:])
}
