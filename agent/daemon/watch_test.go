package daemon

import (
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
			events: []remote.Event{{InstanceID: "a", Function: "f", State: instance.StateExited, Reason: remote.ReasonGone}}},
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
