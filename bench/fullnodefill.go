package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hearthfn/hearth/agent/driver/docker"
	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/builder/buildctx"
)

// Filling the full-node section's servers with functions and instances (fullnode.go).

// funcYAML is the func.yaml of the section's functions.
func funcYAML(name, runtime string, idle, pause time.Duration) string {
	return fmt.Sprintf("name: %s\nversion: 0.1.0\nruntime: %s\nmemory: %d\nidle_timeout: %s\npause_timeout: %s\n",
		name, runtime, fullMemoryMB, idle, pause)
}

// The settings of the functions: paused after 1 s without calls and kept paused for the whole
// section; the warm functions are kept running through the warm rounds.
const (
	fullIdle      = time.Second
	fullPause     = time.Hour
	fullWarmIdle  = 5 * time.Minute
	seedDockerRef = "FROM %s\n"
)

// deploySeed deploys the go scaffold as name, with the section's settings.
func (b *bench) deploySeed(ctx context.Context, name string) (deployed, error) {
	dir, err := b.writeScaffold("go", name)
	if err != nil {
		return deployed{}, err
	}
	if err := os.WriteFile(filepath.Join(dir, "func.yaml"), []byte(funcYAML(name, "go", fullIdle, fullPause)), 0o644); err != nil {
		return deployed{}, err
	}
	return b.deployDir(ctx, name, dir)
}

// deployFrom deploys name as the docker runtime's build of a Dockerfile FROM the seed's image.
func (b *bench) deployFrom(ctx context.Context, seed deployed, name string, idle time.Duration) (deployed, error) {
	dir := filepath.Join(b.work, "src", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return deployed{}, err
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(fmt.Sprintf(seedDockerRef, seed.image)), 0o644); err != nil {
		return deployed{}, err
	}
	if err := os.WriteFile(filepath.Join(dir, "func.yaml"), []byte(funcYAML(name, "docker", idle, fullPause)), 0o644); err != nil {
		return deployed{}, err
	}
	return b.deployDir(ctx, name, dir)
}

// deployDir packs dir and deploys it as name; buildTime is the deploy's whole time.
func (b *bench) deployDir(ctx context.Context, name, dir string) (deployed, error) {
	var archive bytes.Buffer
	if err := buildctx.PackDir(&archive, dir); err != nil {
		return deployed{}, err
	}
	began := time.Now()
	fn, _, err := b.client.Deploy(ctx, name, &archive, nil)
	if err != nil {
		return deployed{}, fmt.Errorf("deploy %s: %w", name, err)
	}
	return deployed{name: name, image: fn.Version.Image, spec: fn.Version.Spec.WithDefaults(), buildTime: time.Since(began)}, nil
}

// deployPlan splits n deploys into the first ones and the last ones, timed one at a time, and
// the middle ones between them.
func deployPlan(n, ends int) (first, last int) {
	first = min(ends, n)
	last = min(ends, n-first)
	return first, last
}

// deployAll deploys names from the seed: the first and last ones alone, timed, the middle ones
// fullParallel at a time.
func (b *bench) deployAll(ctx context.Context, seed deployed, names []string, rep *fullNodeReport) error {
	began := time.Now()
	first, last := deployPlan(len(names), fullFirstLast)
	alone := func(names []string) ([]float64, error) {
		var out []float64
		for _, name := range names {
			fn, err := b.deployFrom(ctx, seed, name, fullIdle)
			if err != nil {
				return nil, err
			}
			out = append(out, float64(fn.buildTime.Microseconds())/1000)
		}
		return out, nil
	}
	var err error
	if rep.DeployFirstMS, err = alone(names[:first]); err != nil {
		return err
	}
	err = parallel(ctx, names[first:len(names)-last], func(name string) error {
		_, err := b.deployFrom(ctx, seed, name, fullIdle)
		return err
	})
	if err != nil {
		return err
	}
	if rep.DeployLastMS, err = alone(names[len(names)-last:]); err != nil {
		return err
	}
	rep.DeploySeconds = time.Since(began).Seconds()
	return nil
}

// parallel runs do on every item, fullParallel at a time, and returns the first error.
func parallel(ctx context.Context, items []string, do func(string) error) error {
	return parallelN(ctx, fullParallel, items, do)
}

// parallelN runs do on every item, n at a time, and returns the first error.
func parallelN(ctx context.Context, n int, items []string, do func(string) error) error {
	next := make(chan string, len(items))
	for _, it := range items {
		next <- it
	}
	close(next)
	// The first failure stops the others at their next item.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, n)
	for range n {
		go func() {
			for it := range next {
				if err := ctx.Err(); err != nil {
					errs <- err
					return
				}
				if err := do(it); err != nil {
					cancel()
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	var first error
	for range n {
		// The failure itself, not the cancellation it caused in the others.
		if err := <-errs; err != nil && (first == nil || errors.Is(first, context.Canceled)) {
			first = err
		}
	}
	return first
}

// fill calls every function once and waits until the engine shows all their instances paused.
func (b *bench) fill(ctx context.Context, drv *docker.Driver, names []string) error {
	err := parallel(ctx, names, func(name string) error { return call(b.hc, b.client.InvokeURL(name)) })
	if err != nil {
		return err
	}
	want := make(map[string]bool, len(names))
	for _, name := range names {
		want[name] = true
	}
	deadline := time.Now().Add(fullPausedWait)
	for {
		all, err := drv.List(ctx)
		if err != nil {
			return err
		}
		paused := 0
		for _, st := range all {
			if want[st.Function] && st.State == instance.StatePaused {
				paused++
			}
		}
		if paused >= len(names) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %s, %d of %d instances are paused", fullPausedWait, paused, len(names))
		}
		if err := sleep(ctx, 250*time.Millisecond); err != nil {
			return err
		}
	}
}
