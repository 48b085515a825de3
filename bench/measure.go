package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hearthfn/hearth/agent/driver/docker"
	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/api/client"
	"github.com/hearthfn/hearth/builder/buildctx"
	"github.com/hearthfn/hearth/runtimes"
)

type bench struct {
	cfg     config
	srv     *server
	client  *client.Client
	drv     *docker.Driver
	catalog *runtimes.Catalog
	work    string
}

// deployed is a function the bench deployed, with its source for redeploys.
type deployed struct {
	name, dir, image string
	buildTime        time.Duration
}

// deployScaffold writes a runtime's scaffold, appends extraYAML to its func.yaml and deploys it.
func (b *bench) deployScaffold(ctx context.Context, runtime, name, extraYAML string) (deployed, error) {
	rt, err := b.catalog.Lookup(runtime)
	if err != nil {
		return deployed{}, err
	}
	dir := filepath.Join(b.work, "src", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return deployed{}, err
	}
	if err := rt.WriteScaffold(dir, name); err != nil {
		return deployed{}, err
	}
	if extraYAML != "" {
		f, err := os.OpenFile(filepath.Join(dir, "func.yaml"), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			return deployed{}, err
		}
		_, err = f.WriteString(extraYAML)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return deployed{}, err
		}
	}
	began := time.Now()
	fn, err := b.deploy(ctx, name, dir)
	if err != nil {
		return deployed{}, err
	}
	return deployed{name: name, dir: dir, image: fn, buildTime: time.Since(began)}, nil
}

func (b *bench) deploy(ctx context.Context, name, dir string) (image string, err error) {
	var archive bytes.Buffer
	if err := buildctx.PackDir(&archive, dir); err != nil {
		return "", err
	}
	fn, _, err := b.client.Deploy(ctx, name, &archive, nil)
	if err != nil {
		return "", fmt.Errorf("deploy %s: %w", name, err)
	}
	return fn.Version.Image, nil
}

// call makes one GET and checks for a 200.
func call(hc *http.Client, url string) error {
	resp, err := hc.Get(url)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

// load makes n calls from conc goroutines and returns their latencies and the throughput.
func load(url string, n, conc int) (summary, error) {
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc * 2}}
	defer hc.CloseIdleConnections()
	for i := 0; i < conc; i++ { // warm the connections
		if err := call(hc, url); err != nil {
			return summary{}, err
		}
	}
	lat := make(sample, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	next := make(chan int, n)
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	began := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				t0 := time.Now()
				err := call(hc, url)
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
	took := time.Since(began)
	if firstErr != nil {
		return summary{}, firstErr
	}
	s := lat.summarize()
	s.RPS = float64(n) / took.Seconds()
	return s, nil
}

// warmRows compares calls through hearth with calls straight to the instance hearth runs.
func (b *bench) warmRows(ctx context.Context, name string) ([]row, error) {
	invoke := b.client.InvokeURL(name)
	if err := call(http.DefaultClient, invoke); err != nil {
		return nil, err
	}
	fn, err := b.client.GetFunction(ctx, name)
	if err != nil {
		return nil, err
	}
	if fn.Pool == nil || len(fn.Pool.Instances) == 0 {
		return nil, fmt.Errorf("no instance of %s after a call", name)
	}
	direct := "http://" + fn.Pool.Instances[0].Endpoint + "/"
	var rows []row
	for _, conc := range []int{1, 16} {
		logf("warm calls, concurrency %d", conc)
		h, err := load(invoke, b.cfg.calls, conc)
		if err != nil {
			return nil, err
		}
		f, err := load(direct, b.cfg.calls, conc)
		if err != nil {
			return nil, err
		}
		rows = append(rows, row{Name: fmt.Sprintf("warm call, concurrency %d", conc), Hearth: h, Floor: f,
			FloorName: "direct HTTP call to the same instance"})
	}
	return rows, nil
}

// coldRow compares hearth's first call with no instance against a raw Docker create + start +
// ready + first call of the same image.
func (b *bench) coldRow(ctx context.Context, fn deployed) (row, error) {
	logf("cold starts through hearth")
	var hs sample
	for i := 0; i < b.cfg.cold; i++ {
		d, err := b.hearthCold(ctx, fn)
		if err != nil {
			return row{}, err
		}
		hs = append(hs, d)
	}
	logf("cold starts through the Docker API")
	var fs sample
	for i := 0; i < b.cfg.cold; i++ {
		d, err := b.rawCold(ctx, fn.image)
		if err != nil {
			return row{}, err
		}
		fs = append(fs, d)
	}
	return row{Name: "first call, no instance", Hearth: hs.summarize(), Floor: fs.summarize(),
		FloorName: "Docker create + start + ready + call"}, nil
}

// hearthCold removes the function (so no instance is left), redeploys it (the image is cached)
// and times the first call.
func (b *bench) hearthCold(ctx context.Context, fn deployed) (time.Duration, error) {
	if err := b.client.DeleteFunction(ctx, fn.name); err != nil {
		return 0, err
	}
	if _, err := b.deploy(ctx, fn.name, fn.dir); err != nil {
		return 0, err
	}
	t0 := time.Now()
	err := call(http.DefaultClient, b.client.InvokeURL(fn.name))
	return time.Since(t0), err
}

func (b *bench) rawCold(ctx context.Context, image string) (time.Duration, error) {
	spec := instance.Spec{ID: "bench-" + randomID(), Image: image, Port: 8080,
		Labels: map[string]string{"hearth.test": "1"}}
	t0 := time.Now()
	in, err := b.drv.Start(ctx, spec)
	if err != nil {
		return 0, err
	}
	defer b.drv.Stop(context.WithoutCancel(ctx), spec.ID, time.Second) //nolint:errcheck // best effort
	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for call(hc, "http://"+in.Endpoint+"/_/ready") != nil {
		if time.Since(t0) > 30*time.Second {
			return 0, fmt.Errorf("raw instance of %s not ready in 30 s", image)
		}
		time.Sleep(time.Millisecond)
	}
	err = call(hc, "http://"+in.Endpoint+"/")
	return time.Since(t0), err
}

// pauseRow measures the raw unpause + call floor. Hearth does not pause idle instances yet, so
// its side is empty until the warm pool does.
func (b *bench) pauseRow(ctx context.Context, fn deployed) row {
	logf("pause / unpause floor")
	r := row{Name: "call to a paused instance", FloorName: "Docker unpause + call",
		Hearth: summary{Note: "hearth does not pause idle instances yet"}}
	spec := instance.Spec{ID: "bench-" + randomID(), Image: fn.image, Port: 8080, Labels: map[string]string{"hearth.test": "1"}}
	in, err := b.drv.Start(ctx, spec)
	if err != nil {
		r.Floor.Note = err.Error()
		return r
	}
	defer b.drv.Stop(context.WithoutCancel(ctx), spec.ID, time.Second) //nolint:errcheck // best effort
	hc := &http.Client{Timeout: 5 * time.Second}
	for call(hc, "http://"+in.Endpoint+"/_/ready") != nil {
		time.Sleep(5 * time.Millisecond)
	}
	var s sample
	for i := 0; i < b.cfg.cold*2; i++ {
		if err := b.drv.Pause(ctx, spec.ID); err != nil {
			r.Floor.Note = err.Error()
			return r
		}
		t0 := time.Now()
		if err := b.drv.Resume(ctx, spec.ID); err != nil {
			r.Floor.Note = err.Error()
			return r
		}
		if err := call(hc, "http://"+in.Endpoint+"/"); err != nil {
			r.Floor.Note = err.Error()
			return r
		}
		s = append(s, time.Since(t0))
	}
	r.Floor = s.summarize()
	return r
}

// runtimeRow deploys a runtime's scaffold and measures its image and its time to ready.
func (b *bench) runtimeRow(ctx context.Context, rt runtimes.Runtime) (runtimeRow, error) {
	fn, err := b.deployScaffold(ctx, rt.Name, "bench-"+rt.Name, "")
	if err != nil {
		return runtimeRow{}, err
	}
	size, err := imageSize(ctx, fn.image)
	if err != nil {
		return runtimeRow{}, err
	}
	var s sample
	for i := 0; i < max(3, b.cfg.cold/2); i++ {
		d, err := b.hearthCold(ctx, fn)
		if err != nil {
			return runtimeRow{}, err
		}
		s = append(s, d)
	}
	if err := b.client.DeleteFunction(ctx, fn.name); err != nil {
		return runtimeRow{}, err
	}
	return runtimeRow{Runtime: rt.Name, Description: rt.Description, ImageBytes: size,
		BuildMS: float64(fn.buildTime.Microseconds()) / 1000, ColdStart: s.summarize()}, nil
}

func imageSize(ctx context.Context, image string) (int64, error) {
	out, err := exec.CommandContext(ctx, "docker", "image", "inspect", "--format", "{{.Size}}", image).Output()
	if err != nil {
		return 0, fmt.Errorf("docker image inspect %s: %w", image, err)
	}
	return strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
}

func randomID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
