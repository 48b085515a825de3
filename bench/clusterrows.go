package main

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/hearthfn/hearth/agent/driver/docker"
	"github.com/hearthfn/hearth/api"
)

// clusterPullRows compares, on the agent's node, hearth's first call with no instance when the
// node must pull the function's image from the registry with the same call when the node has
// it; and what the pull adds to that call with a pull of the same image through the Docker API
// on the same engine.
//
// Every sample begins with no instance (clearInstances). For a must-pull sample the image is
// then removed from the engine (docker rmi: nothing else on the engine shares its layers, so
// all of them go). Each round takes the floor's pull, then a has-image sample, then a must-pull
// sample.
func (b *bench) clusterPullRows(ctx context.Context, eng *engine, view *docker.Driver, rt string) ([]row, error) {
	fn, err := b.deployScaffold(ctx, rt, namePrefix+b.names+rt, "")
	if err != nil {
		return nil, err
	}
	size, err := imageSize(ctx, fn.image)
	if err != nil {
		return nil, err
	}
	n := b.cfg.clusterCold
	logf("cluster: %d rounds of a Docker API pull, a first call with the image and one without (%.1f MB image)", n, float64(size)/1e6)
	// The first call starts the first instance on the node, which pulls the image: not
	// counted, as in coldSamples.
	if err := call(b.hc, b.client.InvokeURL(fn.name)); err != nil {
		return nil, err
	}
	var pulls, has, must, alone sample
	for i := 0; i < n; i++ {
		if err := b.clearInstances(ctx, fn, 2*i); err != nil {
			return nil, err
		}
		if err := eng.removeImage(ctx, fn.image); err != nil {
			return nil, err
		}
		t0 := time.Now()
		if err := view.EnsureImage(ctx, fn.image); err != nil {
			return nil, fmt.Errorf("the floor's pull: %w", err)
		}
		pulls = append(pulls, time.Since(t0))

		t0 = time.Now()
		if err := call(b.hc, b.client.InvokeURL(fn.name)); err != nil {
			return nil, err
		}
		has = append(has, time.Since(t0))

		if err := b.clearInstances(ctx, fn, 2*i+1); err != nil {
			return nil, err
		}
		if err := eng.removeImage(ctx, fn.image); err != nil {
			return nil, err
		}
		t0 = time.Now()
		if err := call(b.hc, b.client.InvokeURL(fn.name)); err != nil {
			return nil, err
		}
		must = append(must, time.Since(t0))
		alone = append(alone, must[i]-has[i])
	}
	if err := b.remove(ctx, fn.name); err != nil {
		return nil, err
	}
	return []row{
		{Function: rt, Kind: kindClusterPull, Name: "first call, node must pull the image", Hearth: must.summarize(), Floor: has.summarize(),
			FloorName: "the same first call, the node has the image"},
		{Function: rt, Kind: kindClusterPullAlone, Name: "the pull alone (must pull - has image, paired)", Hearth: alone.summarize(),
			Floor: pulls.summarize(), FloorName: "pull of the same image through the Docker API on the same engine"},
	}, nil
}

// clearInstances takes the function's instances away, the quickest way that leaves the next call
// as a first call after an idle stop would find the node: a setting change that needs new
// instances (an environment variable, set to a value of the round's own) makes a new version,
// whose first call starts an instance like any, and the pool stops the old version's idle
// instance at once rather than after idle_timeout and pause_timeout. It returns once the pool
// lists no instance and the container is gone from the agent's engine.
func (b *bench) clearInstances(ctx context.Context, fn deployed, round int) error {
	v := strconv.Itoa(round)
	if _, err := b.client.Configure(ctx, fn.name, api.ConfigPatch{Env: map[string]*string{"BENCH_ROUND": &v}}); err != nil {
		return fmt.Errorf("configure %s: %w", fn.name, err)
	}
	const limit = 30 * time.Second
	deadline := time.Now().Add(limit)
	for {
		insts, err := b.pool(ctx, fn.name)
		if err != nil {
			return err
		}
		if len(insts) == 0 {
			return b.waitGone(ctx, fn.name, limit)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the pool kept %d instance(s) of %s for %s after a new version (%+v): idle instances of an old version are not stopped",
				len(insts), fn.name, limit, insts)
		}
		if err := sleep(ctx, 20*time.Millisecond); err != nil {
			return err
		}
	}
}

// clusterWarmRow compares warm calls through hearth to an instance on the agent's engine with
// direct calls to the instance's published endpoint, at concurrency 1, with the same client and
// number of calls as warmRows, and with a bare reverse proxy to the same endpoint (proxy.go).
func (b *bench) clusterWarmRow(ctx context.Context, rt string) (row, error) {
	name := namePrefix + b.names + rt + "-warm"
	logf("cluster: deploying %s", name)
	fn, err := b.deployScaffold(ctx, rt, name, warmYAML)
	if err != nil {
		return row{}, err
	}
	invoke := b.client.InvokeURL(fn.name)
	if err := call(b.hc, invoke); err != nil {
		return row{}, err
	}
	insts, err := b.pool(ctx, fn.name)
	if err != nil {
		return row{}, err
	}
	if len(insts) != 1 || insts[0].Endpoint == "" {
		return row{}, fmt.Errorf("want one instance of %s after a call, the pool has %d", fn.name, len(insts))
	}
	// The endpoint the router calls: the port the agent's engine published on its advertise
	// address, not a container address.
	if host, _, err := net.SplitHostPort(insts[0].Endpoint); err != nil || host != "127.0.0.1" {
		return row{}, fmt.Errorf("instance %s of %s has endpoint %q, want a port published on 127.0.0.1", insts[0].ID, fn.name, insts[0].Endpoint)
	}
	direct := "http://" + insts[0].Endpoint + "/"
	proxy, err := startProxy(ctx, direct)
	if err != nil {
		return row{}, err
	}
	defer proxy.stop()
	logf("cluster: warm calls to node %s, concurrency 1, %d per side", insts[0].Node, b.cfg.calls)
	h, f, p := newLoader(invoke, 1, b.srv.token), newLoader(direct, 1, ""), newLoader(proxy.url, 1, "")
	h.cpu, p.cpu = newCPUMeter(meteredProc{procServer, b.srv.cmd.Process.Pid}), newCPUMeter(meteredProc{procProxy, proxy.cmd.Process.Pid})
	if err := compareLoad(ctx, []*loader{h, f, p}, b.cfg.calls); err != nil {
		return row{}, err
	}
	ps := p.summary()
	r := row{Function: rt, Kind: kindClusterWarm, Name: "warm call, instance on another engine", Hearth: h.summary(), Floor: f.summary(),
		FloorName: "direct HTTP call to the instance's published endpoint", BareProxy: &ps,
		HearthCPUPerCallUS: h.cpuPerCallUS(), ProxyCPUPerCallUS: p.cpuPerCallUS()}
	return r, b.remove(ctx, fn.name)
}

// removeImage removes an image from the engine. It fails when a container still uses it.
func (e *engine) removeImage(ctx context.Context, ref string) error {
	if out, err := e.docker(ctx, "rmi", ref); err != nil {
		return fmt.Errorf("docker rmi %s on the bench engine: %v: %s", ref, err, out)
	}
	return nil
}
