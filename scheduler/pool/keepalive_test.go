package pool

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/keepalive"
)

func TestPlanLearned(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := api.FunctionSpec{IdleTimeout: api.Duration(30 * time.Second), PauseTimeout: api.Duration(5 * time.Minute)}
	// A timer every ten minutes: nothing kept until nine, kept to eleven.
	w := keepalive.Windows{PreWarm: 9 * time.Minute, KeepAlive: 11 * time.Minute}
	ready := func(id string, used time.Duration) view {
		return view{id: id, state: stateReady, current: true, lastUsed: t0.Add(used)}
	}
	paused := func(id string) view { return view{id: id, state: statePaused, current: true, lastUsed: t0} }
	tests := []struct {
		name string
		at   time.Duration // since the last call ended, at t0
		ins  []view
		want idlePlan
	}{
		{"before the pre-warm window the instance stops", time.Second, []view{ready("a", 0)}, idlePlan{stop: []string{"a"}}},
		{"nothing to do before the window with none", 5 * time.Minute, nil, idlePlan{}},
		{"pre-warmed in the window", 9 * time.Minute, nil, idlePlan{start: 1}},
		{"kept in the window, paused after idle_timeout", 10 * time.Minute, []view{ready("a", 9*time.Minute)},
			idlePlan{pause: []string{"a"}}},
		{"kept paused in the window", 10 * time.Minute, []view{paused("a")}, idlePlan{}},
		{"stopped past the keep-alive window", 11 * time.Minute, []view{paused("a")}, idlePlan{stop: []string{"a"}}},
		{"more than one instance: the fixed timeouts", time.Minute, []view{ready("a", 0), ready("b", 0)},
			idlePlan{pause: []string{"a", "b"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := planLearned(t0.Add(tt.at), s, w, t0, tt.ins)
			if len(got.pause) == 2 && got.pause[0] > got.pause[1] {
				got.pause[0], got.pause[1] = got.pause[1], got.pause[0]
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("plan = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestPlanLearnedKeepsAtLeastTheConfiguredTimeouts(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := api.FunctionSpec{IdleTimeout: api.Duration(30 * time.Second), PauseTimeout: api.Duration(5 * time.Minute)}
	// A busy function learns a keep-alive of seconds: the configured 5.5 minutes still hold.
	w := keepalive.Windows{KeepAlive: 5 * time.Second}
	in := []view{{id: "a", state: statePaused, current: true, lastUsed: t0}}
	if got := planLearned(t0.Add(5*time.Minute), s, w, t0, in); len(got.stop) != 0 {
		t.Fatalf("stopped at 5 min: %+v", got)
	}
	if got := planLearned(t0.Add(5*time.Minute+30*time.Second), s, w, t0, in); len(got.stop) != 1 {
		t.Fatalf("kept past idle_timeout + pause_timeout: %+v", got)
	}
}

func TestEvictByValue(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	mb := func(n int64) instance.Resources { return instance.Resources{MemoryMB: n} }
	c := func(id string, paused bool, mem int64, next time.Duration) candidate {
		return candidate{function: id, id: id, paused: paused, lastUsed: t0, res: mb(mem), nextIn: next}
	}
	cands := []candidate{
		c("paused-called-soon", true, 256, 5*time.Second),
		c("paused-called-late", true, 256, time.Hour),
		c("ready-called-late-big", false, 512, time.Hour),
	}
	// The most memory waiting longest goes first, paused or not; the one called soon last.
	var got []string
	for _, c := range planEvict(mb(700), cands) {
		got = append(got, c.id)
	}
	if want := []string{"ready-called-late-big", "paused-called-late"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("planEvict = %v, want %v", got, want)
	}
}

func TestPoolLearnsFromCalls(t *testing.T) {
	n := &fakeNode{canPause: true}
	p, c := newTestPool(t, n)
	p.Apply(fn("tick", 1, api.FunctionSpec{}))
	for range 10 {
		acquire(t, p, "tick").Release(OutcomeOK)
		c.Add(10 * time.Minute)
		p.Reap()
	}
	st, ok := p.KeepAlive("tick")
	if !ok || !st.Learned {
		t.Fatalf("keep-alive %+v, want learned", st)
	}
	if st.PreWarm <= 0 || st.PreWarm >= 10*time.Minute || st.KeepAlive <= 10*time.Minute {
		t.Fatalf("windows %+v, want a pre-warm before 10 min and a keep-alive past it", st)
	}
}

// TestReplayLearnedBeatsFixedOnATimer replays a timer every ten minutes through the real pool:
// the fixed timeouts (5.5 minutes in all) start an instance for every call; the learned policy
// pre-warms one before each call once it has learned the period, and holds memory less long.
func TestReplayLearnedBeatsFixedOnATimer(t *testing.T) {
	fns := []SimFunction{{Name: "timer", MemoryMB: 128}}
	var calls []SimCall
	for i := range 30 {
		calls = append(calls, SimCall{Function: "timer", At: time.Duration(i)*10*time.Minute + time.Duration(i%3)*time.Second,
			Duration: 200 * time.Millisecond})
	}
	base := SimPolicy{IdleTimeout: 30 * time.Second, PauseTimeout: 5 * time.Minute}
	fixed, err := Replay(context.Background(), base, fns, calls)
	if err != nil {
		t.Fatal(err)
	}
	base.Learned = true
	learned, err := Replay(context.Background(), base, fns, calls)
	if err != nil {
		t.Fatal(err)
	}
	if fixed.ColdNew != len(calls) {
		t.Errorf("fixed: %d cold starts of %d calls, want every one", fixed.ColdNew, len(calls))
	}
	// The first call, and those before eight idle times are learned, are cold.
	if learned.ColdNew > 10 {
		t.Errorf("learned: %d cold starts, want at most 10", learned.ColdNew)
	}
	if learned.IdleMBSeconds > fixed.IdleMBSeconds {
		t.Errorf("learned held %.0f MB-s idle, more than fixed's %.0f", learned.IdleMBSeconds, fixed.IdleMBSeconds)
	}
	t.Logf("fixed %+v; learned %+v", fixed, learned)
}
