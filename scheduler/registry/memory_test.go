package registry_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/hearthfn/hearth/agent"
	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/metrics"
	"github.com/hearthfn/hearth/scheduler/pool"
	"github.com/hearthfn/hearth/scheduler/registry"
	"github.com/hearthfn/hearth/scheduler/stats"
	"github.com/hearthfn/hearth/scheduler/store/sqlstore"
)

// TestServerMemoryPerFunctionAndInstance measures what the server's state costs on the heap
// for a node full of functions, as docs/performance.md reports it: 1,000 functions through
// the registry, the pool, the dashboard's figures and the metrics (wired as scheduler/server
// wires them), each called once, 640 of them left with a paused instance. Then it makes many
// more calls and versions, and checks that the heap does not grow with them: the server
// remembers what it must, not its history. The bounds asserted are loose (several times the
// figures measured): they catch a per-call or per-version leak or a ring allocated whole
// again, not a few bytes.
func TestServerMemoryPerFunctionAndInstance(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a full node's state: seconds")
	}
	const functions, instances = 1000, 640
	ctx := t.Context()
	st, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "hearth.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	log := slog.New(slog.DiscardHandler)
	m := metrics.New(log)
	p := pool.New(pool.Config{Observer: m, KeepOnShutdown: true, ReapInterval: 10 * time.Millisecond}, log)
	sc := stats.New(stats.Config{Pool: p, Log: log})
	workDir := filepath.Join(t.TempDir(), "work")
	b := &fakeBuilder{workDir: workDir}
	reg := registry.New(registry.Config{BaseURL: baseURL, WorkDir: workDir}, st, b, statsPool{p, sc, m}, log)
	node := newMemNode()
	runCtx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = p.Run(runCtx) })
	t.Cleanup(func() {
		stop()
		wg.Wait()
	})

	// Every function is stored before the baseline: the store is on disk, the state in memory
	// is what Restore builds.
	names := make([]string, functions)
	for i := range names {
		names[i] = fmt.Sprintf("fn-%04d", i)
		spec := api.FunctionSpec{Name: names[i], Runtime: "go", MemoryMB: 32,
			IdleTimeout: api.Duration(time.Second), PauseTimeout: api.Duration(time.Hour)}
		if _, err := st.AddVersion(ctx, names[i], api.Version{Image: "hearth/" + names[i] + ":1", SourceHash: "h", Spec: spec}); err != nil {
			t.Fatal(err)
		}
	}
	base := heap()
	if err := reg.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	p.AddNode("node-1", node, nil)
	deployed := heap()

	// Each function called once: its figures, its metric series.
	call := func(name string, at time.Time, ms float64) {
		sc.Observe(api.Call{ID: fmt.Sprintf("%s-%d", name, at.UnixNano()), Function: name, Status: api.CallSucceeded,
			HTTPStatus: 200, CreatedAt: at, FinishedAt: at, DurationMS: ms})
		m.CallDone(name, "ok", time.Duration(ms*float64(time.Millisecond)))
	}
	now := time.Now()
	for _, n := range names {
		call(n, now, 3)
	}
	called := heap()

	// 640 instances, each started by a call and left to pause.
	for _, n := range names[:instances] {
		l, err := p.Acquire(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		l.Release(pool.OutcomeOK)
	}
	waitFor(t, "640 paused instances", func() bool { return paused(p) == instances })
	withInstances := heap()

	perFunction := float64(deployed-base) / functions
	perCalled := float64(called-deployed) / functions
	perInstance := float64(withInstances-called) / instances
	t.Logf("heap: %.0f B per function deployed (registry, pool, figures), %.0f B more once it has been called (figures, metric series), %.0f B per paused instance (pool, keep-alive)",
		perFunction, perCalled, perInstance)
	t.Logf("heap: %d functions called once and %d paused instances: %.2f MiB in all", functions, instances,
		float64(withInstances-base)/(1<<20))

	// History: 20 more calls to every function, spread over the last hour (a slot of the
	// figures for each minute that had calls), and two more versions of each of 100 functions.
	// The calls' figures are what the window must remember; nothing else may grow.
	for i := range 20 {
		at := now.Add(-time.Duration(i) * 3 * time.Minute)
		for _, n := range names {
			call(n, at, float64(1+i))
		}
	}
	for _, n := range names[instances : instances+100] { // a new version's instances would start afresh
		for v := range 2 {
			if _, err := reg.Configure(ctx, n, api.ConfigPatch{Env: map[string]*string{"V": ptr(fmt.Sprint(v))}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitFor(t, "640 paused instances again", func() bool { return paused(p) == instances })
	history := heap()
	// 20 calls of a function in 20 minutes take 20 minute slots and up to 20 ten-second ones:
	// at most 40 × 232 B of figures each.
	const figures = 40 * 232
	grew := float64(history-withInstances)/functions - figures
	t.Logf("heap: %.0f B per function after 20 more calls each (%d B of them the calls' figures) and 2 more versions of 100 functions",
		float64(history-withInstances)/functions, figures)

	// Functions deployed, called, and deleted leave nothing behind once their instances have
	// stopped.
	const churn = 200
	for i := range churn {
		n := fmt.Sprintf("tmp-%04d", i)
		if _, _, err := reg.Deploy(ctx, n, bytesReader(pack(t, source("name: "+n+"\nruntime: go\nmemory: 32\n", "// "+n))), nil); err != nil {
			t.Fatal(err)
		}
		l, err := p.Acquire(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		l.Release(pool.OutcomeOK)
		call(n, now, 2)
		if err := reg.Delete(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the deleted functions' instances to stop", func() bool { return node.count() == instances })
	b.mu.Lock()
	b.reqs = nil // what the fake builder saw is the test's, not the server's
	b.mu.Unlock()
	afterChurn := heap()
	perDeleted := float64(afterChurn-history) / churn
	t.Logf("heap: %.0f B left per function deployed, called and deleted", perDeleted)

	// What is measured must live to the last measurement: the collector's last use is above.
	runtime.KeepAlive(reg)
	runtime.KeepAlive(sc)
	runtime.KeepAlive(m)

	for _, c := range []struct {
		what       string
		got, bound float64
	}{
		{"per function deleted", perDeleted, 512},
		{"per function deployed", perFunction, 4 << 10},
		{"per function called once", perCalled, 8 << 10},
		{"per paused instance", perInstance, 8 << 10},
		{"per function, beyond the figures of its calls, after more calls and versions", grew, 2 << 10},
	} {
		if c.got > c.bound {
			t.Errorf("%s: %.0f B on the heap, more than %.0f", c.what, c.got, c.bound)
		}
	}
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

// heap returns the bytes of live objects on the heap once the garbage is collected.
func heap() int64 {
	var ms runtime.MemStats
	for range 2 { // the second collection frees what finalizers of the first released
		runtime.GC()
	}
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// paused counts the pool's paused instances.
func paused(p *pool.Pool) int {
	n := 0
	for _, f := range p.Stats().Functions {
		n += f.Instances["paused"]
	}
	return n
}

// statsPool is the pool as the server's registry drives it: the figures hear of every function
// applied and removed, and the metrics of every function removed (scheduler/server's statsHook
// and removeHook).
type statsPool struct {
	*pool.Pool
	stats   *stats.Collector
	metrics *metrics.Metrics
}

func (h statsPool) Apply(fn api.Function) {
	h.Pool.Apply(fn)
	h.stats.SetFunction(fn)
}

func (h statsPool) Remove(name string) {
	h.Pool.Remove(name)
	h.stats.RemoveFunction(name)
	h.metrics.Forget(name)
}

// memNode is a node whose every operation succeeds at once and which keeps nothing but the
// state of each instance, so that the heap measured is the server's.
type memNode struct {
	mu    sync.Mutex
	state map[string]instance.Status
}

func newMemNode() *memNode { return &memNode{state: map[string]instance.Status{}} }

var _ pool.Node = (*memNode)(nil)

func (n *memNode) Info(context.Context) (agent.NodeInfo, error) {
	return agent.NodeInfo{ID: "node-1", Driver: driver.Fingerprint{Name: "mem", Capabilities: driver.Capabilities{Pause: true},
		Allocatable: instance.Resources{MemoryMB: 1 << 30, CPUMilli: 1 << 30}}}, nil
}

func (n *memNode) StartInstance(_ context.Context, spec instance.Spec) (instance.Instance, error) {
	in := instance.Instance{ID: spec.ID, Endpoint: "127.0.0.1:1"}
	n.set(in.ID, instance.Status{Instance: in, Function: spec.Function, State: instance.StateRunning, Labels: spec.Labels})
	return in, nil
}

func (n *memNode) PauseInstance(_ context.Context, id string) error {
	return n.change(id, instance.StatePaused)
}

func (n *memNode) ResumeInstance(_ context.Context, id string) error {
	return n.change(id, instance.StateRunning)
}

func (n *memNode) StopInstance(_ context.Context, id string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.state, id)
	return nil
}

func (n *memNode) Instances(context.Context) ([]instance.Status, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]instance.Status, 0, len(n.state))
	for _, st := range n.state {
		out = append(out, st)
	}
	return out, nil
}

func (n *memNode) count() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.state)
}

func (n *memNode) set(id string, st instance.Status) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.state[id] = st
}

func (n *memNode) change(id string, s instance.State) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	st, ok := n.state[id]
	if !ok {
		return fmt.Errorf("instance %s: %w", id, driver.ErrInstanceNotFound)
	}
	st.State = s
	n.state[id] = st
	return nil
}
