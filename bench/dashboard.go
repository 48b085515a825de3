package main

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/runtimes/funcfile"
	"github.com/hearthfn/hearth/scheduler/store/sqlstore"
)

// kindDashboard is the dashboard's row: the overview's load time in a real browser, against the
// time of the one API answer it is drawn from.
const kindDashboard kind = "dashboard"

// dashboardGoalMS is issue 12's goal for the overview's load with 1,000 functions and 100,000
// call records: under 300 ms to the first complete render.
const dashboardGoalMS = 300

// dashboardSetup sizes the dashboard row's store and its samples.
type dashboardSetup struct {
	functions, calls int
	// warmup loads are not timed (the browser's first load compiles the page's modules).
	warmup, samples int
}

// dashboardRow is the row of `make bench`: the overview with 1,000 functions and 100,000 call
// records, loaded 10 times after 2 untimed loads.
//
// "Complete render" is measured by the page's own clock, so the browser's remote control adds
// nothing: from the navigation's start (performance.timeOrigin: the request for /ui/ leaves)
// to the first animation frame, after the overview has fetched /v1/overview and built its
// table, in which the table holds a row for every function (data-test="function-row-NAME").
// That frame is the first the browser paints with the whole list. Each load is a new document
// (about:blank in between), so the page's modules, the sign-in check and the first overview
// fetch are all in it; the browser's cache is as a returning person's would be.
//
// The floor is GET /v1/overview alone, from Go with the same token: the part of the load that
// is the server's.
func dashboardRow(ctx context.Context, cfg config) (row, error) {
	return runDashboard(ctx, cfg, dashboardSetup{functions: 1000, calls: 100000, warmup: 2, samples: 10})
}

func runDashboard(ctx context.Context, cfg config, s dashboardSetup) (row, error) {
	r := row{Function: "dashboard", Kind: kindDashboard, Driver: "docker", FloorName: "GET /v1/overview alone",
		Name: fmt.Sprintf("overview load to complete render, %d functions, %d calls", s.functions, s.calls)}
	dataDir, err := os.MkdirTemp("", "hearth-bench-dashboard-")
	if err != nil {
		return r, err
	}
	began := time.Now()
	if err := seedStore(ctx, filepath.Join(dataDir, "hearth.db"), s.functions, s.calls); err != nil {
		os.RemoveAll(dataDir)
		return r, fmt.Errorf("seed the store: %w", err)
	}
	logf("dashboard: seeded %d functions and %d call records in %.1f s", s.functions, s.calls, time.Since(began).Seconds())
	srv, err := startServerIn(ctx, cfg.bin, dataDir, "--dev")
	if err != nil {
		os.RemoveAll(dataDir)
		return r, err
	}
	defer srv.stop() // removes dataDir too
	token, err := srv.adminToken()
	if err != nil {
		return r, err
	}
	floor, err := timeOverviewAPI(ctx, srv.url, token, s.warmup, s.samples)
	if err != nil {
		return r, err
	}
	loads, err := timeOverviewLoads(ctx, cfg.chromium, srv.url, token, s)
	if err != nil {
		return r, err
	}
	r.Hearth, r.Floor = loads.summarize(), floor.summarize()
	met := r.Hearth.P50MS < dashboardGoalMS
	r.Goals = []goalResult{{Goal: fmt.Sprintf("median < %d ms", dashboardGoalMS), Value: r.Hearth.P50MS,
		Measured: ms(r.Hearth.P50MS) + " ms", Met: &met}}
	logf("dashboard: overview loads %s ms (min / median / p99), GET /v1/overview %s ms", cell(r.Hearth), cell(r.Floor))
	return r, nil
}

// seedStore writes functions and call records straight into a new store at path, before the
// server opens it: deploying 1,000 real functions would take most of an hour, and the overview
// reads only the store and the pool. Every function has one version of the same image, which
// never runs (min_instances is 0 and nothing calls them). The calls spread over the last hour,
// more to some functions than others, with a few errors and cold starts, as the overview's
// figures need.
func seedStore(ctx context.Context, path string, functions, calls int) error {
	st, err := sqlstore.Open(ctx, path)
	if err != nil {
		return err
	}
	defer st.Close()
	names := make([]string, functions)
	created := time.Now().Add(-2 * time.Hour)
	for i := range names {
		names[i] = fmt.Sprintf("fn-%04d", i)
		spec, err := funcfile.Parse([]byte("name: " + names[i] + "\nruntime: go\n"))
		if err != nil {
			return err
		}
		if _, err := st.AddVersion(ctx, names[i], api.Version{Image: "hearth/bench-dashboard:seeded", Spec: spec,
			SourceHash: "seeded", CreatedAt: created}); err != nil {
			return err
		}
	}
	rng := rand.New(rand.NewPCG(12, 12))
	now := time.Now()
	const batch = 1000
	buf := make([]api.Call, 0, batch)
	for i := range calls {
		// Oldest first, as the router records them: ids grow with time.
		at := now.Add(-time.Hour + time.Duration(i)*time.Hour/time.Duration(calls))
		// The square skews calls toward the first functions, as real traffic is uneven.
		fn := names[int(float64(functions)*rng.Float64()*rng.Float64())]
		d := time.Duration(500+rng.IntN(20000)) * time.Microsecond
		c := api.Call{ID: seededCallID(at, rng), Function: fn, Version: 1, Status: api.CallSucceeded, HTTPStatus: 200,
			CreatedAt: at, StartedAt: at, FinishedAt: at.Add(d), DurationMS: float64(d.Microseconds()) / 1000,
			Instance: fn + "-v1-seeded"}
		switch n := rng.IntN(100); {
		case n < 2:
			c.Status, c.HTTPStatus, c.Error = api.CallFailed, 500, "seeded failure"
		case n < 3:
			c.Cold = api.StartNew
		case n < 5:
			c.Cold = api.StartResumed
		}
		buf = append(buf, c)
		if len(buf) == batch || i == calls-1 {
			if err := st.RecordCalls(ctx, buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	return nil
}

// seededCallID is an id as the router makes them (time in milliseconds, then random bits).
func seededCallID(at time.Time, rng *rand.Rand) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[8:], rng.Uint64())
	binary.BigEndian.PutUint64(b[:8], uint64(at.UnixMilli())<<16|rng.Uint64()&0xffff)
	return hex.EncodeToString(b[:])
}

// timeOverviewAPI times GET /v1/overview from Go: warmup untimed, then samples timed.
func timeOverviewAPI(ctx context.Context, base, token string, warmup, samples int) (sample, error) {
	hc := &http.Client{Transport: withToken(http.DefaultTransport, token), Timeout: 10 * time.Second}
	var out sample
	for i := range warmup + samples {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/overview", nil)
		if err != nil {
			return nil, err
		}
		start := time.Now()
		resp, err := hc.Do(req)
		if err != nil {
			return nil, fmt.Errorf("GET /v1/overview: %w", err)
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		took := time.Since(start)
		if err != nil {
			return nil, fmt.Errorf("GET /v1/overview: %w", err)
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET /v1/overview: status %d", resp.StatusCode)
		}
		if i >= warmup {
			out = append(out, took)
		}
	}
	return out, nil
}
