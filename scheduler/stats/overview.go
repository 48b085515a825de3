package stats

import (
	"context"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/pool"
)

// The overview's windows, and when a function is failing.
const (
	rateWindow   = 5 * time.Minute // calls_per_min, error_rate, p50, p99
	coldWindow   = time.Hour       // cold_starts_1h
	failingCalls = 5               // the fewest calls in rateWindow that can make a function failing
	failingRate  = 0.5
)

// Scope is what the overview may show to the token asking.
type Scope struct {
	// Function reports whether a function may be shown (with its failures); nil shows all.
	Function func(name string) bool
	// Nodes and Calls say whether the nodes and the recent failures may be shown.
	Nodes, Calls bool
}

func (s Scope) covers(name string) bool { return s.Function == nil || s.Function(name) }

// Overview returns every known function in scope, sorted by name, with its figures and
// instances, the nodes and the newest failures in scope. It reads memory only, but for the
// first node list (later ones are fetched by Run when the list is older than NodesMaxAge).
func (c *Collector) Overview(ctx context.Context, scope Scope) (Overview, error) {
	now := c.cfg.Now()
	known := c.sortedKnown()

	var ps []pool.FunctionStats
	if c.cfg.Pool != nil {
		ps = c.cfg.Pool.Stats().Functions // sorted by name, as known is
	}
	o := Overview{GeneratedAt: now.UTC(), Functions: []FunctionSummary{}, RecentFailures: []api.Call{}}
	if scope.Function == nil {
		o.Functions = make([]FunctionSummary, 0, len(known))
	}
	var failing []*function // functions in scope that have failures
	nowMin, nowFine := floorDiv(now.Unix(), minuteWidth), floorDiv(now.Unix(), fineWidth)
	j := 0
	for _, f := range known {
		if !scope.covers(f.name) {
			continue
		}
		for j < len(ps) && ps[j].Function < f.name {
			j++
		}
		var in InstanceCounts
		if j < len(ps) && ps[j].Function == f.name {
			in = instanceCounts(ps[j].Instances)
		}
		f.mu.Lock()
		fs, bad := f.summary(nowMin, nowFine)
		if len(f.failures) > 0 {
			failing = append(failing, f)
		}
		f.mu.Unlock()
		fs.Instances = in
		fs.State = state(bad, in)
		o.Functions = append(o.Functions, fs)
	}
	if scope.Calls {
		o.RecentFailures = recentFailures(failing)
	}
	if scope.Nodes {
		o.Nodes = c.nodeList(ctx, now)
	}
	return o, nil
}

// summary is f's figures with now's periods, and whether they make it failing; the caller
// holds f.mu.
func (f *function) summary(nowMin, nowFine int64) (FunctionSummary, bool) {
	fs := FunctionSummary{Name: f.name, Version: f.meta.version, Runtime: f.meta.runtime, Public: f.meta.public}
	var rate, cold sum
	// The window ends with the period in progress.
	f.fine.sum(&rate, nowFine-int64(rateWindow/time.Second)/fineWidth+1, nowFine+1)
	f.minutes.each(nowMin-int64(coldWindow/time.Minute)+1, nowMin+1, func(s *slot) {
		cold.coldNew += uint64(s.coldNew)
		cold.coldResumed += uint64(s.coldResumed)
	})
	fs.ColdStarts1h = cold.coldNew + cold.coldResumed
	fs.CallsPerMin = round(float64(rate.calls)/rateWindow.Minutes(), 2)
	if rate.calls > 0 {
		fs.ErrorRate = round(float64(rate.errors)/float64(rate.calls), 4)
	}
	fs.P50MS, fs.P99MS = rate.quantile(0.50), rate.quantile(0.99)
	return fs, rate.calls >= failingCalls && float64(rate.errors) >= failingRate*float64(rate.calls)
}

// instanceCounts folds the pool's states into the overview's four.
func instanceCounts(by map[string]int) InstanceCounts {
	return InstanceCounts{Ready: by["ready"], Busy: by["busy"], Paused: by["paused"] + by["pausing"],
		Starting: by["starting"] + by["resuming"]}
}

// state is a function's state: failing when at least half of its calls of the last five
// minutes failed (five calls at least), else starting when instances are on their way and none
// is ready or busy, else ready when any is ready, busy or paused, else idle.
func state(failing bool, in InstanceCounts) string {
	switch {
	case failing:
		return StateFailing
	case in.Starting > 0 && in.Ready+in.Busy == 0:
		return StateStarting
	case in.Ready+in.Busy+in.Paused > 0:
		return StateReady
	}
	return StateIdle
}

// recentFailures merges the newest maxFailures failures of fns, newest first. The newest
// maxFailures failures overall belong to at most as many functions, those whose own newest
// failures are the newest, so only those are read.
func recentFailures(fns []*function) []api.Call {
	type head struct {
		f       *function
		created time.Time
		id      string
	}
	// top holds the functions with the newest newest failures, newest first.
	top := make([]head, 0, maxFailures+1)
	for _, f := range fns {
		f.mu.Lock()
		n := len(f.failures)
		var h head
		if n > 0 {
			h = head{f, f.failures[n-1].CreatedAt, f.failures[n-1].ID}
		}
		f.mu.Unlock()
		if n == 0 {
			continue
		}
		i := len(top)
		for i > 0 && after(h.created, h.id, top[i-1].created, top[i-1].id) {
			i--
		}
		if i < maxFailures {
			top = slices.Insert(top, i, h)[:min(len(top)+1, maxFailures)]
		}
	}
	out := make([]api.Call, 0, maxFailures*len(top))
	for _, h := range top {
		h.f.mu.Lock()
		out = append(out, h.f.failures...)
		h.f.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b api.Call) int { return cmpNewestFirst(&a, &b) })
	return out[:min(len(out), maxFailures)]
}

func cmpNewestFirst(a, b *api.Call) int {
	switch {
	case newer(a, b):
		return -1
	case newer(b, a):
		return 1
	}
	return 0
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

// nodeCache is the last node list, which the overview answers from: listing nodes asks the
// server's own engine, too slow to do for every overview.
type nodeCache struct {
	mu      sync.Mutex
	list    []api.Node // guarded by mu; shared with answers, never changed in place
	fetched time.Time  // guarded by mu; zero before the first list
}

// nodeList returns the cached list, fetching it the first time, and asks Run for a fresh one
// when it is older than NodesMaxAge.
func (c *Collector) nodeList(ctx context.Context, now time.Time) []api.Node {
	if c.cfg.Nodes == nil {
		return []api.Node{}
	}
	c.nodes.mu.Lock()
	list, fetched := c.nodes.list, c.nodes.fetched
	c.nodes.mu.Unlock()
	if fetched.IsZero() {
		return c.fetchNodes(ctx)
	}
	if now.Sub(fetched) > c.cfg.NodesMaxAge {
		select {
		case c.refresh <- struct{}{}:
		default:
		}
	}
	return list
}

// fetchNodes lists the nodes and caches the list; on error it keeps the last one.
func (c *Collector) fetchNodes(ctx context.Context) []api.Node {
	// Not bounded by the request that asked first: a dashboard that gives up on one answer
	// must not leave "context canceled" in the list every later answer shows.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	list, err := c.cfg.Nodes.List(ctx)
	c.nodes.mu.Lock()
	defer c.nodes.mu.Unlock()
	if err != nil {
		c.cfg.Log.Warn("could not list the nodes for the overview", "error", err)
		if c.nodes.list == nil {
			return []api.Node{}
		}
		return c.nodes.list
	}
	if list == nil {
		list = []api.Node{}
	}
	c.nodes.list, c.nodes.fetched = list, c.cfg.Now()
	return list
}
