package pool

import (
	"math"
	"testing"
	"time"

	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/api"
)

// costOf reads a function's cost, failing the test for an unknown function.
func costOf(t *testing.T, p *Pool, name string) api.FunctionCost {
	t.Helper()
	c, ok := p.Cost(name)
	if !ok {
		t.Fatalf("no cost for %s", name)
	}
	return c
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

func wantMB(t *testing.T, what string, w api.CostWindow, warm, busy, paused float64) {
	t.Helper()
	if !near(w.WarmMBSeconds, warm) || !near(w.BusyMBSeconds, busy) || !near(w.PausedMBSeconds, paused) {
		t.Fatalf("%s: warm %.3f busy %.3f paused %.3f MB-s, want %.3f %.3f %.3f", what,
			w.WarmMBSeconds, w.BusyMBSeconds, w.PausedMBSeconds, warm, busy, paused)
	}
}

// One instance of 128 MB: busy 2 s, ready and idle 10 s, paused 20 s. That is 1280 MB-s warm
// (1.28 GB-s) and 2560 MB-s paused; the resume that follows is a cold start taken (resumed) and
// one avoided.
func TestCostIntegratesWarmBusyPaused(t *testing.T) {
	n := &fakeNode{canPause: true}
	p, c := newTestPool(t, n)
	spec := quick
	spec.MemoryMB = 128
	p.Apply(fn("nap", 1, spec))

	l := acquire(t, p, "nap")
	c.Add(2 * time.Second)
	l.Release(OutcomeOK)
	c.Add(10 * time.Second)
	p.Reap() // idle for idle_timeout: paused at this instant
	waitState(t, p, "nap", "paused")
	c.Add(20 * time.Second)

	got := costOf(t, p, "nap")
	wantMB(t, "total", got.Total, 1280, 256, 2560)
	wantMB(t, "last hour", got.LastHour, 1280, 256, 2560)
	if got.Total.Calls != 1 || got.Total.ColdStartsNew != 1 || got.Total.ColdStartsResumed != 0 || got.Total.ColdStartsAvoided != 0 {
		t.Fatalf("counts %+v, want one call, one new cold start", got.Total)
	}
	if got.KeepAlive.Source != api.KeepAliveConfigured || got.KeepAlive.IdleTimeout != quick.IdleTimeout ||
		got.KeepAlive.PauseTimeout != quick.PauseTimeout {
		t.Fatalf("keep-alive %+v, want the configured timeouts", got.KeepAlive)
	}

	// A call resumes it: a resumed cold start, and a new start avoided.
	acquire(t, p, "nap").Release(OutcomeOK)
	c.Add(5 * time.Second)
	got = costOf(t, p, "nap")
	wantMB(t, "after resume", got.Total, 1280+5*128, 256, 2560)
	if got.Total.Calls != 2 || got.Total.ColdStartsResumed != 1 || got.Total.ColdStartsAvoided != 1 {
		t.Fatalf("counts %+v, want a resumed call that avoided a new start", got.Total)
	}

	// Reading twice counts nothing twice.
	again := costOf(t, p, "nap")
	wantMB(t, "read again", again.Total, 1280+5*128, 256, 2560)
}

// A call to an instance idle for AvoidedAfterIdle or more is a cold start avoided; one that
// follows the last call closer is not.
func TestCostAvoidedCountsLongIdleOnly(t *testing.T) {
	p, c := newTestPool(t, &fakeNode{})
	spec := api.FunctionSpec{MemoryMB: 64, IdleTimeout: api.Duration(time.Hour)}
	p.Apply(fn("f", 1, spec))
	acquire(t, p, "f").Release(OutcomeOK) // new
	c.Add(api.AvoidedAfterIdle / 2)
	acquire(t, p, "f").Release(OutcomeOK) // a burst: not keep-alive's doing
	c.Add(api.AvoidedAfterIdle)
	acquire(t, p, "f").Release(OutcomeOK) // kept warm across a gap: avoided
	got := costOf(t, p, "f").Total
	if got.Calls != 3 || got.ColdStartsNew != 1 || got.ColdStartsAvoided != 1 {
		t.Fatalf("counts %+v, want 3 calls, 1 new, 1 avoided", got)
	}
	wantMB(t, "memory", got, 64*(api.AvoidedAfterIdle/2+api.AvoidedAfterIdle).Seconds(), 0, 0)
}

// The last-hour window drops what is older than an hour; the total keeps it. An interval that
// straddles the window's start counts only its part inside.
func TestCostLastHourWindow(t *testing.T) {
	p, c := newTestPool(t, &fakeNode{})
	spec := api.FunctionSpec{MemoryMB: 100, IdleTimeout: api.Duration(24 * time.Hour)}
	p.Apply(fn("f", 1, spec))
	acquire(t, p, "f").Release(OutcomeOK)
	c.Add(90 * time.Minute)
	got := costOf(t, p, "f")
	wantMB(t, "total", got.Total, 100*90*60, 0, 0)
	hour := got.LastHour.WarmMBSeconds
	// The window is the current minute and the 59 before it: 59 to 60 minutes long.
	if hour < 100*59*60-1e-6 || hour > 100*60*60+1e-6 {
		t.Fatalf("last hour warm %.0f MB-s, want between 59 and 60 minutes of 100 MB", hour)
	}
	if want := c.Now().Add(-time.Hour); got.LastHour.From.Before(want) || got.LastHour.From.After(want.Add(time.Minute)) {
		t.Fatalf("last hour from %v, want within a minute after %v", got.LastHour.From, want)
	}
	if got.LastHour.Calls != 0 || got.Total.Calls != 1 {
		t.Fatalf("calls: last hour %d, total %d; want 0 and 1", got.LastHour.Calls, got.Total.Calls)
	}
	// Counting resumes from the flush: another reading 10 minutes on adds 10 minutes.
	c.Add(10 * time.Minute)
	wantMB(t, "total later", costOf(t, p, "f").Total, 100*100*60, 0, 0)
}

// A stopped instance stops counting; a removed function's accounts go with it, and a deploy
// under the same name counts from zero. Entries "NAME@N" count as NAME.
func TestCostStopsWithTheInstanceAndTheFunction(t *testing.T) {
	n := &fakeNode{}
	p, c := newTestPool(t, n)
	spec := api.FunctionSpec{MemoryMB: 10, IdleTimeout: api.Duration(5 * time.Second)}
	p.Apply(fn("f", 1, spec))
	p.Apply(fn("f@1", 1, spec))
	acquire(t, p, "f").Release(OutcomeOK)
	acquire(t, p, "f@1").Release(OutcomeOK)
	c.Add(5 * time.Second)
	p.Reap() // no pause on this node: both stop
	waitFor(t, "both instances to stop", func() bool { _, s := n.counts(); return s == 2 })
	c.Add(time.Hour)
	got := costOf(t, p, "f").Total
	wantMB(t, "after stop", got, 2*10*5, 0, 0)
	if got.Calls != 2 || got.ColdStartsNew != 2 {
		t.Fatalf("counts %+v, want both entries' calls", got)
	}
	if _, ok := p.Costs()["f@1"]; ok {
		t.Fatalf("Costs lists an entry besides its function")
	}
	p.Remove("f")
	p.Remove("f@1")
	if _, ok := p.Cost("f"); ok {
		t.Fatalf("cost of a removed function")
	}
	p.Apply(fn("f", 2, spec))
	if got := costOf(t, p, "f").Total; got.Calls != 0 || got.WarmMBSeconds != 0 || !got.From.Equal(c.Now()) {
		t.Fatalf("redeployed function's cost %+v, want zero from now", got)
	}
}

// The call path's accounting allocates nothing.
func TestCostTakeReleaseDoNotAllocate(t *testing.T) {
	l := &ledger{}
	in := &inst{res: instance.Resources{MemoryMB: 128}, acct: costMark{kind: costWarm, led: l}}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	allocs := testing.AllocsPerRun(100, func() {
		now = now.Add(time.Second)
		costTakeLocked(in, Warm, now)
		in.inFlight++
		in.inFlight--
		costReleaseLocked(in, now)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per call", allocs)
	}
}
