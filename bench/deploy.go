package main

import (
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
	"time"

	"github.com/hearthfn/hearth/agent/driver/docker"
	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/api/client"
	"github.com/hearthfn/hearth/runtimes"
	"github.com/hearthfn/hearth/runtimes/contract"
)

type bench struct {
	cfg     config
	srv     *server
	client  *client.Client
	drv     *docker.Driver
	catalog *runtimes.Catalog
	work    string
	// driver names what runs the server's instances ("docker", "nomad"); it goes into every row.
	driver string
	// names goes between namePrefix and the runtime in the names of the functions deployed
	// ("" on Docker, "nomad-" on Nomad), so that an image or registry tag says where it ran.
	names string
	// engine lists what the server's instances run as (Docker containers, Nomad jobs): a
	// measurement that needs an instance gone waits until the engine agrees with the pool.
	engine lister
	// pushed are the images the server pushed to the registry (-registry) for the bench's
	// functions, for deleteTags.
	pushed []string
	// hc calls functions through hearth with the server's admin token: functions are private,
	// so every call the bench makes pays what a real caller's does for its token.
	hc *http.Client
}

// lister is the part of a driver the bench needs to see the server's instances on the engine.
type lister interface {
	List(ctx context.Context) ([]instance.Status, error)
}

// namePrefix starts the name of every function the bench deploys; removeImages relies on it.
const namePrefix = "bench-"

// deployed is a function the bench deployed.
type deployed struct {
	name, image string
	// spec is the version's spec with defaults, for raw floors that must match hearth's
	// instances (memory, CPU, env).
	spec      api.FunctionSpec
	buildTime time.Duration
}

// deployScaffold writes a runtime's scaffold (what `hearth init --runtime <rt>` writes), appends
// extraYAML to its func.yaml and deploys it.
func (b *bench) deployScaffold(ctx context.Context, runtime, name, extraYAML string) (deployed, error) {
	dir, err := b.writeScaffold(runtime, name)
	if err != nil {
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
	fn, err := b.deployDir(ctx, name, dir)
	if err != nil {
		return deployed{}, err
	}
	if b.cfg.registry != "" && strings.HasPrefix(fn.image, b.cfg.registry+"/") {
		b.pushed = append(b.pushed, fn.image)
	}
	return fn, nil
}

// writeScaffold writes a runtime's scaffold for name under the bench's work directory and
// returns its directory.
func (b *bench) writeScaffold(runtime, name string) (string, error) {
	rt, err := b.catalog.Lookup(runtime)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(b.work, "src", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := rt.WriteScaffold(dir, name); err != nil {
		return "", err
	}
	return dir, nil
}

// remove deletes a function the bench is done with, so that its instances stop taking memory
// and CPU from the measurements that follow.
func (b *bench) remove(ctx context.Context, name string) error {
	if err := b.client.DeleteFunction(ctx, name); err != nil {
		return fmt.Errorf("delete %s: %w", name, err)
	}
	return b.waitGone(ctx, name, 30*time.Second)
}

// pool returns a function's instances as GET /v1/functions/{name} reports them.
func (b *bench) pool(ctx context.Context, name string) ([]api.InstanceStatus, error) {
	fn, err := b.client.GetFunction(ctx, name)
	if err != nil {
		return nil, err
	}
	if fn.Pool == nil {
		return nil, nil
	}
	return fn.Pool.Instances, nil
}

// containers returns what a function's instances run as on the engine (Docker containers, Nomad
// jobs).
func (b *bench) containers(ctx context.Context, name string) ([]instance.Status, error) {
	all, err := b.engine.List(ctx)
	if err != nil {
		return nil, err
	}
	var mine []instance.Status
	for _, st := range all {
		if st.Function == name {
			mine = append(mine, st)
		}
	}
	return mine, nil
}

// waitGone waits until a function has no container (or Nomad job) left, so that the next
// measurement starts on a quiet machine.
func (b *bench) waitGone(ctx context.Context, name string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		cs, err := b.containers(ctx, name)
		if err != nil {
			return err
		}
		if len(cs) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d instance(s) of %s still on %s after %s", len(cs), name, b.driver, limit)
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
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

// removeImages removes the function images the bench built (the base images stay).
func removeImages() {
	out, err := exec.Command("docker", "images", "-q", "--filter", "label="+instance.LabelFunction).Output()
	if err != nil {
		return
	}
	var ids []string
	for _, id := range strings.Fields(string(out)) {
		name, _ := exec.Command("docker", "image", "inspect", "--format",
			`{{index .Config.Labels "`+instance.LabelFunction+`"}}`, id).Output()
		if strings.HasPrefix(strings.TrimSpace(string(name)), namePrefix) {
			ids = append(ids, id)
		}
	}
	if len(ids) > 0 {
		_ = exec.Command("docker", append([]string{"rmi", "-f"}, ids...)...).Run()
	}
}

func imageSize(ctx context.Context, image string) (int64, error) {
	out, err := exec.CommandContext(ctx, "docker", "image", "inspect", "--format", "{{.Size}}", image).Output()
	if err != nil {
		return 0, fmt.Errorf("docker image inspect %s: %w", image, err)
	}
	return strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
}

// rawSpec is the spec of a container the bench starts itself for a floor: the function's image,
// memory, CPU and env, as hearth would start it, but unknown to hearth's pool.
func rawSpec(fn deployed) instance.Spec {
	s := fn.spec
	return instance.Spec{ID: namePrefix + "raw-" + randomID(), Image: fn.image, Port: contract.DefaultPort, Env: s.Env,
		Resources: instance.Resources{MemoryMB: s.MemoryMB, CPUMilli: s.CPUMilli},
		// As the pool's securityOf: the same confinement (all zero, the drivers' defaults, for
		// the scaffolds).
		Security: instance.Security{User: s.User, WritableRoot: s.WritableRoot, TmpSizeMB: s.TmpSizeMB,
			PidsLimit: s.PidsLimit, NoFile: s.NoFile, CapAdd: s.CapAdd, Network: s.Network},
		// The function image's labels reach its containers; this one is told apart from the
		// pool's instances of the function by a function label of its own.
		Labels: map[string]string{instance.LabelFunction: namePrefix + "raw"}}
}

func randomID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
