package daemon

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/agent/remote"
)

func TestDiffInstances(t *testing.T) {
	run := seen{function: "f", state: instance.StateRunning}
	paused := seen{function: "f", state: instance.StatePaused}
	exited := seen{function: "f", state: instance.StateExited, exitCode: 1, reason: "Error"}
	oom := seen{function: "f", state: instance.StateExited, exitCode: 137, oomKilled: true, reason: "OOMKilled"}
	for _, tc := range []struct {
		name      string
		prev, cur map[string]seen
		expected  map[string]instance.State
		events    []remote.Event
		met       []string
	}{
		{name: "nothing changed", prev: map[string]seen{"a": run}, cur: map[string]seen{"a": run}},
		{name: "a new instance is the server's own start", prev: map[string]seen{}, cur: map[string]seen{"a": run}},
		{name: "a new instance that already died", prev: map[string]seen{}, cur: map[string]seen{"a": exited},
			events: []remote.Event{{InstanceID: "a", Function: "f", State: instance.StateExited, ExitCode: 1, Reason: "Error"}}},
		{name: "crash", prev: map[string]seen{"a": run}, cur: map[string]seen{"a": oom},
			events: []remote.Event{{InstanceID: "a", Function: "f", State: instance.StateExited, ExitCode: 137, OOMKilled: true, Reason: "OOMKilled"}}},
		{name: "gone", prev: map[string]seen{"a": paused}, cur: map[string]seen{},
			events: []remote.Event{{InstanceID: "a", Function: "f", State: instance.StateExited, Reason: remote.ReasonGone, Gone: true}}},
		{name: "a start the server asked for", prev: map[string]seen{}, cur: map[string]seen{"a": run},
			expected: map[string]instance.State{"a": instance.StateRunning}, met: []string{"a"}},
		{name: "a pause the server asked for", prev: map[string]seen{"a": run}, cur: map[string]seen{"a": paused},
			expected: map[string]instance.State{"a": instance.StatePaused}, met: []string{"a"}},
		{name: "a stop the server asked for", prev: map[string]seen{"a": run}, cur: map[string]seen{},
			expected: map[string]instance.State{"a": expectGone}, met: []string{"a"}},
		{name: "a crash while the server expected a pause", prev: map[string]seen{"a": run}, cur: map[string]seen{"a": exited},
			expected: map[string]instance.State{"a": instance.StatePaused},
			events:   []remote.Event{{InstanceID: "a", Function: "f", State: instance.StateExited, ExitCode: 1, Reason: "Error"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			events, met := diffInstances(tc.prev, tc.cur, tc.expected)
			sort.Slice(events, func(i, j int) bool { return events[i].InstanceID < events[j].InstanceID })
			slices.Sort(met)
			if !reflect.DeepEqual(events, tc.events) || !reflect.DeepEqual(met, tc.met) {
				t.Errorf("got events %+v, met %v; want %+v, %v", events, met, tc.events, tc.met)
			}
		})
	}
}

func TestExpectationsExpire(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	x := newExpectations()
	x.now = func() time.Time { return now }
	x.expect("a", expectGone)
	if got := x.snapshot(); got["a"] != expectGone {
		t.Fatalf("snapshot %v", got)
	}
	now = now.Add(expectationTTL + time.Second)
	if got := x.snapshot(); len(got) != 0 {
		t.Fatalf("a stale expectation stayed: %v", got)
	}
}

func TestExpectationsSettleEvents(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	ev := func(state instance.State, gone bool) instance.Event {
		return instance.Event{InstanceID: "a", Function: "f", State: state, Gone: gone}
	}
	running, paused, exited, gone := ev(instance.StateRunning, false), ev(instance.StatePaused, false),
		ev(instance.StateExited, false), ev(instance.StateExited, true)
	for _, tc := range []struct {
		name   string
		expect instance.State   // "" for none
		then   []instance.State // expected after it, before any event
		age    time.Duration
		events []instance.Event
		want   []bool // settle's answer per event
	}{
		{name: "nothing expected", events: []instance.Event{paused, exited, gone}, want: []bool{false, false, false}},
		{name: "a start", expect: instance.StateRunning, events: []instance.Event{running, running}, want: []bool{true, false}},
		{name: "a pause, then one behind the server's back", expect: instance.StatePaused,
			events: []instance.Event{paused, running, paused}, want: []bool{true, false, false}},
		{name: "a crash while a pause was expected", expect: instance.StatePaused,
			events: []instance.Event{exited, paused}, want: []bool{false, true}},
		{name: "a stop: thaw, exit, removal", expect: expectGone,
			events: []instance.Event{running, exited, gone, exited}, want: []bool{true, true, true, false}},
		{name: "a start, a pause and a resume before the start's event", expect: instance.StateRunning,
			then:   []instance.State{instance.StatePaused, instance.StateRunning},
			events: []instance.Event{running, paused, running, paused}, want: []bool{true, true, true, false}},
		{name: "a pause that made no event (the freezer), then a stop", expect: instance.StatePaused,
			then:   []instance.State{expectGone},
			events: []instance.Event{exited, gone, paused}, want: []bool{true, true, false}},
		{name: "a stale expectation", expect: instance.StatePaused, age: expectationTTL + time.Second,
			events: []instance.Event{paused}, want: []bool{false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := newExpectations()
			at := now
			x.now = func() time.Time { return at }
			if tc.expect != "" {
				x.expect("a", tc.expect)
			}
			for _, st := range tc.then {
				x.expect("a", st)
			}
			at = at.Add(tc.age)
			for i, e := range tc.events {
				if got := x.settle(e); got != tc.want[i] {
					t.Errorf("event %d (%+v): settle = %v, want %v", i, e, got, tc.want[i])
				}
			}
		})
	}
}

func TestExpectationsSweptWithoutSnapshots(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	x := newExpectations()
	x.now = func() time.Time { return now }
	for i := range 100 {
		x.expect(fmt.Sprint("old", i), instance.StatePaused) // pauses through the freezer: no event meets them
	}
	now = now.Add(expectationTTL + time.Second)
	x.expect("new", instance.StatePaused)
	if len(x.m) != 1 {
		t.Errorf("%d expectations kept, want only the fresh one", len(x.m))
	}
}
