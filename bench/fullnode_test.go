package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearthfn/hearth/runtimes/funcfile"
)

func TestDeployPlanTimesTheEndsAlone(t *testing.T) {
	for _, c := range []struct{ n, first, last int }{
		{0, 0, 0}, {1, 1, 0}, {10, 10, 0}, {15, 10, 5}, {20, 10, 10}, {300, 10, 10},
	} {
		first, last := deployPlan(c.n, 10)
		if first != c.first || last != c.last {
			t.Errorf("deployPlan(%d, 10) = %d, %d; want %d, %d", c.n, first, last, c.first, c.last)
		}
	}
}

func TestPercentilesAreNearestRank(t *testing.T) {
	var s sample
	for _, ms := range []int{7, 1, 10, 3, 9, 2, 8, 4, 6, 5} { // unsorted on purpose
		s = append(s, time.Duration(ms)*time.Millisecond)
	}
	if c := coldOf(s); c.N != 10 || c.P50MS != 5 || c.P90MS != 9 || c.MaxMS != 10 {
		t.Fatalf("coldOf(1..10 ms) = %+v; want p50 5, p90 9, max 10", c)
	}
	if s[0] != 7*time.Millisecond {
		t.Fatal("coldOf sorted its argument")
	}
	if c := coldOf(sample{3 * time.Millisecond}); c.P50MS != 3 || c.P90MS != 3 || c.MaxMS != 3 {
		t.Fatalf("coldOf(one sample) = %+v", c)
	}
	if c := coldOf(nil); c.N != 0 {
		t.Fatalf("coldOf(nil) = %+v", c)
	}
}

func TestFuncYAMLIsAValidFuncFile(t *testing.T) {
	spec, err := funcfile.Parse([]byte(funcYAML("bench-full-0001", "docker", time.Second, time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	if err := funcfile.Validate(spec); err != nil {
		t.Fatal(err)
	}
	if spec.Runtime != "docker" || spec.MemoryMB != fullMemoryMB || spec.IdleTimeout.D() != time.Second || spec.PauseTimeout.D() != time.Hour {
		t.Fatalf("spec = %+v", spec)
	}
}

func TestPoolMemoryFitsTheFunctionsAndTheWarmOne(t *testing.T) {
	if got := poolMemoryMB(300); got != 301*fullMemoryMB {
		t.Fatalf("poolMemoryMB(300) = %d", got)
	}
}

func TestParseVmRSS(t *testing.T) {
	status := "Name:\thearth\nVmPeak:\t  900 kB\nVmRSS:\t   41234 kB\nThreads:\t12\n"
	if v, err := parseVmRSS(status); err != nil || v != 41234 {
		t.Fatalf("parseVmRSS = %d, %v", v, err)
	}
	if _, err := parseVmRSS("Name:\tx\n"); err == nil {
		t.Fatal("a status without VmRSS parsed")
	}
}

func TestCPUPct(t *testing.T) {
	if v := cpuPct(300*time.Millisecond, 30*time.Second); v != 1 {
		t.Fatalf("cpuPct(0.3 s over 30 s) = %v, want 1", v)
	}
	if v := cpuPct(time.Second, 0); v != 0 {
		t.Fatalf("cpuPct over no time = %v", v)
	}
}

func TestFullNodeGoals(t *testing.T) {
	rep := &fullNodeReport{Functions: 300,
		Idle:       []procPct{{procServer, 0.3}, {procPlugin, 0.1}, {procDocker, 0.4}},
		WarmAmongN: summary{N: 100, P50MS: 0.43}, WarmAmong1: summary{N: 100, P50MS: 0.40},
		ColdQuiet: coldFigures{N: 16, P90MS: 300}, ColdEvict: coldFigures{N: 16, P90MS: 900}}
	gs := fullNodeGoals(rep)
	want := []bool{true, true, false} // idle 0.8 % < 1 %; warm +0.03 ms; cold 3x
	if len(gs) != len(want) {
		t.Fatalf("%d goals", len(gs))
	}
	for i, g := range gs {
		if g.Met == nil || *g.Met != want[i] {
			t.Errorf("goal %q: met %v, want %v (%s)", g.Goal, g.Met, want[i], g.Measured)
		}
	}
	if !strings.Contains(gs[1].Goal, "among 300") {
		t.Errorf("the warm goal does not name the functions: %q", gs[1].Goal)
	}
	for _, g := range fullNodeGoals(&fullNodeReport{}) {
		if g.Met != nil {
			t.Errorf("goal %q of an empty report is measured: %s", g.Goal, g.Measured)
		}
	}
}

func TestParallelReturnsTheFailureAndStops(t *testing.T) {
	items := make([]string, 100)
	for i := range items {
		items[i] = "x"
	}
	items[3] = "bad"
	boom := errors.New("boom")
	var done atomic.Int32
	err := parallelN(context.Background(), 4, items, func(it string) error {
		if it == "bad" {
			return boom
		}
		time.Sleep(time.Millisecond)
		done.Add(1)
		return nil
	})
	if !errors.Is(err, boom) {
		t.Fatalf("parallelN = %v, want the failure itself", err)
	}
	if n := done.Load(); n >= 99 {
		t.Fatalf("the other workers went on after the failure: %d done", n)
	}
	if err := parallelN(context.Background(), 2, items[:10], func(string) error { return nil }); err != nil {
		t.Fatal(err)
	}
}

func TestOursMatchesTheSectionsNamesOnly(t *testing.T) {
	for name, want := range map[string]bool{
		"bench-full-0001": true, "bench-full-seed-v1-ab12cd34": true, "bench-one-warm": true,
		"bench-go-warm": false, "bench-raw-density": false, "full-0001": false,
	} {
		if got := ours(name); got != want {
			t.Errorf("ours(%q) = %v", name, got)
		}
	}
}

func TestRequestKindDropsVersionAndObject(t *testing.T) {
	for _, c := range []struct{ method, path, want string }{
		{"GET", "/v1.41/containers/json", "GET /containers/json"},
		{"GET", "/containers/json", "GET /containers/json"},
		{"POST", "/v1.41/containers/create", "POST /containers/create"},
		{"POST", "/v1.41/containers/hearth-bench-full-0001-v1-ab12cd34/start", "POST /containers/{id}/start"},
		{"GET", "/v1.41/containers/abc/logs", "GET /containers/{id}/logs"},
		{"DELETE", "/v1.41/containers/abc", "DELETE /containers/{id}"},
		{"GET", "/v1.41/images/hearth/bench-full-0001:0123/json", "GET /images/{id}/json"},
		{"GET", "/v1.41/images/json", "GET /images/json"},
		{"GET", "/v1.41/events", "GET /events"},
		{"HEAD", "/_ping", "HEAD /_ping"},
	} {
		if got := requestKind(c.method, c.path); got != c.want {
			t.Errorf("requestKind(%s %s) = %q, want %q", c.method, c.path, got, c.want)
		}
	}
}

func TestCountsSinceKeepsWhatChangedMostFirst(t *testing.T) {
	got := countsSince(map[string]int{"GET /containers/json": 10, "GET /events": 1},
		map[string]int{"GET /containers/json": 25, "GET /events": 1, "POST /containers/{id}/stop": 2})
	want := []requestCount{{"GET /containers/json", 15}, {"POST /containers/{id}/stop", 2}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("countsSince = %v, want %v", got, want)
	}
	if s := requestsText(got); s != "17 (GET /containers/json 15, POST /containers/{id}/stop 2)" {
		t.Errorf("requestsText = %q", s)
	}
	if s := requestsText(nil); s != "none" {
		t.Errorf("requestsText(nil) = %q", s)
	}
}

func TestEngineCounterCountsWhatItForwards(t *testing.T) {
	// A stand-in engine on a unix socket: the counter forwards to it and counts by kind.
	dir := t.TempDir()
	sock := filepath.Join(dir, "engine.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	engine := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Method+" "+r.URL.Path)
	})}
	go engine.Serve(l)
	defer engine.Close()

	c, err := startEngineCounter("unix://" + sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	path, _ := strings.CutPrefix(c.host(), "unix://")
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}}}
	defer hc.CloseIdleConnections()
	for _, p := range []string{"/v1.41/containers/json", "/v1.41/containers/json", "/v1.41/containers/x/json"} {
		resp, err := hc.Get("http://docker" + p)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "GET "+p {
			t.Fatalf("the engine got %q, want GET %s", body, p)
		}
	}
	got := c.snapshot()
	if got["GET /containers/json"] != 2 || got["GET /containers/{id}/json"] != 1 || len(got) != 2 {
		t.Fatalf("counts = %v", got)
	}
	if _, err := startEngineCounter("tcp://127.0.0.1:2375"); err == nil {
		t.Fatal("a counter in front of a TCP engine started")
	}
}
