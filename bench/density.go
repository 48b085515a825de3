package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"text/tabwriter"
	"time"

	dockerclient "github.com/docker/docker/client"

	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/runtimes/contract"
)

// The density row (issue 14): how many idle, paused instances of the Go no-op function a node
// keeps per GiB through hearth, beside raw Docker containers of the same image that the bench
// starts and pauses itself. What an instance costs the node is counted on both sides the same
// way (densitymem.go):
//
//   - the container: its memory cgroup's usage less page cache (the image's file pages are
//     charged to whichever container read them first, so they would land on the side that ran
//     first; they are shared by every instance of the image and are reported apart);
//   - the engine: its containerd-shim (PSS), and the growth of dockerd and containerd (PSS);
//   - hearth (its side only): the growth of the server and its children (the driver plugin).
//
// Growth is measured from a reading taken just before the side's instances start to one taken
// once all of them are paused. Hearth's side goes first: what dockerd's heap keeps after it
// then lowers the raw side's engine growth, not hearth's.

// kindDensity is the density row; its goal is in goals.go.
const kindDensity kind = "density"

// densitySettle is how long both sides rest once all their instances are paused, before memory
// is read: the last pauses' work (and the calls' connections) finish meanwhile.
const densitySettle = time.Second

// densityWait bounds the wait for the pool to start and then pause the n instances.
const densityWait = 30 * time.Second

// densityYAML makes n concurrent calls need n instances (one call each), pauses them after 1 s
// without calls and keeps them paused while they are measured.
func densityYAML(n int) string {
	return fmt.Sprintf("concurrency: 1\nmax_instances: %d\nidle_timeout: 1s\npause_timeout: 10m\n", n)
}

// densityFigures is what the density row measured, per side.
type densityFigures struct {
	Hearth densitySide `json:"hearth"`
	Raw    densitySide `json:"raw"`
}

// densitySide is one side's memory per instance, in KiB (a mean over its instances).
type densitySide struct {
	Instances int `json:"instances"`
	// ContainerKiB is the cgroup's memory less page cache; PageCacheKiB is reported, not counted.
	ContainerKiB float64 `json:"container_kib"`
	PageCacheKiB float64 `json:"page_cache_kib"`
	// ShimKiB is the container's containerd-shim (PSS); EngineKiB the growth of dockerd and
	// containerd (PSS), divided among the instances.
	ShimKiB   float64 `json:"shim_kib"`
	EngineKiB float64 `json:"engine_kib"`
	// HearthKiB is the growth of the hearth server and its children (PSS), divided among the
	// instances; 0 on the raw side.
	HearthKiB float64 `json:"hearth_kib"`
	// Growth is each shared process's change per instance (KiB; dockerd, containerd, and on
	// hearth's side server and plugin), as read: where EngineKiB and HearthKiB come from.
	Growth map[string]float64 `json:"growth_kib,omitempty"`
}

// totalKiB is what one instance costs the node.
func (s densitySide) totalKiB() float64 {
	return s.ContainerKiB + s.ShimKiB + s.EngineKiB + s.HearthKiB
}

// perGiB is how many such instances fit in a GiB; 0 when nothing was measured.
func (s densitySide) perGiB() float64 {
	if t := s.totalKiB(); t > 0 && s.Instances > 0 {
		return 1024 * 1024 / t
	}
	return 0
}

// densityShare measures hearth's instances per GiB as a share of raw Docker's.
func densityShare(r row) (float64, bool) {
	if r.Density == nil || r.Density.Hearth.perGiB() == 0 || r.Density.Raw.perGiB() == 0 {
		return 0, false
	}
	return r.Density.Hearth.perGiB() / r.Density.Raw.perGiB(), true
}

func times(v float64) string { return fmt.Sprintf("%.2fx", v) }

// densityRow measures n idle paused instances of the Go no-op function through hearth, then n
// raw containers of the same image, and removes both.
func (b *bench) densityRow(ctx context.Context, n int) (row, error) {
	r := row{Function: "go", Kind: kindDensity, Name: fmt.Sprintf("idle paused instances per GiB (%d)", n),
		FloorName: "raw Docker containers of the same image, paused"}
	host := b.cfg.dockerHost
	api, err := dockerclient.NewClientWithOpts(dockerclient.WithHost(host), dockerclient.WithAPIVersionNegotiation())
	if err != nil {
		return r, err
	}
	defer api.Close()
	mem := newMemReader(procRoot, cgroupRoot)
	engine, err := mem.enginePIDs(host)
	if err != nil {
		return r, fmt.Errorf("the engine's processes: %w", err)
	}

	fn, err := b.deployScaffold(ctx, "go", namePrefix+"go-density", densityYAML(n))
	if err != nil {
		return r, err
	}
	logf("go: density, %d paused instances through hearth", n)
	before := mem.snapshot(b.srv.cmd.Process.Pid, engine)
	ids, err := b.hearthPaused(ctx, fn.name, n)
	if err == nil {
		err = sleep(ctx, densitySettle)
	}
	if err != nil {
		_ = b.remove(context.WithoutCancel(ctx), fn.name)
		return r, err
	}
	hs, err := mem.side(ctx, api, ids, before, mem.snapshot(b.srv.cmd.Process.Pid, engine), true)
	if rerr := b.remove(ctx, fn.name); err == nil {
		err = rerr
	}
	if err != nil {
		return r, err
	}

	logf("go: density, %d paused raw Docker containers", n)
	before = mem.snapshot(0, engine)
	raw, err := b.rawPaused(ctx, fn, n)
	defer b.stopRaw(context.WithoutCancel(ctx), raw)
	if err == nil {
		err = sleep(ctx, densitySettle)
	}
	if err != nil {
		return r, err
	}
	rs, err := mem.side(ctx, api, raw, before, mem.snapshot(0, engine), false)
	if err != nil {
		return r, err
	}
	r.Density = &densityFigures{Hearth: hs, Raw: rs}
	r.Hearth.Note = fmt.Sprintf("%.0f per GiB (%.0f KiB each)", hs.perGiB(), hs.totalKiB())
	r.Floor.Note = fmt.Sprintf("%.0f per GiB (%.0f KiB each)", rs.perGiB(), rs.totalKiB())
	return r, nil
}

// hearthPaused has the pool start n instances of the function, by n concurrent calls (more
// bursts while it has fewer), waits until the pool and Docker both report all of them paused,
// and returns their instance ids.
func (b *bench) hearthPaused(ctx context.Context, name string, n int) ([]string, error) {
	invoke := b.client.InvokeURL(name)
	hc := &http.Client{Timeout: densityWait, Transport: withToken(&http.Transport{MaxIdleConnsPerHost: n}, b.srv.token)}
	defer hc.CloseIdleConnections()
	for burst := 0; ; burst++ {
		insts, err := b.pool(ctx, name)
		if err != nil {
			return nil, err
		}
		if len(insts) >= n {
			break
		}
		if burst == 3 {
			return nil, fmt.Errorf("%d concurrent calls left the pool with %d instances of %s, want %d", n, len(insts), name, n)
		}
		if err := concurrentCalls(hc, invoke, n); err != nil {
			return nil, err
		}
	}
	deadline := time.Now().Add(densityWait)
	for {
		insts, err := b.pool(ctx, name)
		if err != nil {
			return nil, err
		}
		cs, err := b.containers(ctx, name)
		if err != nil {
			return nil, err
		}
		paused, states := 0, map[string]int{}
		for _, in := range insts {
			states[in.State]++
			if in.State == string(instance.StatePaused) {
				paused++
			}
		}
		var ids []string
		for _, c := range cs {
			if c.State == instance.StatePaused {
				ids = append(ids, c.Instance.ID)
			}
		}
		if paused == n && len(ids) == n {
			return ids, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("after %s the pool has %d of %d instances of %s paused (states %v), Docker %d", densityWait, paused, n, name, states, len(ids))
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return nil, err
		}
	}
}

// concurrentCalls makes n calls at once and waits for all of them.
func concurrentCalls(hc *http.Client, url string, n int) error {
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() { errs <- call(hc, url) }()
	}
	var first error
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// rawPaused starts n containers of the function's image as the cold row's floor does, calls each
// once (as hearth's instances were), pauses them, and returns their ids: also on error, the ones
// it started, for stopRaw.
func (b *bench) rawPaused(ctx context.Context, fn deployed, n int) ([]string, error) {
	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var mu sync.Mutex
	var ids []string
	var first error
	next := make(chan struct{}, n)
	for i := 0; i < n; i++ {
		next <- struct{}{}
	}
	close(next)
	var wg sync.WaitGroup
	// A few at a time: as fast as the engine allows, as the pool's concurrent starts are.
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range next {
				spec := rawSpec(fn)
				spec.Labels[instance.LabelFunction] = namePrefix + "raw-density"
				in, err := b.drv.Start(ctx, spec)
				if err == nil {
					mu.Lock()
					ids = append(ids, spec.ID)
					mu.Unlock()
					if err = waitReady(ctx, hc, "http://"+in.Endpoint+contract.ReadyPath); err == nil {
						err = call(hc, "http://"+in.Endpoint+"/")
					}
				}
				if err == nil {
					err = b.drv.Pause(ctx, spec.ID)
				}
				if err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return ids, first
}

// stopRaw removes the raw containers, a few at a time.
func (b *bench) stopRaw(ctx context.Context, ids []string) {
	next := make(chan string, len(ids))
	for _, id := range ids {
		next <- id
	}
	close(next)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range next {
				_ = b.drv.Stop(ctx, id, time.Second) // best effort: the run is over for them
			}
		}()
	}
	wg.Wait()
}

// printDensity shows where each side's memory per instance goes.
func printDensity(w io.Writer, rows []row) {
	for _, r := range rows {
		if r.Density == nil {
			continue
		}
		fmt.Fprintf(w, "\ndensity: memory per idle paused instance of the go no-op (KiB, mean over %d instances)\n\n", r.Density.Hearth.Instances)
		tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SIDE\tCONTAINER\tSHIM\tDOCKERD+CONTAINERD\tHEARTH\tTOTAL\tPER GiB\t(PAGE CACHE, NOT COUNTED)")
		for _, s := range []struct {
			name string
			d    densitySide
		}{{"hearth", r.Density.Hearth}, {"raw docker", r.Density.Raw}} {
			fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.1f\t%.0f\n", s.name, s.d.ContainerKiB, s.d.ShimKiB,
				s.d.EngineKiB, s.d.HearthKiB, s.d.totalKiB(), s.d.perGiB(), s.d.PageCacheKiB)
		}
		tw.Flush()
		g := r.Density.Hearth.Growth
		fmt.Fprintf(w, "  growth per instance on hearth's side: server %.0f, driver plugin %.0f, dockerd %.0f, containerd %.0f KiB\n",
			g["server"], g["plugin"], g["dockerd"], g["containerd"])
		g = r.Density.Raw.Growth
		fmt.Fprintf(w, "  on the raw side: dockerd %.0f, containerd %.0f KiB\n", g["dockerd"], g["containerd"])
	}
}
