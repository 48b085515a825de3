package docker

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/system"
	"github.com/docker/docker/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/hearthfn/hearth/agent/driver"
)

// Name is the driver's name: its Fingerprint name and its plugin dispense name.
const Name = "docker"

// dockerAPI is the part of the Docker client the driver uses. It exists so that unit tests can
// script the engine's answers (errors above all) without a daemon; *client.Client implements it.
type dockerAPI interface {
	Info(ctx context.Context) (system.Info, error)
	ImageList(ctx context.Context, opts image.ListOptions) ([]image.Summary, error)
	ImageInspect(ctx context.Context, ref string, opts ...client.ImageInspectOption) (image.InspectResponse, error)
	ImagePull(ctx context.Context, ref string, opts image.PullOptions) (io.ReadCloser, error)
	ContainerCreate(ctx context.Context, cfg *container.Config, host *container.HostConfig, net *network.NetworkingConfig, platform *ocispec.Platform, name string) (container.CreateResponse, error)
	ContainerStart(ctx context.Context, id string, opts container.StartOptions) error
	ContainerInspect(ctx context.Context, id string) (container.InspectResponse, error)
	ContainerPause(ctx context.Context, id string) error
	ContainerUnpause(ctx context.Context, id string) error
	ContainerStop(ctx context.Context, id string, opts container.StopOptions) error
	ContainerRemove(ctx context.Context, id string, opts container.RemoveOptions) error
	ContainerList(ctx context.Context, opts container.ListOptions) ([]container.Summary, error)
	ContainerLogs(ctx context.Context, id string, opts container.LogsOptions) (io.ReadCloser, error)
	NetworkList(ctx context.Context, opts network.ListOptions) ([]network.Summary, error)
	NetworkCreate(ctx context.Context, name string, opts network.CreateOptions) (network.CreateResponse, error)
	NetworkRemove(ctx context.Context, id string) error
	Events(ctx context.Context, opts events.ListOptions) (<-chan events.Message, <-chan error)
	Close() error
}

// Driver runs instances as containers on one Docker Engine. It keeps no state of its own but
// caches of what cannot change (an image's USER, a network set up): the engine's containers,
// found by name and label, are the truth, so a restarted node (or a second Driver) sees the
// same instances. It is safe for concurrent use.
type Driver struct {
	cfg   Config
	api   dockerAPI
	fw    hostFirewall
	users userCache
	nets  netCache
	sweep secretsSweep
	// frz pauses and resumes through the cgroup freezer directly (freezer.go); nil: through
	// Docker's API only.
	frz  *freezer
	prep prepState // containers made ahead (prepare.go)
}

var _ driver.Driver = (*Driver)(nil)

// New returns a driver for the engine at cfg.Host; zero fields of cfg take their defaults. It
// does not contact the engine: an unreachable engine shows up as ErrUnavailable from the first
// call (Fingerprint, typically).
func New(cfg Config) (*Driver, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	c, err := client.NewClientWithOpts(client.WithHost(cfg.Host), client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker driver: host %q: %w", cfg.Host, err)
	}
	d := newWithAPI(cfg, c)
	d.frz = hostFreezer(d.cfg)
	return d, nil
}

func newWithAPI(cfg Config, api dockerAPI) *Driver {
	return &Driver{cfg: cfg.withDefaults(), api: api, fw: iptables{}}
}

// Close releases the client's connections. Instances keep running.
func (d *Driver) Close() error { return d.api.Close() }

// opCtx bounds one non-streaming Docker call (see Config.OpTimeout).
func (d *Driver) opCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, d.cfg.OpTimeout)
}

// Fingerprint reports the engine's version, the node's CPUs and memory as allocatable, and the
// tagged images present.
func (d *Driver) Fingerprint(ctx context.Context) (driver.Fingerprint, error) {
	octx, cancel := d.opCtx(ctx)
	defer cancel()
	info, err := d.api.Info(octx)
	if err != nil {
		return driver.Fingerprint{}, d.wrapErr(ctx, err, nil, "fingerprint")
	}
	images, err := d.api.ImageList(octx, image.ListOptions{})
	if err != nil {
		return driver.Fingerprint{}, d.wrapErr(ctx, err, nil, "fingerprint: list images")
	}
	var tags []string
	for _, img := range images {
		for _, t := range img.RepoTags {
			if t != "<none>:<none>" {
				tags = append(tags, t)
			}
		}
	}
	slices.Sort(tags)
	fp := driver.Fingerprint{
		Name:         Name,
		Version:      info.ServerVersion,
		Capabilities: driver.Capabilities{Pause: true, Logs: true, Images: true},
		Images:       slices.Compact(tags),
	}
	fp.Allocatable.CPUMilli = int64(info.NCPU) * 1000
	fp.Allocatable.MemoryMB = info.MemTotal >> 20
	return fp, nil
}
