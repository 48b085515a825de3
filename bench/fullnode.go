package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/hearthfn/hearth/agent/driver/docker"
	"github.com/hearthfn/hearth/api/client"
	"github.com/hearthfn/hearth/runtimes"
)

// The full-node section (issue 15): a node full of functions. A server of its own, `hearth
// server --dev --pool-memory M`, gets N functions of the smallest image (the go no-op), each
// called once and left to pause, with M sized so that those N paused instances (and the warm
// function below) fill it: every further start must evict one. It reports:
//
//   - the deploy time of the first 10 and the last 10 functions, each deployed alone;
//   - the idle CPU of the server, its driver plugin and dockerd over 30 s with nothing called,
//     and the Docker API requests the server made meanwhile (each server reaches the engine
//     through a counting proxy, fullnodeengine.go: dockerd's CPU counts other clients' work too);
//   - a warm call to one function among N against the same call on a second server with that
//     one function alone, in alternating rounds (the warm rows' client, warm.go);
//   - fresh functions' first calls, 4 at a time, on the second server (quiet: room for all)
//     against the full one (each start evicts a paused instance), batches alternating;
//   - the server's resident memory at the end.
//
// Both servers and everything they left go before the section's wall time is taken.
//
// The functions are deployed from the same source under N names. Only the first, the seed, is
// the go scaffold built by the go runtime; every other is the docker runtime's build of a
// one-line Dockerfile, FROM the seed's image. Their images are the seed's image with hearth's
// labels: the same 6 MB, the same binary, started and called exactly as the seed's would be.
// A go build per name would take a second of CPU each (the go runtime's Dockerfile labels its
// build stage with the function's name, so Docker's layer cache cannot share the compile), and
// what is measured here is the node, not the compiler.

// Names of the section's functions; removeImages and the sweep at the end rely on both.
const (
	fullPrefix = namePrefix + "full-"
	onePrefix  = namePrefix + "one-"
)

const (
	// fullMemoryMB is every function's memory: small, so that N instances fit the machine and
	// the pool's limit is what makes starts evict.
	fullMemoryMB = 32
	// fullParallel is how many deploys, first calls and cold calls go at once.
	fullParallel = 4
	// fullFirstLast is how many deploys at each end are timed one at a time.
	fullFirstLast = 10
	// fullPausedWait bounds the wait for the pool to pause the N instances after their calls.
	fullPausedWait = 2 * time.Minute
)

// fullNodeReport is what the section measured.
type fullNodeReport struct {
	Functions    int   `json:"functions"`
	PoolMemoryMB int64 `json:"pool_memory_mb"`
	// DeployFirstMS and DeployLastMS are the first and last deploys, each alone; DeploySeconds
	// is all N deploys, the middle ones fullParallel at a time.
	DeployFirstMS []float64 `json:"deploy_first_ms"`
	DeployLastMS  []float64 `json:"deploy_last_ms"`
	DeploySeconds float64   `json:"deploy_seconds"`
	// FillSeconds is the N first calls, fullParallel at a time, until all N were paused.
	FillSeconds float64 `json:"fill_seconds"`
	// Idle is each process's CPU over IdleSeconds with nothing called, in % of one core.
	IdleSeconds float64   `json:"idle_seconds"`
	Idle        []procPct `json:"idle_cpu_pct"`
	// IdleRequests are the full server's Docker API requests over those seconds (its driver
	// plugin's included), by kind; nil when they were not counted.
	IdleRequests []requestCount `json:"idle_docker_requests"`
	// ServerRSSKiB and PluginRSSKiB are the full server's and its driver plugin's VmRSS at the
	// end of the section.
	ServerRSSKiB int64 `json:"server_rss_kib"`
	PluginRSSKiB int64 `json:"plugin_rss_kib"`
	// WarmAmongN and WarmAmong1 are a warm call at concurrency 1 to one function on the full
	// server and on the server with that function alone.
	WarmAmongN summary `json:"warm_among_n"`
	WarmAmong1 summary `json:"warm_among_1"`
	// ColdQuiet and ColdEvict are fresh functions' first calls, fullParallel at a time, on the
	// quiet server and on the full one, where each start evicts.
	ColdQuiet   coldFigures  `json:"cold_quiet"`
	ColdEvict   coldFigures  `json:"cold_evict"`
	Goals       []goalResult `json:"goals"`
	WallSeconds float64      `json:"wall_seconds"`
}

// procPct is one process's CPU as a share of one core, in %.
type procPct struct {
	Process string  `json:"process"`
	Pct     float64 `json:"pct"`
}

// coldFigures are the cold calls' percentiles, in ms.
type coldFigures struct {
	N     int     `json:"n"`
	P50MS float64 `json:"p50_ms"`
	P90MS float64 `json:"p90_ms"`
	MaxMS float64 `json:"max_ms"`
}

// fullNodeSection runs the section with n functions, cold fresh functions per side, and idle
// seconds of idling; it removes both servers, their instances and every image it built.
func fullNodeSection(ctx context.Context, cfg config, n, cold int, idle time.Duration) (*fullNodeReport, error) {
	began := time.Now()
	rep := &fullNodeReport{Functions: n, PoolMemoryMB: poolMemoryMB(n)}
	drv, err := docker.New(docker.Config{Host: cfg.dockerHost})
	if err != nil {
		return nil, err
	}
	defer drv.Close()
	var full, one *side
	// On failure: the servers stop, then what they left behind goes. On success the same
	// happens before the section's wall time is taken.
	defer func() {
		if full != nil {
			stopSides(full, one)
			sweepFullNode(ctx, cfg.dockerHost, drv)
		}
	}()

	if full, err = startSide(ctx, cfg, drv, "--dev", "--pool-memory", fmt.Sprintf("%dMiB", rep.PoolMemoryMB)); err != nil {
		return nil, err
	}

	logf("fullnode: building the seed, the go scaffold")
	seed, err := full.deploySeed(ctx, fullPrefix+"seed")
	if err != nil {
		return nil, err
	}
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s%04d", fullPrefix, i)
	}
	if err := full.deployAll(ctx, seed, names, rep); err != nil {
		return nil, err
	}
	logf("fullnode: %d deploys in %.1f s; a first call to each, %d at a time", n, rep.DeploySeconds, fullParallel)
	t0 := time.Now()
	if err := full.fill(ctx, drv, names); err != nil {
		return nil, err
	}
	rep.FillSeconds = time.Since(t0).Seconds()

	logf("fullnode: %d instances paused; idling %s", n, idle)
	before := full.requests()
	if rep.Idle, err = idleCPU(ctx, full.bench, cfg.dockerHost, idle); err != nil {
		return nil, err
	}
	rep.IdleSeconds = idle.Seconds()
	if full.counter != nil {
		// Empty, not nil, when there were none: counted and zero.
		rep.IdleRequests = append([]requestCount{}, countsSince(before, full.requests())...)
	}

	if one, err = startSide(ctx, cfg, drv, "--dev"); err != nil {
		return nil, err
	}
	if err := warmAmong(ctx, cfg, full, one, seed, rep); err != nil {
		return nil, err
	}
	if err := coldAmong(ctx, full, one, seed, cold, rep); err != nil {
		return nil, err
	}
	srvPID := full.srv.cmd.Process.Pid
	rep.ServerRSSKiB, _ = vmRSS(srvPID)
	if plugin, err := pluginPID(srvPID); err == nil {
		rep.PluginRSSKiB, _ = vmRSS(plugin)
	}
	rep.Goals = fullNodeGoals(rep)
	stopSides(full, one)
	sweepFullNode(ctx, cfg.dockerHost, drv)
	full = nil
	rep.WallSeconds = time.Since(began).Seconds()
	return rep, nil
}

// poolMemoryMB is the full server's --pool-memory: room for n instances and the warm function's.
func poolMemoryMB(n int) int64 { return int64(n+1) * fullMemoryMB }

// side is one server of the section: a bench on it, and the counter of its Docker API requests
// (nil when the engine is not on a unix socket).
type side struct {
	*bench
	counter *engineCounter
}

// startSide starts a server of the section with args, its Docker API through a counter.
func startSide(ctx context.Context, cfg config, drv *docker.Driver, args ...string) (*side, error) {
	counter, err := startEngineCounter(cfg.dockerHost)
	if err != nil {
		logf("fullnode: the server's Docker API requests are not counted: %v", err)
	} else {
		args = append(args, "--docker-host", counter.host())
	}
	srv, err := startServer(ctx, cfg.bin, args...)
	if err != nil {
		if counter != nil {
			counter.close()
		}
		return nil, err
	}
	s := &side{counter: counter}
	token, err := srv.adminToken()
	if err == nil {
		var c *client.Client
		if c, err = client.New(srv.url, client.WithToken(token)); err == nil {
			s.bench = &bench{cfg: cfg, srv: srv, client: c, drv: drv, engine: drv, driver: "docker", catalog: runtimes.New(),
				work: srv.dataDir, hc: &http.Client{Transport: withToken(&http.Transport{MaxIdleConnsPerHost: fullParallel * 2}, token)}}
			return s, nil
		}
	}
	srv.stop()
	if counter != nil {
		counter.close()
	}
	return nil, err
}

// requests returns the side's Docker API requests so far, by kind.
func (s *side) requests() map[string]int {
	if s.counter == nil {
		return nil
	}
	return s.counter.snapshot()
}

// stopSides stops both servers at once and waits for them. A server that stops keeps its
// instances (for the next start to adopt) and removes its prepared ones; sweepFullNode removes
// the rest.
func stopSides(sides ...*side) {
	var wg sync.WaitGroup
	for _, s := range sides {
		if s == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.srv.stop()
			if s.counter != nil {
				s.counter.close()
			}
		}()
	}
	wg.Wait()
}

// idleCPU reads the CPU the full server, its driver plugin and dockerd use over d.
func idleCPU(ctx context.Context, b *bench, dockerHost string, d time.Duration) ([]procPct, error) {
	pid := b.srv.cmd.Process.Pid
	plugin, err := pluginPID(pid)
	if err != nil {
		logf("fullnode: the driver plugin's CPU is not counted: %v", err)
	}
	m := newCPUMeter(meteredProc{procServer, pid}, meteredProc{procPlugin, plugin}, meteredProc{procDocker, dockerdPID(dockerHost)})
	before, err := m.read()
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	if err := sleep(ctx, d); err != nil {
		return nil, err
	}
	after, err := m.read()
	if err != nil {
		return nil, err
	}
	m.add(before, after)
	wall := time.Since(t0)
	out := make([]procPct, len(m.procs))
	for i, p := range m.procs {
		out[i] = procPct{Process: p.name, Pct: cpuPct(m.used[i], wall)}
	}
	return out, nil
}

// cpuPct is used as a share of one core over wall, in %.
func cpuPct(used, wall time.Duration) float64 {
	if wall <= 0 {
		return 0
	}
	return 100 * used.Seconds() / wall.Seconds()
}

// warmAmong compares warm calls to one function on the full server with warm calls to the same
// function alone on the other, in alternating rounds.
func warmAmong(ctx context.Context, cfg config, full, one *side, seed deployed, rep *fullNodeReport) error {
	var urls [2]string
	for i, s := range []struct {
		b    *side
		name string
	}{{full, fullPrefix + "warm"}, {one, onePrefix + "warm"}} {
		fn, err := s.b.deployFrom(ctx, seed, s.name, fullWarmIdle)
		if err != nil {
			return err
		}
		urls[i] = s.b.client.InvokeURL(fn.name)
	}
	logf("fullnode: warm calls, concurrency 1, %d per side, among %d and among 1 alternating", cfg.calls, rep.Functions)
	among, alone := newLoader(urls[0], 1, full.srv.token), newLoader(urls[1], 1, one.srv.token)
	if err := compareLoad(ctx, []*loader{among, alone}, cfg.calls); err != nil {
		return err
	}
	rep.WarmAmongN, rep.WarmAmong1 = among.summary(), alone.summary()
	return nil
}

// coldAmong deploys cold fresh functions on each server, then makes their first calls
// fullParallel at a time, a batch on one server then a batch on the other, the order turning
// each round.
func coldAmong(ctx context.Context, full, one *side, seed deployed, cold int, rep *fullNodeReport) error {
	sides := []struct {
		b     *side
		names []string
		lat   sample
	}{{b: one}, {b: full}}
	for i, prefix := range []string{onePrefix, fullPrefix} {
		for j := range cold {
			sides[i].names = append(sides[i].names, fmt.Sprintf("%scold-%02d", prefix, j))
		}
		b := sides[i].b
		if err := parallel(ctx, sides[i].names, func(name string) error {
			_, err := b.deployFrom(ctx, seed, name, fullIdle)
			return err
		}); err != nil {
			return err
		}
	}
	logf("fullnode: %d first calls per side, %d at a time, quiet and evicting alternating", cold, fullParallel)
	for r := 0; r*fullParallel < cold; r++ {
		for k := range sides {
			s := &sides[(k+r)%2]
			batch := s.names[r*fullParallel : min((r+1)*fullParallel, cold)]
			lat, err := timedCalls(s.b.bench, batch)
			if err != nil {
				return err
			}
			s.lat = append(s.lat, lat...)
		}
	}
	rep.ColdQuiet, rep.ColdEvict = coldOf(sides[0].lat), coldOf(sides[1].lat)
	return nil
}

// timedCalls calls each function once, all at once, and returns each call's time.
func timedCalls(b *bench, names []string) (sample, error) {
	lat := make(sample, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			errs[i] = call(b.hc, b.client.InvokeURL(name))
			lat[i] = time.Since(t0)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return lat, nil
}

// coldOf summarizes cold calls; percentiles are nearest-rank.
func coldOf(s sample) coldFigures {
	if len(s) == 0 {
		return coldFigures{}
	}
	return coldFigures{N: len(s), P50MS: percentileMS(s, 50), P90MS: percentileMS(s, 90), MaxMS: percentileMS(s, 100)}
}

// percentileMS is the nearest-rank p-th percentile of s, in ms.
func percentileMS(s sample, p int) float64 {
	c := slices.Clone(s)
	slices.Sort(c)
	rank := (p*len(c) + 99) / 100 // ceil(p/100 * n)
	rank = max(rank, 1)
	return float64(c[rank-1].Microseconds()) / 1000
}

// vmRSS returns a process's resident memory, in KiB.
func vmRSS(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return parseVmRSS(string(data))
}

// parseVmRSS reads the VmRSS line of a /proc/PID/status.
func parseVmRSS(status string) (int64, error) {
	for _, line := range strings.Split(status, "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) != 2 || f[1] != "kB" {
				return 0, fmt.Errorf("VmRSS: %q", line)
			}
			return strconv.ParseInt(f[0], 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmRSS line")
}

// Issue 15's goals for a full node; measured, never asserted.
const (
	fullIdleGoalPct  = 1
	fullWarmGoalMS   = 0.05
	fullColdGoalTime = 2
)

// fullNodeGoals measures the section's goals.
func fullNodeGoals(rep *fullNodeReport) []goalResult {
	result := func(text string, v float64, measured bool, met bool, format func(float64) string) goalResult {
		g := goalResult{Goal: text, Measured: "not measured"}
		if measured {
			g.Value, g.Measured, g.Met = v, format(v), &met
		}
		return g
	}
	idle := 0.0
	for _, p := range rep.Idle {
		idle += p.Pct
	}
	warm := rep.WarmAmongN.P50MS - rep.WarmAmong1.P50MS
	var coldRatio float64
	if rep.ColdQuiet.P90MS > 0 {
		coldRatio = rep.ColdEvict.P90MS / rep.ColdQuiet.P90MS
	}
	return []goalResult{
		result(fmt.Sprintf("idle server + plugin + dockerd < %d%% of a core", fullIdleGoalPct), idle, len(rep.Idle) > 0,
			idle < fullIdleGoalPct, func(v float64) string { return fmt.Sprintf("%.2f%%", v) }),
		result(fmt.Sprintf("warm median among %d within %.2f ms of among 1", rep.Functions, fullWarmGoalMS), warm,
			rep.WarmAmongN.N > 0 && rep.WarmAmong1.N > 0, warm <= fullWarmGoalMS, signedMS),
		result(fmt.Sprintf("cold p90 evicting <= %dx quiet", fullColdGoalTime), coldRatio,
			rep.ColdQuiet.N > 0 && rep.ColdEvict.N > 0 && coldRatio > 0, coldRatio <= fullColdGoalTime, times),
	}
}

// printFullNode shows the section.
func printFullNode(w io.Writer, r *fullNodeReport) {
	if r == nil {
		return
	}
	fmt.Fprintf(w, "\nfull node: %d functions of the go no-op (%d MB each), each called once and paused; --pool-memory %d MiB\n\n",
		r.Functions, fullMemoryMB, r.PoolMemoryMB)
	fmt.Fprintf(w, "  deploys, one at a time (ms): first %d: %s\n", len(r.DeployFirstMS), msList(r.DeployFirstMS))
	fmt.Fprintf(w, "                               last %d:  %s\n", len(r.DeployLastMS), msList(r.DeployLastMS))
	fmt.Fprintf(w, "  all %d deploys %.1f s (the middle ones %d at a time); first calls until all paused %.1f s\n",
		r.Functions, r.DeploySeconds, fullParallel, r.FillSeconds)
	var idle []string
	total := 0.0
	for _, p := range r.Idle {
		idle = append(idle, fmt.Sprintf("%s %.2f%%", p.Process, p.Pct))
		total += p.Pct
	}
	fmt.Fprintf(w, "  idle CPU over %.0f s, %% of a core: %s; total %.2f%%\n", r.IdleSeconds, strings.Join(idle, ", "), total)
	if r.IdleRequests != nil {
		fmt.Fprintf(w, "  Docker API requests of the full server (and its plugin) meanwhile: %s\n", requestsText(r.IdleRequests))
	}
	fmt.Fprintf(w, "  resident memory at the end: server %.1f MiB, driver plugin %.1f MiB\n\n",
		float64(r.ServerRSSKiB)/1024, float64(r.PluginRSSKiB)/1024)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  MEASUREMENT\tFULL NODE\tALONE / QUIET")
	fmt.Fprintf(tw, "  warm call, concurrency 1 (min / median / p99 ms)\t%s\t%s\n", cell(r.WarmAmongN), cell(r.WarmAmong1))
	fmt.Fprintf(tw, "  first call of a fresh function, %d at a time (p50 / p90 / max ms, n)\t%s\t%s\n", fullParallel,
		coldCell(r.ColdEvict), coldCell(r.ColdQuiet))
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  GOAL\tMET")
	for _, g := range r.Goals {
		fmt.Fprintf(tw, "  %s\t%s\n", g.Goal, verdict(g))
	}
	tw.Flush()
	fmt.Fprintf(w, "  section wall time %.0f s\n", r.WallSeconds)
}

func coldCell(c coldFigures) string {
	if c.N == 0 {
		return "-"
	}
	return fmt.Sprintf("%s / %s / %s, %d", ms(c.P50MS), ms(c.P90MS), ms(c.MaxMS), c.N)
}

func msList(v []float64) string {
	var out []string
	for _, x := range v {
		out = append(out, fmt.Sprintf("%.0f", x))
	}
	return strings.Join(out, " ")
}

// requestsText sums up requests: the total, then the most frequent kinds.
func requestsText(rs []requestCount) string {
	total := 0
	var top []string
	for i, r := range rs {
		total += r.Count
		if i < 4 {
			top = append(top, fmt.Sprintf("%s %d", r.Kind, r.Count))
		}
	}
	if total == 0 {
		return "none"
	}
	if len(rs) > len(top) {
		top = append(top, "...")
	}
	return fmt.Sprintf("%d (%s)", total, strings.Join(top, ", "))
}
