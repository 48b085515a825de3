package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
	runtimes   string
	dockerHost string
}

// row is one line of the table: hearth's figure and the floor it is compared with.
type row struct {
	Name   string  `json:"name"`
	Hearth summary `json:"hearth"`
	Floor  summary `json:"floor"`
	// FloorName says what the floor is.
	FloorName string `json:"floor_name"`
}

// runtimeRow is one runtime's image size, build and time to ready.
type runtimeRow struct {
	Runtime     string  `json:"runtime"`
	ImageBytes  int64   `json:"image_bytes"`
	BuildMS     float64 `json:"first_build_ms"`
	ColdStart   summary `json:"cold_start"`
	Description string  `json:"description"`
}

type report struct {
	When     time.Time    `json:"when"`
	Rows     []row        `json:"rows"`
	Runtimes []runtimeRow `json:"runtimes"`
}

func main() {
	var cfg config
	flag.StringVar(&cfg.bin, "bin", "bin/hearth", "the hearth binary to measure")
	flag.IntVar(&cfg.calls, "calls", 2000, "warm calls per measurement")
	flag.IntVar(&cfg.cold, "cold", 8, "cold starts per measurement")
	flag.StringVar(&cfg.out, "out", "bench-results/bench.json", "where to write the figures as JSON")
	flag.StringVar(&cfg.runtimes, "runtimes", "", "comma-separated runtimes to measure (default: all)")
	flag.StringVar(&cfg.dockerHost, "docker-host", "unix:///var/run/docker.sock", "the Docker Engine")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	err := run(ctx, cfg)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config) error {
	srv, err := startServer(ctx, cfg.bin)
	if err != nil {
		return err
	}
	defer srv.stop()
	defer removeImages()
	c, err := client.New(srv.url)
	if err != nil {
		return err
	}
	drv, err := docker.New(docker.Config{Host: cfg.dockerHost})
	if err != nil {
		return err
	}
	defer drv.Close()
	b := &bench{cfg: cfg, srv: srv, client: c, drv: drv, catalog: runtimes.New(), work: srv.dataDir}

	rep := report{When: time.Now().UTC()}
	logf("deploying the no-op Go function")
	// Concurrency 16 lets one instance take the concurrent load, as the direct floor's single
	// instance does; with the default of 1 hearth would spread it over new instances.
	noop, err := b.deployScaffold(ctx, "go", "noop", "concurrency: 16\n")
	if err != nil {
		return err
	}
	warm, err := b.warmRows(ctx, noop.name)
	if err != nil {
		return err
	}
	rep.Rows = append(rep.Rows, warm...)
	cold, err := b.coldRow(ctx, noop)
	if err != nil {
		return err
	}
	rep.Rows = append(rep.Rows, cold)
	rep.Rows = append(rep.Rows, b.pauseRow(ctx, noop))

	for _, rt := range b.catalog.List() {
		if cfg.runtimes != "" && !contains(strings.Split(cfg.runtimes, ","), rt.Name) {
			continue
		}
		logf("runtime %s: deploy and cold starts", rt.Name)
		rr, err := b.runtimeRow(ctx, rt)
		if err != nil {
			return fmt.Errorf("runtime %s: %w", rt.Name, err)
		}
		rep.Runtimes = append(rep.Runtimes, rr)
	}

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

// removeImages removes the function images the bench built (the base images stay).
func removeImages() {
	out, err := exec.Command("docker", "images", "-q", "--filter", "label=hearth.function").Output()
	if err != nil {
		return
	}
	var ids []string
	for _, id := range strings.Fields(string(out)) {
		name, _ := exec.Command("docker", "image", "inspect", "--format", `{{index .Config.Labels "hearth.function"}}`, id).Output()
		if n := strings.TrimSpace(string(name)); n == "noop" || strings.HasPrefix(n, "bench-") {
			ids = append(ids, id)
		}
	}
	if len(ids) > 0 {
		_ = exec.Command("docker", append([]string{"rmi", "-f"}, ids...)...).Run()
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if strings.TrimSpace(x) == s {
			return true
		}
	}
	return false
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}
