package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/runtimes/contract"
)

// pausedYAML makes the pool pause an instance after 1 s without calls and keep it paused.
const pausedYAML = "idle_timeout: 1s\npause_timeout: 5m\n"

// pauseWait bounds the wait for the pool to pause an idle instance: idle_timeout, a reap tick
// and the pause itself take about 2 s.
const pauseWait = 10 * time.Second

// notPaused is the row's note when the pool never reported a paused instance.
const notPaused = "n/a (pool does not pause yet)"

// pausedRow compares hearth's call to an instance its pool paused with a raw Docker unpause +
// call of a container of the same image that the bench paused itself. Both sides stay paused
// for the same time: the raw container is paused while hearth's instance idles into its pause.
func (b *bench) pausedRow(ctx context.Context, rt string) (row, error) {
	r := row{Function: rt, Kind: kindPaused, Name: "call to a paused instance", FloorName: "Docker unpause + call"}
	fn, err := b.deployScaffold(ctx, rt, namePrefix+rt+"-pause", pausedYAML)
	if err != nil {
		return r, err
	}
	spec := rawSpec(fn)
	in, err := b.drv.Start(ctx, spec)
	if err != nil {
		return r, err
	}
	defer b.drv.Stop(context.WithoutCancel(ctx), spec.ID, time.Second) //nolint:errcheck // best effort
	hc := &http.Client{Timeout: 5 * time.Second}
	raw := "http://" + in.Endpoint + "/"
	if err := waitReady(ctx, hc, "http://"+in.Endpoint+contract.ReadyPath); err != nil {
		return r, err
	}
	invoke := b.client.InvokeURL(fn.name)

	logf("%s: %d calls to a paused instance, hearth and raw Docker alternating", rt, b.cfg.cold)
	var hs, fs sample
	pauses := true
	for i := 0; i < b.cfg.cold; i++ {
		if err := b.drv.Pause(ctx, spec.ID); err != nil {
			return r, err
		}
		if pauses {
			// A call makes sure hearth's instance runs (the first one starts it), then the pool
			// is left alone until it pauses the instance.
			if err := call(b.hc, invoke); err != nil {
				return r, err
			}
			if pauses, err = b.waitPaused(ctx, fn.name); err != nil {
				return r, err
			}
		} else if err := sleep(ctx, time.Second); err != nil {
			return r, err
		}
		t0 := time.Now()
		if err := b.drv.Resume(ctx, spec.ID); err != nil {
			return r, err
		}
		if err := call(hc, raw); err != nil {
			return r, err
		}
		fs = append(fs, time.Since(t0))
		if !pauses {
			continue
		}
		t0 = time.Now()
		if err := call(b.hc, invoke); err != nil {
			return r, err
		}
		hs = append(hs, time.Since(t0))
	}
	r.Floor, r.Hearth = fs.summarize(), hs.summarize()
	switch {
	case !pauses && len(hs) == 0:
		r.Hearth.Note = notPaused
	case !pauses:
		r.Hearth.Note = fmt.Sprintf("the pool paused the instance %d times, then stopped it instead", len(hs))
	}
	return r, b.remove(ctx, fn.name)
}

// waitPaused waits until the pool reports the function's instance paused and Docker agrees. It
// returns false when the pool stops the instance instead, or has not paused it within pauseWait.
func (b *bench) waitPaused(ctx context.Context, name string) (bool, error) {
	deadline := time.Now().Add(pauseWait)
	for time.Now().Before(deadline) {
		insts, err := b.pool(ctx, name)
		if err != nil {
			return false, err
		}
		if len(insts) == 0 {
			return false, nil // stopped at idle_timeout: the pool does not pause
		}
		if insts[0].State == string(instance.StatePaused) {
			cs, err := b.containers(ctx, name)
			if err != nil {
				return false, err
			}
			if len(cs) == 1 && cs[0].State == instance.StatePaused {
				return true, nil
			}
		}
		if err := sleep(ctx, 20*time.Millisecond); err != nil {
			return false, err
		}
	}
	return false, nil
}

// waitReady polls a ready endpoint until it answers 200.
func waitReady(ctx context.Context, hc *http.Client, url string) error {
	deadline := time.Now().Add(30 * time.Second)
	for call(hc, url) != nil {
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready in 30 s", url)
		}
		if err := sleep(ctx, 5*time.Millisecond); err != nil {
			return err
		}
	}
	return nil
}
