package nomad

import (
	"context"
	"fmt"
	"path"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/nomad/api"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
)

// Name is the driver's name: its Fingerprint name and its plugin dispense name.
const Name = "nomad"

// Driver runs instances as Nomad jobs, one per instance, on the cluster at Config.Address.
// Nomad's jobs are the truth: a restarted driver finds its instances by name and meta. What it
// reads often (List, Inspect) comes from a view that a background watcher keeps current with
// blocking queries; it runs from New until Close. Safe for concurrent use.
type Driver struct {
	cfg Config
	api *api.Client

	view      *view
	stopWatch context.CancelFunc
	watchDone chan struct{}
	closeOnce sync.Once

	// mhzPerCore is the CPU ratio last measured on the cluster (0: not yet); see
	// Config.CPUMHzPerCore.
	mhzPerCore atomic.Int64
}

var _ driver.Driver = (*Driver)(nil)

// New returns a driver for the Nomad API at cfg.Address; zero fields of cfg take their
// defaults. It does not wait for Nomad: an unreachable cluster shows up as ErrUnavailable from
// the calls that need it (Fingerprint, typically), and the watcher keeps trying in the
// background. Call Close to stop the watcher.
func New(cfg Config) (*Driver, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	// Not api.DefaultConfig: it reads NOMAD_* from the environment, which is cmd/hearth's job.
	c, err := api.NewClient(&api.Config{
		Address: cfg.Address, SecretID: cfg.Token, Region: cfg.Region, Namespace: cfg.Namespace,
		TLSConfig: &api.TLSConfig{
			CACert: cfg.TLS.CACert, CAPath: cfg.TLS.CAPath, ClientCert: cfg.TLS.ClientCert, ClientKey: cfg.TLS.ClientKey,
			TLSServerName: cfg.TLS.ServerName, Insecure: cfg.TLS.Insecure,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("nomad driver: address %q: %w", cfg.Address, err)
	}
	if cfg.RegistryPassword != "" {
		cfg.Logger.Warn("the registry password goes into every job's spec, where anyone who may read jobs in the namespace can read it; prefer the Nomad clients' own docker auth configuration",
			"registry", cfg.Registry)
	}
	d := &Driver{cfg: cfg, api: c, view: newView(), watchDone: make(chan struct{})}
	if cfg.CPUMHzPerCore > 0 {
		d.mhzPerCore.Store(cfg.CPUMHzPerCore)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d.stopWatch = cancel
	go d.watch(ctx)
	return d, nil
}

// Close stops the watcher and waits for it. Instances keep running.
func (d *Driver) Close() error {
	d.closeOnce.Do(func() {
		d.stopWatch()
		<-d.watchDone
		d.api.Close()
	})
	return nil
}

// opCtx bounds one non-blocking Nomad call (see Config.OpTimeout).
func (d *Driver) opCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, d.cfg.OpTimeout)
}

func (d *Driver) writeOpts(ctx context.Context) *api.WriteOptions {
	return (&api.WriteOptions{}).WithContext(ctx)
}

// Fingerprint reports the agent's version and, as allocatable, what the cluster's ready nodes
// that run Docker offer (in Config.Datacenters): the sum of their CPU and memory less what
// each reserves for itself. It lists no images: Nomad's clients pull their own.
func (d *Driver) Fingerprint(ctx context.Context) (driver.Fingerprint, error) {
	octx, cancel := d.opCtx(ctx)
	defer cancel()
	var self api.AgentSelf
	if _, err := d.api.Raw().Query("/v1/agent/self", &self, (&api.QueryOptions{}).WithContext(octx)); err != nil {
		return driver.Fingerprint{}, d.wrapErr(ctx, err, nil, "fingerprint")
	}
	nodes, err := d.nodes(ctx)
	if err != nil {
		return driver.Fingerprint{}, err
	}
	c := capacityOf(nodes, d.cfg.Datacenters)
	ratio := d.cfg.CPUMHzPerCore
	if ratio == 0 && c.cores > 0 {
		ratio = c.mhz / c.cores
		d.mhzPerCore.Store(ratio)
	}
	fp := driver.Fingerprint{
		Name:         Name,
		Version:      agentVersion(self),
		Capabilities: driver.Capabilities{Pause: false, Logs: true, Images: false},
	}
	fp.Allocatable.MemoryMB = c.memoryMB
	if ratio > 0 {
		fp.Allocatable.CPUMilli = c.freeMHz * 1000 / ratio
	}
	return fp, nil
}

// nodes lists the cluster's nodes with their resources.
func (d *Driver) nodes(ctx context.Context) ([]*api.NodeListStub, error) {
	q, cancel := d.queryOpts(ctx, 0)
	defer cancel()
	q.Params = map[string]string{"resources": "true"}
	nodes, _, err := d.api.Nodes().List(q)
	if err != nil {
		return nil, d.wrapErr(ctx, err, nil, "list nodes")
	}
	return nodes, nil
}

// capacity is what a set of nodes offers.
type capacity struct {
	mhz, cores        int64 // total CPU, for the MHz-per-core ratio
	freeMHz, memoryMB int64 // less what the nodes reserve
}

// capacityOf sums the nodes that can take an instance: ready, eligible, not draining, with a
// healthy Docker driver, in one of the datacenters (patterns, as Nomad's jobs have them; none:
// all).
func capacityOf(nodes []*api.NodeListStub, datacenters []string) capacity {
	var c capacity
	for _, n := range nodes {
		if n.Status != api.NodeStatusReady || n.SchedulingEligibility != api.NodeSchedulingEligible || n.Drain ||
			n.NodeResources == nil || !inDatacenters(n.Datacenter, datacenters) {
			continue
		}
		if dr := n.Drivers["docker"]; dr == nil || !dr.Detected || !dr.Healthy {
			continue
		}
		r := n.NodeResources
		c.mhz += r.Cpu.CpuShares
		c.cores += int64(r.Cpu.TotalCpuCores)
		c.freeMHz += r.Cpu.CpuShares
		c.memoryMB += r.Memory.MemoryMB
		if res := n.ReservedResources; res != nil {
			c.freeMHz -= int64(res.Cpu.CpuShares)
			c.memoryMB -= int64(res.Memory.MemoryMB)
		}
	}
	return c
}

func inDatacenters(dc string, patterns []string) bool {
	if len(patterns) == 0 {
		return true
	}
	for _, p := range patterns {
		if ok, _ := path.Match(p, dc); ok {
			return true
		}
	}
	return false
}

// agentVersion reads the agent's version ("1.11.3") from /v1/agent/self.
func agentVersion(self api.AgentSelf) string {
	if v, ok := self.Config["Version"].(map[string]any); ok {
		if s, _ := v["Version"].(string); s != "" {
			if pre, _ := v["VersionPrerelease"].(string); pre != "" {
				s += "-" + pre
			}
			return s
		}
	}
	return self.Member.Tags["build"]
}

// cpuRatio returns the MHz per core that converts instance CPU, measuring the cluster the first
// time (Fingerprint measures it again each time the node asks).
func (d *Driver) cpuRatio(ctx context.Context) (int64, error) {
	if r := d.mhzPerCore.Load(); r > 0 {
		return r, nil
	}
	nodes, err := d.nodes(ctx)
	if err != nil {
		return 0, err
	}
	c := capacityOf(nodes, d.cfg.Datacenters)
	if c.cores == 0 {
		return 0, fmt.Errorf("no ready node with a healthy Docker driver in datacenters %v: %w", d.datacenters(), driver.ErrNoCapacity)
	}
	r := c.mhz / c.cores
	d.mhzPerCore.Store(r)
	return r, nil
}

func (d *Driver) datacenters() []string {
	if len(d.cfg.Datacenters) == 0 {
		return []string{"*"}
	}
	return d.cfg.Datacenters
}

// EnsureImage only checks the reference: Nomad's clients pull images themselves when they start
// a task, so a missing image shows at Start (ErrImageNotFound). References Nomad would always
// pull (no tag, ":latest") are refused, and so are references outside Config.Registry when one
// is set.
func (d *Driver) EnsureImage(ctx context.Context, ref string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("ensure image %s: %w", ref, err)
	}
	if err := d.checkImage(ref); err != nil {
		return fmt.Errorf("ensure image: %w", err)
	}
	return nil
}

// checkImage refuses what Nomad must not be told to run: see EnsureImage.
func (d *Driver) checkImage(ref string) error {
	if err := checkImageRef(ref); err != nil {
		return err
	}
	if d.cfg.Registry != "" && !strings.HasPrefix(ref, d.cfg.Registry+"/") {
		return fmt.Errorf("image %s is not under the registry Nomad's clients pull from, %s: deploy the function again (hearth deploy) to push it there: %w",
			ref, d.cfg.Registry, driver.ErrImageNotFound)
	}
	return nil
}

// registryAuth is the docker task's auth block, or nil without credentials.
func (d *Driver) registryAuth() map[string]any {
	if d.cfg.RegistryUsername == "" {
		return nil
	}
	host, _, _ := strings.Cut(d.cfg.Registry, "/")
	return map[string]any{"username": d.cfg.RegistryUsername, "password": d.cfg.RegistryPassword, "server_address": host}
}

// Pause is not supported: Nomad cannot freeze a task.
func (d *Driver) Pause(context.Context, string) error {
	return fmt.Errorf("pause: Nomad cannot freeze a task: %w", driver.ErrNotSupported)
}

// Resume is not supported: Nomad cannot freeze a task.
func (d *Driver) Resume(context.Context, string) error {
	return fmt.Errorf("resume: Nomad cannot freeze a task: %w", driver.ErrNotSupported)
}

// List reports every instance: every job named hearth-* whose meta says it is hearth's, with
// the state of its allocation. It answers from the watcher's view, and asks Nomad only while
// the view is not current (before its first answer, after a failed query).
func (d *Driver) List(ctx context.Context) ([]instance.Status, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	if list, ok := d.view.list(); ok {
		return list, nil
	}
	jobs, at, err := d.fetchJobs(ctx, jobPrefix, 0)
	if err != nil {
		return nil, err
	}
	allocs, _, err := d.fetchAllocs(ctx, allocFilter, 0)
	if err != nil {
		return nil, err
	}
	am := make(map[string]*api.AllocationListStub, len(allocs))
	for _, a := range allocs {
		am[a.ID] = a
	}
	return statuses(d.view.withOwnWrites(jobs, at), am), nil
}

// Inspect reports one instance's state, from the view when it knows the instance, else from
// Nomad (so that an unknown id is always checked with Nomad).
func (d *Driver) Inspect(ctx context.Context, id string) (instance.Status, error) {
	if err := ctx.Err(); err != nil {
		return instance.Status{}, fmt.Errorf("inspect %s: %w", id, err)
	}
	j, a, err := d.instance(ctx, id)
	if err != nil {
		return instance.Status{}, fmt.Errorf("inspect %s: %w", id, err)
	}
	return statusOf(j, a), nil
}

// instance finds an instance's job and allocation, in the view or else from Nomad.
// ErrInstanceNotFound when there is no such job of hearth's.
func (d *Driver) instance(ctx context.Context, id string) (jobEntry, *api.AllocationListStub, error) {
	if j, a, ok := d.view.lookup(id); ok {
		return j, a, nil
	}
	j, a, ok, err := d.fetchInstance(ctx, id)
	if err != nil {
		return jobEntry{}, nil, err
	}
	if !ok {
		return jobEntry{}, nil, driver.ErrInstanceNotFound
	}
	return j, a, nil
}
