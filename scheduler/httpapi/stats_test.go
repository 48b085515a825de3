package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/httpapi"
	"github.com/hearthfn/hearth/scheduler/pool"
	"github.com/hearthfn/hearth/scheduler/stats"
)

// statsNow is the stats tests' clock: a whole hour.
var statsNow = time.Date(2030, 3, 4, 10, 0, 0, 0, time.UTC)

type statsPool []pool.FunctionStats

func (p statsPool) Stats() pool.Stats { return pool.Stats{Functions: p} }

type statsNodes []api.Node

func (n statsNodes) List(context.Context) ([]api.Node, error) { return n, nil }

// newStats returns a collector at statsNow that knows hello and other, with calls of both
// (one failed each) and an instance of hello.
func newStats() *stats.Collector {
	c := stats.New(stats.Config{
		Pool:  statsPool{{Function: "hello", Instances: map[string]int{"ready": 1}}},
		Nodes: statsNodes{{ID: "n1", State: api.NodeReady}},
		Now:   func() time.Time { return statsNow },
	})
	for _, fn := range []string{"hello", "other"} {
		c.SetFunction(api.Function{Name: fn, Version: api.Version{Number: 2, Spec: api.FunctionSpec{Runtime: "go"}}})
		c.ObserveAll([]api.Call{
			{ID: fn + "-1", Function: fn, Status: api.CallSucceeded, HTTPStatus: 200, CreatedAt: statsNow.Add(-90 * time.Second), DurationMS: 2, Cold: "new"},
			{ID: fn + "-2", Function: fn, Status: api.CallFailed, HTTPStatus: 500, CreatedAt: statsNow.Add(-80 * time.Second), DurationMS: 3, Error: "boom"},
		})
	}
	return c
}

func serveStats(t *testing.T, s httpapi.Stats) string {
	t.Helper()
	srv, _ := serveBare(t, &fakeRegistry{}, func(d *httpapi.Deps) { d.Stats = s })
	return srv.URL
}

func TestFunctionStats(t *testing.T) {
	base := serveStats(t, newStats())
	resp := send(t, "GET", base+"/v1/functions/hello/stats?since=5m&step=1m", viewerToken, "", nil)
	var s stats.Series
	decodeJSON(t, resp, http.StatusOK, &s)
	if s.Function != "hello" || len(s.Points) != 5 || !s.Since.Equal(statsNow.Add(-4*time.Minute)) || !s.Until.Equal(statsNow) {
		t.Fatalf("series %+v, want hello's 5 points from %s until %s", s, statsNow.Add(-4*time.Minute), statsNow)
	}
	want := stats.Point{T: statsNow.Add(-2 * time.Minute), Calls: 2, Errors: 1, ColdNew: 1, P50MS: 2.103, P90MS: 2.911, P99MS: 2.911}
	if s.Points[2] != want {
		t.Errorf("the minute of the calls:\n got %+v\nwant %+v", s.Points[2], want)
	}
	for _, i := range []int{0, 1, 3, 4} {
		if p := s.Points[i]; p != (stats.Point{T: p.T}) {
			t.Errorf("point %d = %+v, want zeros", i, p)
		}
	}

	// The wire names, as the dashboard reads them.
	raw := getRaw(t, base+"/v1/functions/hello/stats?since=1h", viewerToken)
	for _, key := range []string{`"function":"hello"`, `"since":"2030-03-04T09:01:00Z"`, `"until":"2030-03-04T10:00:00Z"`,
		`"step":"1m0s"`, `"t":"2030-03-04T09:58:00Z"`, `"calls":2`, `"errors":1`, `"cold_new":1`, `"cold_resumed":0`,
		`"p50_ms":2.103`, `"p90_ms":2.911`, `"p99_ms":2.911`} {
		if !strings.Contains(raw, key) {
			t.Errorf("the body has no %s:\n%.600s", key, raw)
		}
	}
}

func TestFunctionStatsRejectsBadQueries(t *testing.T) {
	base := serveStats(t, newStats())
	for _, tc := range []struct{ query, field, msg string }{
		{"?since=2d", "since", `"2d" is neither a duration`},
		{"?since=48h", "since", "kept for 24h0m0s"},
		{"?since=2030-03-04T11:00:00Z", "since", "not in the past"},
		{"?step=1s", "step", "whole number of 10s"},
		{"?step=3h", "step", "from 10s to 1h0m0s"},
		{"?since=6h&step=10s", "step", "last 1h0m0s only"},
	} {
		e := errorBody(t, send(t, "GET", base+"/v1/functions/hello/stats"+tc.query, adminToken, "", nil), http.StatusBadRequest)
		if e.Code != api.CodeInvalid || e.Field != tc.field || !strings.Contains(e.Message, tc.msg) {
			t.Errorf("%s: %+v, want invalid on %s saying %q", tc.query, e, tc.field, tc.msg)
		}
	}
	if e := errorBody(t, send(t, "GET", base+"/v1/functions/nope/stats", adminToken, "", nil), http.StatusNotFound); e.Code != api.CodeNotFound {
		t.Errorf("an unknown function: %+v, want not_found", e)
	}
}

func TestStatsAccess(t *testing.T) {
	base := serveStats(t, newStats())
	for _, tc := range []struct {
		token, path string
		status      int
		msg         string
	}{
		{"", "/v1/overview", http.StatusUnauthorized, "needs an API token"},
		{"", "/v1/functions/hello/stats", http.StatusUnauthorized, "needs an API token"},
		{helloInvoker, "/v1/overview", http.StatusForbidden, "needs the role admin, deployer or viewer"},
		{helloInvoker, "/v1/functions/hello/stats", http.StatusForbidden, "has the role invoker"},
		{scopedViewer, "/v1/functions/other/stats", http.StatusForbidden, `covers the functions hello, not "other"`},
		{scopedViewer, "/v1/functions/hello/stats", http.StatusOK, ""},
		{helloDeployer, "/v1/overview", http.StatusOK, ""},
	} {
		resp := send(t, "GET", base+tc.path, tc.token, "", nil)
		if tc.status == http.StatusOK {
			if resp.StatusCode != http.StatusOK {
				t.Errorf("%s with %q: %d, want 200", tc.path, tc.token, resp.StatusCode)
			}
			continue
		}
		if e := errorBody(t, resp, tc.status); !strings.Contains(e.Message, tc.msg) {
			t.Errorf("%s with %q: %+v, want %d saying %q", tc.path, tc.token, e, tc.status, tc.msg)
		}
	}
	for _, m := range []string{"POST", "DELETE"} {
		if e := errorBody(t, send(t, m, base+"/v1/overview", adminToken, "", nil), http.StatusMethodNotAllowed); e.Code != api.CodeInvalid {
			t.Errorf("%s /v1/overview: %+v, want 405", m, e)
		}
	}
	// Without Stats there are no such routes.
	bare := serveStats(t, nil)
	errorBody(t, send(t, "GET", bare+"/v1/overview", adminToken, "", nil), http.StatusNotFound)
}

func TestOverviewScope(t *testing.T) {
	base := serveStats(t, newStats())

	var all stats.Overview
	decodeJSON(t, send(t, "GET", base+"/v1/overview", viewerToken, "", nil), http.StatusOK, &all)
	if names := overviewNames(all); !slices.Equal(names, []string{"hello", "other"}) || len(all.Nodes) != 1 || len(all.RecentFailures) != 2 {
		t.Errorf("viewer: functions %v, %d nodes, %d failures; want hello and other, 1, 2", names, len(all.Nodes), len(all.RecentFailures))
	}
	hello := all.Functions[0]
	want := stats.FunctionSummary{Name: "hello", Version: 2, Runtime: "go", State: stats.StateReady, CallsPerMin: 0.4, ErrorRate: 0.5,
		P50MS: 2.103, P99MS: 2.911, Instances: stats.InstanceCounts{Ready: 1}, ColdStarts1h: 1}
	if hello != want {
		t.Errorf("hello:\n got %+v\nwant %+v", hello, want)
	}

	var scoped stats.Overview
	decodeJSON(t, send(t, "GET", base+"/v1/overview", scopedViewer, "", nil), http.StatusOK, &scoped)
	if names := overviewNames(scoped); !slices.Equal(names, []string{"hello"}) {
		t.Errorf("a token for hello sees functions %v", names)
	}
	if len(scoped.RecentFailures) != 1 || scoped.RecentFailures[0].Function != "hello" {
		t.Errorf("a token for hello sees failures %+v", scoped.RecentFailures)
	}
	raw := getRaw(t, base+"/v1/overview", scopedViewer)
	if strings.Contains(raw, `"nodes"`) {
		t.Errorf("a token with a function scope may not read nodes, but the overview has them:\n%s", raw)
	}
	for _, key := range []string{`"generated_at":"2030-03-04T10:00:00Z"`, `"calls_per_min":0.4`, `"error_rate":0.5`,
		`"cold_starts_1h":1`, `"instances":{`, `"ready":1`, `"starting":0`, `"state":"ready"`, `"recent_failures":[`, `"public":false`} {
		if !strings.Contains(raw, key) {
			t.Errorf("the overview has no %s:\n%.800s", key, raw)
		}
	}
}

func overviewNames(o stats.Overview) []string {
	var out []string
	for _, f := range o.Functions {
		out = append(out, f.Name)
	}
	return out
}

func getRaw(t *testing.T, url, token string) string {
	t.Helper()
	resp := send(t, "GET", url, token, "", nil)
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s %v", url, resp.StatusCode, b, err)
	}
	return string(b)
}

// atScale returns the API over a collector of 1,000 functions and 100,000 calls of the last
// day, with an instance or two of each function and three nodes.
func atScale(tb testing.TB) http.Handler {
	var ps statsPool
	c := stats.New(stats.Config{Nodes: statsNodes{{ID: "n1"}, {ID: "n2"}, {ID: "n3"}}, Now: func() time.Time { return statsNow },
		Pool: &ps})
	for i := range 1000 {
		name := fmt.Sprintf("fn-%04d", i)
		c.SetFunction(api.Function{Name: name, Version: api.Version{Number: 1 + i%7, Spec: api.FunctionSpec{Runtime: "go"}}})
		ps = append(ps, pool.FunctionStats{Function: name, Instances: map[string]int{"ready": 1, "paused": i % 2}})
	}
	rng := rand.New(rand.NewPCG(3, 5))
	calls := make([]api.Call, 100_000)
	for i := range calls {
		calls[i] = api.Call{ID: fmt.Sprintf("c%06d", i), Function: fmt.Sprintf("fn-%04d", rng.IntN(1000)), Status: api.CallSucceeded,
			HTTPStatus: 200, CreatedAt: statsNow.Add(-time.Duration(rng.Int64N(int64(stats.Window)))), DurationMS: rng.ExpFloat64() * 10}
		if i%20 == 0 {
			calls[i].Status, calls[i].HTTPStatus, calls[i].Error = api.CallFailed, 500, "handler failed"
		}
	}
	for b := range slices.Chunk(calls, 256) {
		c.ObserveAll(b)
	}
	tokens := fakeTokens{adminToken: testTokens[adminToken]}
	return httpapi.New(httpapi.Deps{Registry: &fakeRegistry{}, Invoker: &fakeInvoker{}, Auth: tokens, Access: allPublic{}, Stats: c,
		Info: func(context.Context) api.Info { return testInfo }})
}

// TestStatsAtScale reports how long the two endpoints take over 1,000 functions and 100,000
// calls (the handler alone, JSON included, no network); it asserts the answers, not the times.
func TestStatsAtScale(t *testing.T) {
	h := atScale(t)
	for _, path := range []string{"/v1/overview", "/v1/functions/fn-0500/stats?since=24h&step=1m", "/v1/functions/fn-0500/stats?since=1h&step=10s"} {
		var best time.Duration
		var size int
		for range 20 {
			start := time.Now()
			w := serveOnce(h, path)
			if took := time.Since(start); best == 0 || took < best {
				best = took
			}
			if w.Code != http.StatusOK {
				t.Fatalf("GET %s: %d %s", path, w.Code, w.Body)
			}
			size = w.Body.Len()
		}
		t.Logf("GET %s: %s at best of 20, %d KiB", path, best, size>>10)
	}
	var o stats.Overview
	if err := json.Unmarshal(serveOnce(h, "/v1/overview").Body.Bytes(), &o); err != nil || len(o.Functions) != 1000 || len(o.RecentFailures) != 20 || len(o.Nodes) != 3 {
		t.Errorf("overview: %d functions, %d failures, %d nodes, %v", len(o.Functions), len(o.RecentFailures), len(o.Nodes), err)
	}
}

func BenchmarkOverviewEndpoint(b *testing.B) {
	h := atScale(b)
	for b.Loop() {
		serveOnce(h, "/v1/overview")
	}
}

func BenchmarkFunctionStatsEndpoint(b *testing.B) {
	h := atScale(b)
	for _, q := range []string{"since=24h&step=1m", "since=1h&step=1m", "since=1h&step=10s"} {
		b.Run(q, func(b *testing.B) {
			for b.Loop() {
				serveOnce(h, "/v1/functions/fn-0500/stats?"+q)
			}
		})
	}
}

func serveOnce(h http.Handler, path string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}
