package stats_test

import (
	"cmp"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/pool"
	"github.com/hearthfn/hearth/scheduler/stats"
)

func TestOverviewFigures(t *testing.T) {
	p := &fakePool{}
	c, clk := newCollector(t, stats.Config{Pool: p})
	c.SetFunction(api.Function{Name: "hello", Version: api.Version{Number: 3, Spec: api.FunctionSpec{Runtime: "python", Public: true}}})
	c.SetFunction(function("beta", 1))
	clk.Set(base.Add(5 * time.Second))
	// hello: 10 calls in the last five minutes, 2 failed; 4 cold starts in the last hour, one
	// of them in the five minutes; older calls count for nothing but cold starts.
	for i := range 10 {
		cl := call("hello", base.Add(-time.Duration(i)*25*time.Second), float64(i+1))
		if i < 2 {
			cl = failed(cl, api.CallFailed, 500)
		}
		if i == 3 {
			cl = cold(cl, "new")
		}
		c.Observe(cl)
	}
	c.Observe(cold(call("hello", base.Add(-30*time.Minute), 1), "resumed"))
	c.Observe(cold(call("hello", base.Add(-59*time.Minute), 1), "new"))
	c.Observe(cold(call("hello", base.Add(-59*time.Minute), 1), "new"))
	c.Observe(cold(call("hello", base.Add(-61*time.Minute), 1), "new")) // over an hour ago
	c.Observe(failed(call("hello", base.Add(-6*time.Minute), 1), api.CallFailed, 500))
	p.fns = []pool.FunctionStats{
		{Function: "alpha", Instances: map[string]int{"ready": 9}}, // not a known function
		{Function: "hello", Instances: map[string]int{"ready": 1, "busy": 2, "paused": 3, "pausing": 1, "starting": 1, "resuming": 1, "draining": 4}},
	}

	o := overview(t, c, stats.Scope{Calls: true})
	if names := functionNames(o); !slices.Equal(names, []string{"beta", "hello"}) {
		t.Fatalf("functions %v, want beta and hello, sorted", names)
	}
	want := stats.FunctionSummary{Name: "hello", Version: 3, Runtime: "python", Public: true, State: stats.StateReady,
		CallsPerMin: 2, ErrorRate: 0.2, P50MS: 5.579, P99MS: 10.69,
		Instances:    stats.InstanceCounts{Ready: 1, Busy: 2, Paused: 4, Starting: 2},
		ColdStarts1h: 4}
	if got := summaryOf(t, o, "hello"); got != want {
		t.Errorf("hello:\n got %+v\nwant %+v", got, want)
	}
	if got := summaryOf(t, o, "beta"); got != (stats.FunctionSummary{Name: "beta", Version: 1, Runtime: "go", State: stats.StateIdle}) {
		t.Errorf("beta, never called: %+v", got)
	}
	if !o.GeneratedAt.Equal(base.Add(5*time.Second)) || o.Nodes != nil || len(o.RecentFailures) != 3 {
		t.Errorf("generated_at %s, nodes %v, %d failures; want %s, none, 3", o.GeneratedAt, o.Nodes, len(o.RecentFailures), base.Add(5*time.Second))
	}

	// Deploying a new version shows it; deleting forgets the function and its figures.
	c.SetFunction(function("hello", 4))
	if got := summaryOf(t, overview(t, c, stats.Scope{}), "hello"); got.Version != 4 || got.CallsPerMin != 2 {
		t.Errorf("after a deploy: version %d, %g calls a minute; want 4 and the same figures", got.Version, got.CallsPerMin)
	}
	c.RemoveFunction("hello")
	c.SetFunction(function("hello", 1))
	if got := summaryOf(t, overview(t, c, stats.Scope{}), "hello"); got.CallsPerMin != 0 || got.ColdStarts1h != 0 {
		t.Errorf("deployed again after a delete: %+v, want no figures", got)
	}
}

func TestOverviewStates(t *testing.T) {
	for _, tc := range []struct {
		name      string
		instances map[string]int
		calls     int
		failed    int
		want      string
	}{
		{"no instances", nil, 0, 0, stats.StateIdle},
		{"draining only", map[string]int{"draining": 1}, 0, 0, stats.StateIdle},
		{"starting", map[string]int{"starting": 1}, 0, 0, stats.StateStarting},
		{"resuming", map[string]int{"resuming": 1, "paused": 1}, 0, 0, stats.StateStarting},
		{"starting beside a ready one", map[string]int{"starting": 1, "ready": 1}, 0, 0, stats.StateReady},
		{"paused", map[string]int{"paused": 2}, 0, 0, stats.StateReady},
		{"busy", map[string]int{"busy": 1}, 3, 0, stats.StateReady},
		{"half of 6 calls failed", map[string]int{"ready": 1}, 6, 3, stats.StateFailing},
		{"4 of 4 calls failed: too few", map[string]int{"ready": 1}, 4, 4, stats.StateReady},
		{"2 of 5 calls failed", map[string]int{"ready": 1}, 5, 2, stats.StateReady},
		{"failing with no instance (backing off)", nil, 5, 5, stats.StateFailing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &fakePool{fns: []pool.FunctionStats{{Function: "f", Instances: tc.instances}}}
			c, _ := newCollector(t, stats.Config{Pool: p}, "f")
			for i := range tc.calls {
				cl := call("f", base.Add(-time.Duration(i)*time.Second), 1)
				if i < tc.failed {
					cl = failed(cl, api.CallError, 503)
				}
				c.Observe(cl)
			}
			if got := summaryOf(t, overview(t, c, stats.Scope{}), "f").State; got != tc.want {
				t.Errorf("state %q, want %q", got, tc.want)
			}
		})
	}
}

func TestOverviewScope(t *testing.T) {
	nodes := &fakeNodes{}
	nodes.set("n1", "n2")
	c, _ := newCollector(t, stats.Config{Nodes: nodes}, "a", "b", "c")
	for i, fn := range []string{"a", "b", "c", "b"} {
		c.Observe(failed(call(fn, base.Add(-time.Duration(10-i)*time.Second), 1), api.CallFailed, 500))
	}
	onlyB := func(name string) bool { return name == "b" }

	all := overview(t, c, stats.Scope{Nodes: true, Calls: true})
	if got := functionNames(all); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("unscoped: functions %v", got)
	}
	if got := callFunctions(all.RecentFailures); !slices.Equal(got, []string{"b", "c", "b", "a"}) {
		t.Errorf("unscoped: failures of %v, want b c b a (newest first)", got)
	}
	if len(all.Nodes) != 2 {
		t.Errorf("unscoped: %d nodes, want 2", len(all.Nodes))
	}

	scoped := overview(t, c, stats.Scope{Function: onlyB, Calls: true})
	if got := functionNames(scoped); !slices.Equal(got, []string{"b"}) {
		t.Errorf("scoped to b: functions %v", got)
	}
	if got := callFunctions(scoped.RecentFailures); !slices.Equal(got, []string{"b", "b"}) {
		t.Errorf("scoped to b: failures of %v, want b b", got)
	}
	if scoped.Nodes != nil {
		t.Errorf("a token that may not read nodes got %v", scoped.Nodes)
	}
	if none := overview(t, c, stats.Scope{}); len(none.RecentFailures) != 0 || none.RecentFailures == nil {
		t.Errorf("a token that may not read calls got failures %v (want [], not null)", none.RecentFailures)
	}
}

func TestOverviewRecentFailures(t *testing.T) {
	names := make([]string, 30)
	for i := range names {
		names[i] = fmt.Sprintf("f%02d", i)
	}
	c, _ := newCollector(t, stats.Config{}, names...)
	// 30 failures per function, created in a shuffled order, some at the same time.
	var all []api.Call
	for k := range 30 {
		for i, fn := range names {
			at := base.Add(-time.Hour + time.Duration((k*37+i*11)%900)*time.Second)
			cl := failed(call(fn, at, 1), api.CallTimedOut, 504)
			cl.Result = &api.CallResult{Status: 504, Body: []byte("gone")}
			c.Observe(cl)
			all = append(all, cl)
		}
	}
	slices.SortFunc(all, func(a, b api.Call) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(b.ID, a.ID))
	})
	var want []string
	for _, cl := range all[:20] {
		want = append(want, cl.ID)
	}
	// A late record of an old failure does not push out newer ones.
	c.Observe(failed(call("f00", base.Add(-2*time.Hour), 1), api.CallFailed, 500))
	o := overview(t, c, stats.Scope{Calls: true})
	var got []string
	for _, cl := range o.RecentFailures {
		got = append(got, cl.ID)
		if cl.Result != nil {
			t.Errorf("failure %s listed with its result", cl.ID)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("recent failures:\n got %v\nwant %v", got, want)
	}

	long := failed(call("f00", base, 1), api.CallFailed, 500)
	long.Error = string(make([]byte, 5000))
	c.Observe(long)
	if e := overview(t, c, stats.Scope{Calls: true}).RecentFailures[0].Error; len(e) > 1024+len("…") {
		t.Errorf("a failure's error of 5000 bytes is kept as %d", len(e))
	}
}

func TestOverviewNodesCached(t *testing.T) {
	nodes := &fakeNodes{}
	nodes.set("n1")
	c, clk := newCollector(t, stats.Config{Nodes: nodes, NodesMaxAge: time.Second})
	ctx, cancel := contextWithCancel(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Run(ctx, nil)
	}()
	defer func() { cancel(); <-done }()

	if o := overview(t, c, stats.Scope{Nodes: true}); len(o.Nodes) != 1 || nodes.listings() != 1 {
		t.Fatalf("first overview: %d nodes after %d listings, want 1 after 1", len(o.Nodes), nodes.listings())
	}
	nodes.set("n1", "n2")
	if o := overview(t, c, stats.Scope{Nodes: true}); len(o.Nodes) != 1 || nodes.listings() != 1 {
		t.Errorf("within NodesMaxAge: %d nodes after %d listings, want the cached 1 after 1", len(o.Nodes), nodes.listings())
	}
	clk.Set(base.Add(2 * time.Second))
	if o := overview(t, c, stats.Scope{Nodes: true}); len(o.Nodes) != 1 {
		t.Errorf("a stale list is answered at once: %d nodes, want the cached 1", len(o.Nodes))
	}
	waitFor(t, "Run to list the nodes again", func() bool { return nodes.listings() == 2 })
	if o := overview(t, c, stats.Scope{Nodes: true}); len(o.Nodes) != 2 {
		t.Errorf("after the refresh: %d nodes, want 2", len(o.Nodes))
	}
}

func functionNames(o stats.Overview) []string {
	var out []string
	for _, f := range o.Functions {
		out = append(out, f.Name)
	}
	return out
}

func callFunctions(calls []api.Call) []string {
	var out []string
	for _, c := range calls {
		out = append(out, c.Function)
	}
	return out
}
