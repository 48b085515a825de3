package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/hearthfn/hearth/agent/driver/docker"
	"github.com/hearthfn/hearth/api/client"
	"github.com/hearthfn/hearth/runtimes"
)

type config struct {
	bin        string
	calls      int
	cold       int
	out        string
	functions  string
	runtimes   string
	dockerHost string
	// nomad, when true, adds the Nomad section (nomad.go): a server on the Nomad agent at
	// nomadAddr, pushing images to registry, with nomadCold cold samples per side.
	nomad     bool
	nomadAddr string
	registry  string
	nomadCold int
	// cluster, when true, adds the cluster section (cluster.go): a server and one agent on a
	// Docker Engine of the bench's own, pulling from registry, with clusterCold rounds of the
	// pull rows.
	cluster     bool
	clusterCold int
	// dashboard, when true, adds the dashboard row (dashboard.go): the overview's load time in
	// the headless browser at chromium.
	dashboard bool
	chromium  string
	// only, when not empty, limits the run to these sections (comma-separated; see want).
	only string
	// density is how many idle paused instances the density row keeps on each side (density.go).
	density int
	// fullnodeFunctions is how many functions the full-node section deploys (fullnode.go; 0
	// leaves it out), fullnodeCold its fresh functions' first calls per side, fullnodeIdle how
	// long it reads the idle server's CPU.
	fullnodeFunctions int
	fullnodeCold      int
	fullnodeIdle      time.Duration
}

// want reports whether the run measures section: "warm", "cold", "paused" (each runtime's
// rows of that kind), "placement", "dashboard", "runtimes", "nomad", "cluster", or another
// section's own name. Every section is measured when -only is empty.
func (c config) want(section string) bool {
	return c.only == "" || contains(splitList(c.only), section)
}

// report is everything one run measured; it is also the JSON written to -out.
type report struct {
	When     time.Time    `json:"when"`
	Machine  machine      `json:"machine"`
	Rows     []row        `json:"rows"`
	Runtimes []runtimeRow `json:"runtimes"`
	// NomadPhases is where the time of each Nomad cold start went, by Nomad's own record.
	NomadPhases *nomadPhaseReport `json:"nomad_phases,omitempty"`
	// WallSeconds is the run's duration, server start to the last figure.
	WallSeconds float64 `json:"wall_seconds"`
	// KeepAlive is the keep-alive policies' replay of a synthetic trace (keepalive.go).
	KeepAlive *keepaliveReport `json:"keepalive,omitempty"`
	// FullNode is the full-node section (fullnode.go).
	FullNode *fullNodeReport `json:"full_node,omitempty"`
}

// machine says where the figures were taken.
type machine struct {
	CPUs   int    `json:"cpus"`
	OS     string `json:"os"`
	Docker string `json:"docker"`
	Nomad  string `json:"nomad,omitempty"`
	Go     string `json:"go"`
}

// row is one line of the table: hearth's figure and the floor it is compared with.
type row struct {
	// Function is the runtime of the no-op function measured ("go", "python").
	Function string `json:"function"`
	// Driver is what ran the instances: "docker" (hearth server --dev), "nomad", or "cluster"
	// (an agent on another engine).
	Driver string  `json:"driver"`
	Kind   kind    `json:"kind"`
	Name   string  `json:"name"`
	Hearth summary `json:"hearth"`
	Floor  summary `json:"floor"`
	// Paired is hearth's time minus the floor's, sample pair by sample pair (the Nomad cold
	// row, whose pairs each begin at a point of the Nomad client's report cycle of their own).
	Paired *summary `json:"paired_diff,omitempty"`
	// FloorName says what the floor is.
	FloorName string `json:"floor_name"`
	// BareProxy is the warm call through a bare Go reverse proxy to the same instance: the
	// price of the extra hop alone (warm rows only).
	BareProxy *summary `json:"bare_proxy,omitempty"`
	// HearthCPUPerCallUS and ProxyCPUPerCallUS are the CPU time (user + system) the hearth
	// server and the bare proxy spent per warm call through them.
	HearthCPUPerCallUS float64 `json:"hearth_cpu_per_call_us,omitempty"`
	ProxyCPUPerCallUS  float64 `json:"bare_proxy_cpu_per_call_us,omitempty"`
	// CPU is every process's CPU per call on each side of a warm row on Docker (cpu.go).
	CPU *cpuPerCall `json:"cpu_per_call_us,omitempty"`
	// Density is the density row's memory per instance on each side (density.go).
	Density *densityFigures `json:"density,omitempty"`
	// FreezerFloor is the paused row's second floor: a raw cgroup freezer thaw + call (pause.go).
	FreezerFloor *summary     `json:"freezer_floor,omitempty"`
	Goals        []goalResult `json:"goals,omitempty"`
}

// kind names what a row measures; goals are attached by kind.
type kind string

const (
	kindWarm1  kind = "warm_c1"
	kindWarm16 kind = "warm_c16"
	kindCold   kind = "cold"
	kindPaused kind = "paused"
	// kindNomadCold is the first call with no instance on Nomad, against the same job
	// registered through the Nomad API.
	kindNomadCold kind = "nomad_cold"
)

func main() {
	var cfg config
	flag.StringVar(&cfg.bin, "bin", "bin/hearth", "the hearth binary to measure")
	flag.IntVar(&cfg.calls, "calls", 2000, "warm calls per side at concurrency 1 (four times as many at 16)")
	flag.IntVar(&cfg.cold, "cold", 10, "samples per side of the cold and paused rows")
	flag.StringVar(&cfg.out, "out", "bench-results/bench.json", "where to write the figures as JSON")
	flag.StringVar(&cfg.functions, "functions", "go,python", "comma-separated runtimes of the no-op functions compared with the floors")
	flag.StringVar(&cfg.runtimes, "runtimes", "", "comma-separated runtimes for the image and time-to-ready rows (default: all)")
	flag.StringVar(&cfg.dockerHost, "docker-host", "unix:///var/run/docker.sock", "the Docker Engine")
	flag.BoolVar(&cfg.nomad, "nomad", true, "measure hearth on Nomad too (needs the agent of scripts/nomad.sh and the registry of scripts/registry.sh)")
	flag.StringVar(&cfg.nomadAddr, "nomad-addr", "http://127.0.0.1:4646", "the Nomad agent's API")
	flag.StringVar(&cfg.registry, "registry", "127.0.0.1:5000", "the registry the servers on Nomad and of the cluster rows push images to, and Nomad and the agent pull them from")
	flag.IntVar(&cfg.nomadCold, "nomad-cold", 10, "samples per side of the Nomad cold row")
	flag.BoolVar(&cfg.cluster, "cluster", true, "measure a server with one agent on a Docker Engine of the bench's own (needs root and the registry of scripts/registry.sh)")
	flag.IntVar(&cfg.clusterCold, "cluster-cold", 10, "rounds of the cluster pull rows (a pull, a first call with the image, one without)")
	flag.BoolVar(&cfg.dashboard, "dashboard", true, "measure the dashboard's overview load in headless chromium with 1,000 functions (needs the browser of scripts/chromium.sh)")
	flag.StringVar(&cfg.chromium, "chromium", "/usr/bin/chromium", "the browser of the dashboard row")
	flag.IntVar(&cfg.density, "density", 40, "idle paused instances per side of the density row (section density)")
	flag.IntVar(&cfg.fullnodeFunctions, "fullnode-functions", 100, "functions of the full-node section, each called once and left paused (section fullnode; 0 leaves it out; each adds about 0.8 s)")
	flag.IntVar(&cfg.fullnodeCold, "fullnode-cold", 16, "fresh functions' first calls per side of the full-node section, 4 at a time")
	flag.DurationVar(&cfg.fullnodeIdle, "fullnode-idle", 30*time.Second, "how long the full-node section reads the idle server's CPU")
	flag.StringVar(&cfg.only, "only", "", "comma-separated sections to measure, for a part of the bench alone (warm, cold, paused, placement, dashboard, runtimes, nomad, cluster, density, keepalive, fullnode); default all")
	proxyListen := flag.String("serve-proxy", "", "internal: serve the bare reference proxy on this address")
	proxyTarget := flag.String("proxy-target", "", "internal: the bare proxy's target URL")
	flag.Parse()
	if *proxyListen != "" {
		if err := serveProxy(*proxyListen, *proxyTarget); err != nil {
			fmt.Fprintln(os.Stderr, "bench proxy:", err)
			os.Exit(1)
		}
		return
	}
	// An interrupt cancels the run; the deferred cleanup still removes what it made.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
	err := run(ctx, cfg)
	cancel()
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config) error {
	began := time.Now()
	cfg.nomad, cfg.cluster, cfg.dashboard = cfg.nomad && cfg.want("nomad"), cfg.cluster && cfg.want("cluster"), cfg.dashboard && cfg.want("dashboard")
	if cfg.nomad {
		if cfg.nomadCold < 1 {
			return fmt.Errorf("-nomad-cold %d: the Nomad cold row needs at least one pair", cfg.nomadCold)
		}
		if err := checkNomad(cfg); err != nil {
			return err
		}
	}
	if cfg.cluster {
		if cfg.clusterCold < 1 {
			return fmt.Errorf("-cluster-cold %d: the cluster pull rows need at least one round", cfg.clusterCold)
		}
		if err := checkCluster(cfg); err != nil {
			return err
		}
	}
	if cfg.dashboard {
		if _, err := os.Stat(cfg.chromium); err != nil {
			return fmt.Errorf("the dashboard row needs a browser: run scripts/chromium.sh (make bench does) or skip the row with -dashboard=false: %w", err)
		}
	}
	// The full node goes first, before the main server starts: its idle reading must count
	// no other server's work on dockerd.
	var full *fullNodeReport
	if cfg.want("fullnode") && cfg.fullnodeFunctions > 0 {
		if cfg.fullnodeCold < 1 {
			return fmt.Errorf("-fullnode-cold %d: the full-node section needs at least one first call per side", cfg.fullnodeCold)
		}
		var err error
		if full, err = fullNodeSection(ctx, cfg, cfg.fullnodeFunctions, cfg.fullnodeCold, cfg.fullnodeIdle); err != nil {
			return fmt.Errorf("fullnode: %w", err)
		}
	}
	srv, err := startServer(ctx, cfg.bin, "--dev")
	if err != nil {
		return err
	}
	// The server stops (and with it every instance) before the images go: an image in use by a
	// container cannot be removed.
	defer removeImages()
	defer srv.stop()
	token, err := srv.adminToken()
	if err != nil {
		return err
	}
	c, err := client.New(srv.url, client.WithToken(token))
	if err != nil {
		return err
	}
	drv, err := docker.New(docker.Config{Host: cfg.dockerHost})
	if err != nil {
		return err
	}
	defer drv.Close()
	b := &bench{cfg: cfg, srv: srv, client: c, drv: drv, engine: drv, driver: "docker", catalog: runtimes.New(), work: srv.dataDir,
		hc: &http.Client{Transport: withToken(http.DefaultTransport, token)}}

	rep := report{When: time.Now().UTC(), Machine: machine{CPUs: runtime.NumCPU(), OS: runtime.GOOS + "/" + runtime.GOARCH, Go: runtime.Version()},
		FullNode: full}
	if fp, err := drv.Fingerprint(ctx); err == nil {
		rep.Machine.Docker = fp.Version
	}

	// The cold rows' functions double as their runtime's time-to-ready row.
	coldRuns := map[string]coldRun{}
	for _, rt := range splitList(cfg.functions) {
		rows, cr, err := b.functionRows(ctx, rt)
		if err != nil {
			return fmt.Errorf("%s function: %w", rt, err)
		}
		rep.Rows = append(rep.Rows, rows...)
		if cfg.want("cold") {
			coldRuns[rt] = cr
		}
	}
	if cfg.want("placement") {
		rep.Rows = append(rep.Rows, placementRow())
	}
	if cfg.want("keepalive") {
		if rep.KeepAlive, err = keepaliveSection(ctx); err != nil {
			return err
		}
	}
	if cfg.dashboard {
		dr, err := dashboardRow(ctx, cfg)
		if err != nil {
			return err
		}
		rep.Rows = append(rep.Rows, dr)
	}

	for _, rt := range b.catalog.List() {
		if !cfg.want("runtimes") || cfg.runtimes != "" && !contains(splitList(cfg.runtimes), rt.Name) {
			continue
		}
		rr, err := b.runtimeRow(ctx, rt, coldRuns)
		if err != nil {
			return fmt.Errorf("runtime %s: %w", rt.Name, err)
		}
		rep.Runtimes = append(rep.Runtimes, rr)
	}
	if cfg.nomad {
		nr, err := nomadRows(ctx, cfg)
		if err != nil {
			return err
		}
		rep.Rows, rep.NomadPhases, rep.Machine.Nomad = append(rep.Rows, nr.rows...), nr.phases, nr.version
	}
	if cfg.cluster {
		cr, err := clusterRows(ctx, cfg)
		if err != nil {
			return err
		}
		rep.Rows = append(rep.Rows, cr...)
	}
	if cfg.want("density") && cfg.density > 0 {
		dr, err := b.densityRow(ctx, cfg.density)
		if err != nil {
			return fmt.Errorf("density: %w", err)
		}
		dr.Driver, dr.Goals = b.driver, evaluate(dr)
		rep.Rows = append(rep.Rows, dr)
	}
	rep.WallSeconds = time.Since(began).Seconds()

	printReport(os.Stdout, rep)
	if err := os.MkdirAll(filepath.Dir(cfg.out), 0o755); err != nil {
		return err
	}
	data, _ := json.MarshalIndent(rep, "", "  ")
	if err := os.WriteFile(cfg.out, append(data, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Printf("\nfigures written to %s\n", cfg.out)
	return nil
}

// functionRows measures one runtime's no-op function against every floor: warm, cold, paused.
// Each measurement deploys a function of its own, with the settings it needs.
func (b *bench) functionRows(ctx context.Context, rt string) ([]row, coldRun, error) {
	var rows []row
	var cr coldRun
	if b.cfg.want("warm") {
		warm, err := b.warmRows(ctx, rt)
		if err != nil {
			return nil, coldRun{}, err
		}
		rows = append(rows, warm...)
	}
	if b.cfg.want("cold") {
		cold, run, err := b.coldRow(ctx, rt)
		if err != nil {
			return nil, coldRun{}, err
		}
		rows, cr = append(rows, cold), run
	}
	if b.cfg.want("paused") {
		paused, err := b.pausedRow(ctx, rt)
		if err != nil {
			return nil, coldRun{}, err
		}
		rows = append(rows, paused)
	}
	for i := range rows {
		rows[i].Driver = b.driver
		rows[i].Goals = evaluate(rows[i])
	}
	return rows, cr, nil
}

func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// started is when the run began; progress lines show the time since.
var started = time.Now()

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: %5.1fs "+format+"\n", append([]any{time.Since(started).Seconds()}, args...)...)
}
