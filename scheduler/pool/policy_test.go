package pool

import (
	"reflect"
	"testing"
	"time"

	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/api"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// ago returns the time d before t0.
func ago(d time.Duration) time.Time { return t0.Add(-d) }

func TestPlanIdle(t *testing.T) {
	spec := api.FunctionSpec{IdleTimeout: api.Duration(30 * time.Second), PauseTimeout: api.Duration(5 * time.Minute)}.WithDefaults()
	withMin := func(n int) api.FunctionSpec { s := spec; s.MinInstances = n; return s }
	ready := func(id string, idle time.Duration) view {
		return view{id: id, state: stateReady, current: true, lastUsed: ago(idle)}
	}
	paused := func(id string, used, pausedFor time.Duration) view {
		return view{id: id, state: statePaused, current: true, lastUsed: ago(used), pausedAt: ago(pausedFor)}
	}
	tests := []struct {
		name     string
		spec     api.FunctionSpec
		canPause bool
		ins      []view
		want     idlePlan
	}{
		{name: "nothing idle yet", spec: spec, canPause: true,
			ins: []view{ready("a", 29*time.Second)}},
		{name: "idle past idle_timeout is paused", spec: spec, canPause: true,
			ins: []view{ready("a", 30*time.Second)}, want: idlePlan{pause: []string{"a"}}},
		{name: "driver without pause stops at idle_timeout", spec: spec, canPause: false,
			ins: []view{ready("a", time.Minute)}, want: idlePlan{stop: []string{"a"}}},
		{name: "busy instance is never idle", spec: spec, canPause: true,
			ins: []view{{id: "a", state: stateReady, current: true, inFlight: 1, lastUsed: ago(time.Hour)}}},
		{name: "min_instances keeps the most recently used warm", spec: withMin(1), canPause: true,
			ins: []view{ready("old", time.Hour), ready("new", time.Minute)}, want: idlePlan{pause: []string{"old"}}},
		{name: "paused past pause_timeout is stopped", spec: spec, canPause: true,
			ins:  []view{paused("a", 10*time.Minute, 5*time.Minute), paused("b", 10*time.Minute, 4*time.Minute)},
			want: idlePlan{stop: []string{"a"}}},
		{name: "min_instances resumes paused before starting", spec: withMin(2), canPause: true,
			ins: []view{paused("a", time.Hour, time.Minute)}, want: idlePlan{resume: []string{"a"}, start: 1}},
		{name: "starting instances count toward min", spec: withMin(1), canPause: true,
			ins: []view{{id: "a", state: stateStarting, current: true}}},
		{name: "draining and old versions are not counted", spec: withMin(1), canPause: true,
			ins:  []view{{id: "a", state: stateDraining, current: true}, {id: "b", state: stateReady, lastUsed: ago(time.Hour)}},
			want: idlePlan{start: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := planIdle(t0, tt.spec, tt.canPause, tt.ins)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("planIdle = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestPlanDemand(t *testing.T) {
	spec := func(conc, max int) api.FunctionSpec {
		return api.FunctionSpec{Concurrency: conc, MaxInstances: max}.WithDefaults()
	}
	st := func(id string, s state, used time.Duration) view {
		return view{id: id, state: s, current: true, lastUsed: ago(used)}
	}
	tests := []struct {
		name       string
		spec       api.FunctionSpec
		waiting    int
		ins        []view
		wantResume []string
		wantStart  int
	}{
		{name: "first call starts one", spec: spec(1, 10), waiting: 1, wantStart: 1},
		{name: "one start per concurrency waiters", spec: spec(4, 10), waiting: 9, wantStart: 3},
		{name: "a start under way serves the waiter", spec: spec(1, 10), waiting: 1,
			ins: []view{st("a", stateStarting, 0)}},
		{name: "paused is resumed before starting, newest first", spec: spec(1, 10), waiting: 2,
			ins:        []view{st("old", statePaused, time.Hour), st("new", statePaused, time.Minute)},
			wantResume: []string{"new", "old"}},
		{name: "resume then start the rest", spec: spec(1, 10), waiting: 3,
			ins: []view{st("p", statePaused, time.Minute)}, wantResume: []string{"p"}, wantStart: 2},
		{name: "max_instances caps starts; busy ones count", spec: spec(1, 3), waiting: 5,
			ins: []view{st("busy", stateReady, 0)}, wantStart: 2},
		{name: "at max: wait for a slot", spec: spec(1, 1), waiting: 4, ins: []view{st("busy", stateReady, 0)}},
		{name: "draining ones do not count against max", spec: spec(1, 1), waiting: 1,
			ins: []view{st("old", stateDraining, 0)}, wantStart: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resume, start := planDemand(tt.spec, tt.waiting, tt.ins)
			if !reflect.DeepEqual(resume, tt.wantResume) || start != tt.wantStart {
				t.Fatalf("planDemand = resume %v start %d, want resume %v start %d", resume, start, tt.wantResume, tt.wantStart)
			}
		})
	}
}

func TestPlanEvict(t *testing.T) {
	mb := func(n int64) instance.Resources { return instance.Resources{MemoryMB: n} }
	c := func(id string, paused bool, used time.Duration, mem int64) candidate {
		return candidate{function: "f", id: id, paused: paused, lastUsed: ago(used), res: mb(mem)}
	}
	ids := func(cs []candidate) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.id)
		}
		return out
	}
	cands := []candidate{c("ready-old", false, time.Hour, 128), c("paused-new", true, time.Minute, 128),
		c("paused-old", true, time.Hour, 128), c("ready-new", false, time.Second, 128)}
	tests := []struct {
		name  string
		short instance.Resources
		want  []string
	}{
		{name: "paused first, least recently used first", short: mb(100), want: []string{"paused-old"}},
		{name: "then idle ready ones", short: mb(300), want: []string{"paused-old", "paused-new", "ready-old"}},
		{name: "not enough in all: evict nothing", short: mb(1000), want: nil},
		{name: "nothing short", short: mb(0), want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ids(planEvict(tt.short, cands)); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("planEvict = %v, want %v", got, tt.want)
			}
		})
	}
}
