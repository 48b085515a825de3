package pool

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/keepalive"
)

func (pl idlePlan) acts() bool {
	return len(pl.pause)+len(pl.stop)+len(pl.resume)+pl.start > 0
}

// checkDue asserts what makes a due time right: at it the plan acts, a moment before it does
// not (nor at any instant from now to then); a zero due means the plan never acts.
func checkDue(t *testing.T, name string, now time.Time, d idleDue, plan func(time.Time) idlePlan) {
	t.Helper()
	switch {
	case d.at.IsZero():
		for _, later := range []time.Duration{0, time.Second, time.Minute, time.Hour, 48 * time.Hour} {
			if pl := plan(now.Add(later)); pl.acts() {
				t.Fatalf("%s: due never, but the plan acts %s from now: %+v", name, later, pl)
			}
		}
	case !d.at.After(now):
		if pl := plan(now); !pl.acts() {
			t.Fatalf("%s: due now, but the plan does nothing now", name)
		}
	default:
		if pl := plan(d.at); !pl.acts() {
			t.Fatalf("%s: due in %s, but the plan does nothing then", name, d.at.Sub(now))
		}
		for _, at := range []time.Time{d.at.Add(-time.Nanosecond), now, now.Add(d.at.Sub(now) / 2)} {
			if pl := plan(at); pl.acts() {
				t.Fatalf("%s: due in %s, but the plan acts %s from now: %+v", name, d.at.Sub(now), at.Sub(now), pl)
			}
		}
	}
}

func TestDueIdle(t *testing.T) {
	spec := api.FunctionSpec{IdleTimeout: api.Duration(30 * time.Second), PauseTimeout: api.Duration(5 * time.Minute)}.WithDefaults()
	withMin := func(n int) api.FunctionSpec { s := spec; s.MinInstances = n; return s }
	ready := func(id string, idle time.Duration) view {
		return view{id: id, state: stateReady, current: true, lastUsed: ago(idle)}
	}
	paused := func(id string, pausedFor time.Duration) view {
		return view{id: id, state: statePaused, current: true, lastUsed: ago(pausedFor + time.Minute), pausedAt: ago(pausedFor)}
	}
	tests := []struct {
		name string
		spec api.FunctionSpec
		ins  []view
		in   time.Duration // from t0; -1: never
	}{
		{name: "no instance", spec: spec, in: -1},
		{name: "ready pauses at idle_timeout", spec: spec, ins: []view{ready("a", 10*time.Second)}, in: 20 * time.Second},
		{name: "the least recently used goes first", spec: spec,
			ins: []view{ready("a", 10*time.Second), ready("b", 25*time.Second)}, in: 5 * time.Second},
		{name: "idle already: now", spec: spec, ins: []view{ready("a", time.Minute)}, in: 0},
		{name: "busy is never idle", spec: spec,
			ins: []view{{id: "a", state: stateReady, current: true, inFlight: 1, lastUsed: ago(time.Hour)}}, in: -1},
		{name: "min_instances keeps the only one", spec: withMin(1), ins: []view{ready("a", time.Hour)}, in: -1},
		{name: "min_instances unmet: now", spec: withMin(2), ins: []view{ready("a", time.Second)}, in: 0},
		{name: "paused stops at pause_timeout", spec: spec, ins: []view{paused("a", time.Minute)}, in: 4 * time.Minute},
		{name: "the earlier of pause and stop", spec: spec,
			ins: []view{paused("a", 4*time.Minute+50*time.Second), ready("b", 5*time.Second)}, in: 10 * time.Second},
		{name: "starting and pausing wait for their settling", spec: spec,
			ins: []view{{id: "a", state: stateStarting, current: true}, {id: "b", state: statePausing, current: true}}, in: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := dueIdle(t0, tt.spec, tt.ins)
			switch {
			case tt.in < 0 && !d.at.IsZero():
				t.Fatalf("due in %s, want never", d.at.Sub(t0))
			case tt.in >= 0 && !d.at.Equal(t0.Add(tt.in)):
				t.Fatalf("due at %v, want in %s", d.at, tt.in)
			}
			checkDue(t, tt.name, t0, d, func(at time.Time) idlePlan { return planIdle(at, tt.spec, true, tt.ins) })
		})
	}
}

// randomViews makes up to five instances in any state, used and paused at random in the last
// ten minutes.
func randomViews(r *rand.Rand) []view {
	states := []state{stateStarting, stateReady, statePausing, statePaused, stateResuming, stateDraining}
	var ins []view
	for i := range r.IntN(6) {
		v := view{id: fmt.Sprint(i), state: states[r.IntN(len(states))], current: r.IntN(5) > 0,
			lastUsed: ago(time.Duration(r.IntN(600)) * time.Second)}
		if v.state == stateReady && r.IntN(4) == 0 {
			v.inFlight = 1
		}
		if v.state == statePaused {
			v.pausedAt = v.lastUsed.Add(time.Duration(r.IntN(30)) * time.Second)
		}
		ins = append(ins, v)
	}
	return ins
}

func randomSpec(r *rand.Rand) api.FunctionSpec {
	return api.FunctionSpec{IdleTimeout: api.Duration(time.Duration(1+r.IntN(120)) * time.Second),
		PauseTimeout: api.Duration(time.Duration(1+r.IntN(600)) * time.Second), MinInstances: r.IntN(3)}.WithDefaults()
}

// TestDueIdleMatchesPlanIdle checks dueIdle against planIdle on many made-up functions.
func TestDueIdleMatchesPlanIdle(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 5000 {
		s, ins := randomSpec(r), randomViews(r)
		checkDue(t, fmt.Sprintf("case %d: %+v %+v", i, s, ins), t0, dueIdle(t0, s, ins),
			func(at time.Time) idlePlan { return planIdle(at, s, true, ins) })
	}
}

// TestDueLearnedMatchesPlanLearned checks dueLearned against planLearned the same way, with
// windows that open before or after now, and close before or after the configured timeouts.
func TestDueLearnedMatchesPlanLearned(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 5000 {
		s, ins := randomSpec(r), randomViews(r)
		s.MinInstances = 0 // the learned windows govern functions that scale to zero only
		if r.IntN(2) == 0 && len(ins) > 1 {
			ins = ins[:1]
		}
		idleSince := ago(time.Duration(r.IntN(900)) * time.Second)
		w := keepalive.Windows{PreWarm: time.Duration(r.IntN(600)) * time.Second}
		w.KeepAlive = w.PreWarm + time.Duration(r.IntN(1200))*time.Second
		checkDue(t, fmt.Sprintf("case %d: %+v %+v since %v %+v", i, s, ins, t0.Sub(idleSince), w), t0,
			dueLearned(t0, s, w, idleSince, ins),
			func(at time.Time) idlePlan { return planLearned(at, s, w, idleSince, ins) })
	}
}

// TestReapVisitsOnlyWhatIsDue: with a thousand idle functions, a tick visits none of them; a
// call's end brings its function to the next tick alone; every function is still visited
// within the safety net, spread over its last quarter rather than on one tick.
func TestReapVisitsOnlyWhatIsDue(t *testing.T) {
	n := &fakeNode{canPause: true}
	p, c := newTestPool(t, n)
	spec := api.FunctionSpec{IdleTimeout: api.Duration(10 * time.Second), PauseTimeout: api.Duration(30 * time.Second)}
	for i := range 1000 {
		p.Apply(fn(fmt.Sprintf("f%04d", i), 1, spec))
	}
	dueBy := func(at time.Time) int {
		p.mu.Lock()
		defer p.mu.Unlock()
		n := 0
		for _, f := range p.due {
			if !f.due.After(at) {
				n++
			}
		}
		return n
	}
	if got := dueBy(c.Now().Add(dueSafetyNet * 3 / 4)); got != 0 {
		t.Fatalf("%d functions due within three quarters of the safety net, want none", got)
	}
	if got := dueBy(c.Now().Add(dueSafetyNet)); got != 1000 {
		t.Fatalf("%d functions due within the safety net, want all 1000", got)
	}
	if got := dueBy(c.Now().Add(dueSafetyNet * 7 / 8)); got < 200 || got > 800 {
		t.Fatalf("%d of 1000 functions due within 7/8 of the safety net: not spread over its last quarter", got)
	}

	l := acquire(t, p, "f0042")
	l.Release(OutcomeOK)
	waitState(t, p, "f0042", "ready")
	if got := dueBy(c.Now()); got != 1 {
		t.Fatalf("%d functions due after one call ended, want its own", got)
	}
	p.Reap()
	p.mu.Lock()
	due := p.fns["f0042"].due.Sub(c.Now())
	p.mu.Unlock()
	if due != 10*time.Second {
		t.Fatalf("the called function's upkeep is due in %s, want its idle_timeout", due)
	}
	c.Add(10 * time.Second)
	p.Reap()
	waitState(t, p, "f0042", "paused")
	p.Reap() // the pause's settling woke it
	p.mu.Lock()
	due = p.fns["f0042"].due.Sub(c.Now())
	p.mu.Unlock()
	if due != 30*time.Second {
		t.Fatalf("the paused instance's upkeep is due in %s, want its pause_timeout", due)
	}
}

// TestReapKeepsTheIdlePolicy: the policy's timings are kept with upkeep only when due: paused
// at idle_timeout, stopped at pause_timeout, a moment before neither.
func TestReapKeepsTheIdlePolicy(t *testing.T) {
	n := &fakeNode{canPause: true}
	p, c := newTestPool(t, n)
	p.Apply(fn("f", 1, api.FunctionSpec{IdleTimeout: api.Duration(10 * time.Second), PauseTimeout: api.Duration(time.Minute)}))
	acquire(t, p, "f").Release(OutcomeOK)
	p.Reap()
	c.Add(10*time.Second - time.Millisecond)
	p.Reap()
	if got := join(states(t, p, "f")); got != "ready" {
		t.Fatalf("%s a moment before idle_timeout, want ready", got)
	}
	c.Add(time.Millisecond)
	p.Reap()
	waitState(t, p, "f", "paused")
	c.Add(time.Minute - time.Millisecond)
	p.Reap()
	if got := join(states(t, p, "f")); got != "paused" {
		t.Fatalf("%s a moment before pause_timeout, want paused", got)
	}
	c.Add(time.Millisecond)
	p.Reap()
	waitFor(t, "the paused instance to stop", func() bool { st, _ := p.Status("f"); return len(st.Instances) == 0 })
}
