package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/runtimes/contract"
)

// coldYAML makes the pool stop an idle instance within seconds (paused after 1 s, stopped 1 s
// later; stopped at 1 s by a pool that does not pause), so that the next call finds none.
const coldYAML = "idle_timeout: 1s\npause_timeout: 1s\n"

// coldRun is a cold row's function and hearth's samples, reused as its runtime's time to ready.
type coldRun struct {
	fn     deployed
	size   int64
	hearth sample
}

// coldRow compares hearth's first call with no instance against a raw Docker create + start +
// ready + first call of the same image, alternating the two.
//
// Hearth's instance is taken away the way it is in service: the pool stops it after
// idle_timeout (and pause_timeout), and the sample starts only once its container is gone.
func (b *bench) coldRow(ctx context.Context, rt string) (row, coldRun, error) {
	fn, err := b.deployScaffold(ctx, rt, namePrefix+rt, coldYAML)
	if err != nil {
		return row{}, coldRun{}, err
	}
	size, err := imageSize(ctx, fn.image)
	if err != nil {
		return row{}, coldRun{}, err
	}
	logf("%s: %d cold starts, hearth and raw Docker alternating", rt, b.cfg.cold)
	hs, fs, err := b.coldSamples(ctx, fn, b.cfg.cold, true)
	if err != nil {
		return row{}, coldRun{}, err
	}
	if err := b.remove(ctx, fn.name); err != nil {
		return row{}, coldRun{}, err
	}
	r := row{Function: rt, Kind: kindCold, Name: "first call, no instance", Hearth: hs.summarize(), Floor: fs.summarize(),
		FloorName: "Docker create + start + ready + call"}
	return r, coldRun{fn: fn, size: size, hearth: hs}, nil
}

// coldSamples takes n cold starts through hearth and, when withFloor, a raw one before each.
// The first call after the deploy starts the first instance and is not counted: it also pays
// for the image's first read from disk.
func (b *bench) coldSamples(ctx context.Context, fn deployed, n int, withFloor bool) (hearth, floor sample, err error) {
	if err := call(b.hc, b.client.InvokeURL(fn.name)); err != nil {
		return nil, nil, err
	}
	for i := 0; i < n; i++ {
		if err := b.waitStopped(ctx, fn); err != nil {
			return nil, nil, err
		}
		// The raw sample goes first, while the function has no instance: the pool then has
		// nothing to pause or stop that could overlap it.
		if withFloor {
			d, err := b.rawCold(ctx, fn)
			if err != nil {
				return nil, nil, err
			}
			floor = append(floor, d)
		}
		t0 := time.Now()
		if err := call(b.hc, b.client.InvokeURL(fn.name)); err != nil {
			return nil, nil, err
		}
		hearth = append(hearth, time.Since(t0))
	}
	return hearth, floor, nil
}

// waitStopped waits until the pool has stopped the function's idle instance and its container
// is gone.
func (b *bench) waitStopped(ctx context.Context, fn deployed) error {
	limit := fn.spec.IdleTimeout.D() + fn.spec.PauseTimeout.D() + 30*time.Second
	deadline := time.Now().Add(limit)
	for {
		insts, err := b.pool(ctx, fn.name)
		if err != nil {
			return err
		}
		if len(insts) == 0 {
			return b.waitNoneRunning(ctx, fn.name, 30*time.Second)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the pool kept %d instance(s) of %s for %s with idle_timeout %s: idle instances are not stopped",
				len(insts), fn.name, limit, fn.spec.IdleTimeout.D())
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
}

// rawCold times the floor: create and start a container of the function's image through the
// Docker API, poll its ready endpoint every millisecond, make one call.
func (b *bench) rawCold(ctx context.Context, fn deployed) (time.Duration, error) {
	spec := rawSpec(fn)
	t0 := time.Now()
	in, err := b.drv.Start(ctx, spec)
	if err != nil {
		return 0, err
	}
	defer b.drv.Stop(context.WithoutCancel(ctx), spec.ID, time.Second) //nolint:errcheck // best effort
	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for call(hc, "http://"+in.Endpoint+contract.ReadyPath) != nil {
		if time.Since(t0) > 30*time.Second {
			return 0, fmt.Errorf("raw instance of %s not ready in 30 s", fn.image)
		}
		time.Sleep(time.Millisecond)
	}
	err = call(hc, "http://"+in.Endpoint+"/")
	return time.Since(t0), err
}

// coldShare measures hearth's median cold call as a share of the raw create + start + ready +
// call median of the same run (issue 14's goal: at most half).
func coldShare(r row) (float64, bool) {
	if r.Hearth.N == 0 || r.Floor.N == 0 || r.Floor.P50MS == 0 {
		return 0, false
	}
	return r.Hearth.P50MS / r.Floor.P50MS, true
}

// waitNoneRunning is waitGone for the cold row: the container the pool prepared ahead for the
// function's next start (created, not started: listed as starting) stays, and is what the
// next cold start uses.
func (b *bench) waitNoneRunning(ctx context.Context, name string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		cs, err := b.containers(ctx, name)
		if err != nil {
			return err
		}
		running := 0
		for _, c := range cs {
			if c.State != instance.StateStarting {
				running++
			}
		}
		if running == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d instance(s) of %s still on %s after %s", running, name, b.driver, limit)
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
}
