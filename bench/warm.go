package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// warmYAML lets the single instance take all 16 concurrent calls, as the direct floor's does:
// with max_instances 1, hearth and the floor hit the same instance. The long idle_timeout keeps
// the pool from pausing it while only the floor calls it.
const warmYAML = "concurrency: 16\nmax_instances: 1\nidle_timeout: 5m\n"

// rounds is how many alternating slices the warm calls of each side are cut into, so that the
// noise of a shared machine falls on hearth and the floor alike.
const rounds = 4

// warmRows compares calls through hearth with calls straight to a container of the same image
// and settings that the bench started itself, at concurrency 1 and 16, and with calls through a
// bare reverse proxy to that container (proxy.go). The floor's container is not hearth's: hearth
// follows its instances' output, and calls to them would make hearth's processes and dockerd
// work for the floor's side (cpu.go).
func (b *bench) warmRows(ctx context.Context, rt string) ([]row, error) {
	name := namePrefix + b.names + rt + "-warm"
	logf("%s: deploying %s", rt, name)
	fn, err := b.deployScaffold(ctx, rt, name, warmYAML)
	if err != nil {
		return nil, err
	}
	invoke := b.client.InvokeURL(fn.name)
	if err := call(b.hc, invoke); err != nil {
		return nil, err
	}
	insts, err := b.pool(ctx, fn.name)
	if err != nil {
		return nil, err
	}
	if len(insts) != 1 || insts[0].Endpoint == "" {
		return nil, fmt.Errorf("want one instance of %s after a call, the pool has %d", fn.name, len(insts))
	}
	direct, floorName, stopRaw, err := b.warmFloor(ctx, fn, insts[0].Endpoint)
	if err != nil {
		return nil, err
	}
	defer stopRaw()
	proxy, err := startProxy(ctx, direct)
	if err != nil {
		return nil, err
	}
	defer proxy.stop()
	srvPID := b.srv.cmd.Process.Pid
	plugin, err := pluginPID(srvPID)
	if err != nil {
		logf("%s: the driver plugin's CPU is not counted: %v", rt, err)
	}
	dockerd := dockerdPID(b.cfg.dockerHost)
	var rows []row
	for _, c := range []struct {
		conc, calls int
		kind        kind
	}{{1, b.cfg.calls, kindWarm1}, {16, b.cfg.calls * 4, kindWarm16}} {
		logf("%s: warm calls, concurrency %d, %d per side", rt, c.conc, c.calls)
		h, f, p := newLoader(invoke, c.conc, b.srv.token), newLoader(direct, c.conc, ""), newLoader(proxy.url, c.conc, "")
		h.cpu = newCPUMeter(meteredProc{procServer, srvPID}, meteredProc{procPlugin, plugin}, meteredProc{procDocker, dockerd})
		p.cpu = newCPUMeter(meteredProc{procProxy, proxy.cmd.Process.Pid}, meteredProc{procDocker, dockerd})
		f.cpu = newCPUMeter(meteredProc{procDocker, dockerd})
		if err := compareLoad(ctx, []*loader{h, f, p}, c.calls); err != nil {
			return nil, err
		}
		ps := p.summary()
		hc, pc, fc := h.cpu.perCall(len(h.lat)), p.cpu.perCall(len(p.lat)), f.cpu.perCall(len(f.lat))
		rows = append(rows, row{Function: rt, Kind: c.kind, Name: fmt.Sprintf("warm call, concurrency %d", c.conc),
			Hearth: h.summary(), Floor: f.summary(), FloorName: floorName,
			BareProxy: &ps, HearthCPUPerCallUS: of(hc, procServer), ProxyCPUPerCallUS: of(pc, procProxy),
			CPU: newCPUPerCall(hc, pc, fc)})
	}
	return rows, b.remove(ctx, fn.name)
}

// compareLoad makes n calls through each loader, alternating between them in rounds.
func compareLoad(ctx context.Context, sides []*loader, n int) error {
	defer func() {
		for _, l := range sides {
			l.hc.CloseIdleConnections()
		}
	}()
	for _, l := range sides {
		if err := l.warm(); err != nil {
			return err
		}
	}
	for r := 0; r < rounds; r++ {
		for _, l := range sides {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := l.run(n / rounds); err != nil {
				return err
			}
		}
	}
	return nil
}

// loader calls one URL from conc goroutines over its own keep-alive connections.
type loader struct {
	url  string
	conc int
	hc   *http.Client
	lat  sample
	took time.Duration
	// cpu, when set, counts the CPU time of the processes whose share of the calls is wanted
	// during run (cpu.go).
	cpu *cpuMeter
}

// newLoader returns a loader of url; a token, when not "", is sent with every call.
func newLoader(url string, conc int, token string) *loader {
	var rt http.RoundTripper = &http.Transport{MaxIdleConnsPerHost: conc * 2}
	if token != "" {
		rt = withToken(rt, token)
	}
	return &loader{url: url, conc: conc, hc: &http.Client{Timeout: 30 * time.Second, Transport: rt}}
}

// warm opens the connections: the calls measured reuse them, as a steady client's would.
func (l *loader) warm() error {
	var wg sync.WaitGroup
	errs := make([]error, l.conc)
	for i := 0; i < l.conc; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs[i] = call(l.hc, l.url)
		}(i)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// run makes n calls and adds their latencies and duration to the loader's.
func (l *loader) run(n int) error {
	lat := make(sample, n)
	next := make(chan int, n)
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	var cpu0 []time.Duration
	if l.cpu != nil {
		if cpu0, firstErr = l.cpu.read(); firstErr != nil {
			return firstErr
		}
	}
	began := time.Now()
	for w := 0; w < l.conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				t0 := time.Now()
				err := call(l.hc, l.url)
				lat[i] = time.Since(t0)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	l.took += time.Since(began)
	l.lat = append(l.lat, lat...)
	if l.cpu != nil {
		cpu1, err := l.cpu.read()
		if err != nil {
			return err
		}
		l.cpu.add(cpu0, cpu1)
	}
	return firstErr
}

// cpuPerCallUS is the CPU time the first measured process (the server, the proxy) used per
// call, in µs; 0 when not measured.
func (l *loader) cpuPerCallUS() float64 {
	if l.cpu == nil || len(l.cpu.procs) == 0 {
		return 0
	}
	return l.cpu.perCall(len(l.lat))[0].US
}

func (l *loader) summary() summary {
	s := l.lat.summarize()
	if l.took > 0 {
		s.RPS = float64(len(l.lat)) / l.took.Seconds()
	}
	return s
}

// warmFloor starts the floor's container: one of the same image and settings as fn's, which
// nobody follows, and returns its URL, what the floor is called, and how to stop it. A section
// with no driver of its own (Nomad: the instances run where Nomad puts them) calls hearth's
// instance at endpoint directly instead, as the floor did before the CPU rows.
func (b *bench) warmFloor(ctx context.Context, fn deployed, endpoint string) (url, name string, stop func(), err error) {
	if b.drv == nil {
		return "http://" + endpoint + "/", "direct HTTP call to hearth's instance", func() {}, nil
	}
	raw, stop, err := b.rawPauseTarget(ctx, fn, &http.Client{Timeout: 5 * time.Second})
	if err != nil {
		stop()
		return "", "", nil, err
	}
	return raw.url, "direct HTTP call to a container of the same image nobody follows", stop, nil
}
