package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/hearthfn/hearth/agent/driver/docker"
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
// call of a container of the same image that the bench paused itself (the floor), and with a raw
// cgroup thaw + call of a second one the bench froze itself (the floor of the freezer method
// hearth's Docker driver uses, issue 14). All three stay paused for the same time: the raw
// containers are paused while hearth's instance idles into its pause.
func (b *bench) pausedRow(ctx context.Context, rt string) (row, error) {
	r := row{Function: rt, Kind: kindPaused, Name: "call to a paused instance", FloorName: "Docker unpause + call"}
	fn, err := b.deployScaffold(ctx, rt, namePrefix+rt+"-pause", pausedYAML)
	if err != nil {
		return r, err
	}
	// The floor's driver pauses through Docker's API whatever the host offers; b.drv uses the
	// freezer where it can, as the server's driver does.
	viaDocker, err := docker.New(docker.Config{Host: b.cfg.dockerHost, DockerPause: true})
	if err != nil {
		return r, err
	}
	defer viaDocker.Close()
	hc := &http.Client{Timeout: 5 * time.Second}
	raw, stopRaw, err := b.rawPauseTarget(ctx, fn, hc)
	defer stopRaw()
	if err != nil {
		return r, err
	}
	thawed, stopThawed, err := b.rawPauseTarget(ctx, fn, hc)
	defer stopThawed()
	if err != nil {
		return r, err
	}
	invoke := b.client.InvokeURL(fn.name)

	logf("%s: %d calls to a paused instance, hearth, raw Docker unpause and raw cgroup thaw alternating", rt, b.cfg.cold)
	var hs, fs, ts sample
	pauses := true
	for i := 0; i < b.cfg.cold; i++ {
		if err := viaDocker.Pause(ctx, raw.id); err != nil {
			return r, err
		}
		if err := b.drv.Pause(ctx, thawed.id); err != nil {
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
		d, err := resumeAndCall(ctx, viaDocker, raw, hc)
		if err != nil {
			return r, err
		}
		fs = append(fs, d)
		if d, err = resumeAndCall(ctx, b.drv, thawed, hc); err != nil {
			return r, err
		}
		ts = append(ts, d)
		if !pauses {
			continue
		}
		t0 := time.Now()
		if err := call(b.hc, invoke); err != nil {
			return r, err
		}
		hs = append(hs, time.Since(t0))
	}
	r.Floor, r.Hearth = fs.summarize(), hs.summarize()
	freezer := ts.summarize()
	r.FreezerFloor = &freezer
	if !b.drv.UsesFreezer() {
		r.FreezerFloor.Note = "n/a (no usable cgroup freezer: Docker's API)"
	}
	switch {
	case !pauses && len(hs) == 0:
		r.Hearth.Note = notPaused
	case !pauses:
		r.Hearth.Note = fmt.Sprintf("the pool paused the instance %d times, then stopped it instead", len(hs))
	}
	return r, b.remove(ctx, fn.name)
}

// pauseTarget is a raw container of the function's image the bench pauses and resumes itself.
type pauseTarget struct {
	id, url string
}

// rawPauseTarget starts a raw container of fn's image, which nothing follows, and waits until
// it is ready (the paused row's floors, and the warm rows': warm.go). The caller stops it with
// the returned func, also on error.
func (b *bench) rawPauseTarget(ctx context.Context, fn deployed, hc *http.Client) (pauseTarget, func(), error) {
	spec := rawSpec(fn)
	in, err := b.drv.Start(ctx, spec)
	if err != nil {
		return pauseTarget{}, func() {}, err
	}
	stop := func() {
		b.drv.Stop(context.WithoutCancel(ctx), spec.ID, time.Second) //nolint:errcheck // best effort
	}
	if err := waitReady(ctx, hc, "http://"+in.Endpoint+contract.ReadyPath); err != nil {
		return pauseTarget{}, stop, err
	}
	return pauseTarget{id: spec.ID, url: "http://" + in.Endpoint + "/"}, stop, nil
}

// resumeAndCall times a resume of t through drv and one call to it.
func resumeAndCall(ctx context.Context, drv *docker.Driver, t pauseTarget, hc *http.Client) (time.Duration, error) {
	t0 := time.Now()
	if err := drv.Resume(ctx, t.id); err != nil {
		return 0, err
	}
	if err := call(hc, t.url); err != nil {
		return 0, err
	}
	return time.Since(t0), nil
}

// medianRatio measures hearth's median as a share of the floor's.
func medianRatio(r row) (float64, bool) {
	if r.Hearth.N == 0 || r.Floor.N == 0 || r.Floor.P50MS == 0 {
		return 0, false
	}
	return r.Hearth.P50MS / r.Floor.P50MS, true
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
			// The container the pool prepared ahead for the next start is listed as starting
			// (created, not started): it is not the instance.
			paused, others := 0, 0
			for _, c := range cs {
				switch c.State {
				case instance.StatePaused:
					paused++
				case instance.StateStarting:
				default:
					others++
				}
			}
			if paused == 1 && others == 0 {
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
