package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
)

// stubAPI scripts the engine's answers. Calls nobody scripted hit the nil embedded interface and
// panic, which points straight at the unexpected call. Images are present (with USER
// imageUser) unless imageInspect says otherwise; networks live in memory (stubnet_test.go).
type stubAPI struct {
	dockerAPI
	stubNetworks
	create        func(name string) (container.CreateResponse, error)
	start         func(id string) error
	inspect       func(id string) (container.InspectResponse, error)
	imageInspect  func(ref string) error
	imageUser     string
	imageInspects int
	created       []*container.HostConfig
	removed       []string
	pulls         []string
	pullAuths     []string // each pull's X-Registry-Auth
	pullErr       error
}

func (s *stubAPI) ImagePull(_ context.Context, ref string, opts image.PullOptions) (io.ReadCloser, error) {
	s.pulls = append(s.pulls, ref)
	s.pullAuths = append(s.pullAuths, opts.RegistryAuth)
	if s.pullErr != nil {
		return nil, s.pullErr
	}
	return io.NopCloser(strings.NewReader(`{"status":"Downloaded"}`)), nil
}

func (s *stubAPI) ContainerCreate(_ context.Context, cfg *container.Config, host *container.HostConfig, _ *network.NetworkingConfig, _ *ocispec.Platform, name string) (container.CreateResponse, error) {
	s.created = append(s.created, host)
	return s.create(name)
}

func (s *stubAPI) ContainerStart(_ context.Context, id string, _ container.StartOptions) error {
	return s.start(id)
}

func (s *stubAPI) ContainerInspect(_ context.Context, id string) (container.InspectResponse, error) {
	return s.inspect(id)
}

func (s *stubAPI) ImageInspect(_ context.Context, ref string, _ ...client.ImageInspectOption) (image.InspectResponse, error) {
	s.imageInspects++
	if s.imageInspect != nil {
		if err := s.imageInspect(ref); err != nil {
			return image.InspectResponse{}, err
		}
	}
	return image.InspectResponse{Config: &dockerspec.DockerOCIImageConfig{
		ImageConfig: ocispec.ImageConfig{User: s.imageUser}}}, nil
}

func (s *stubAPI) ContainerRemove(_ context.Context, id string, _ container.RemoveOptions) error {
	s.removed = append(s.removed, id)
	return nil
}

func notFound(what string) error { return fmt.Errorf("No such %s: %w", what, cerrdefs.ErrNotFound) }

var testSpec = instance.Spec{ID: "a1", Function: "hello", Version: 3, Image: "hello:abc", Port: 9000}

func TestUnreachableEngineIsUnavailable(t *testing.T) {
	host := "unix:///nonexistent/docker.sock"
	d, err := New(Config{Host: host})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = d.Close() }()
	_, err = d.Fingerprint(t.Context())
	if !errors.Is(err, driver.ErrUnavailable) {
		t.Fatalf("Fingerprint = %v, want ErrUnavailable", err)
	}
	if !strings.Contains(err.Error(), "cannot reach Docker at "+host) {
		t.Errorf("error %q does not name the host", err)
	}
	if _, err := d.Inspect(t.Context(), "a1"); !errors.Is(err, driver.ErrUnavailable) || errors.Is(err, driver.ErrInstanceNotFound) {
		t.Errorf("Inspect = %v, want ErrUnavailable only", err)
	}
}

func TestNotFoundMapping(t *testing.T) {
	api := &stubAPI{
		inspect: func(string) (container.InspectResponse, error) {
			return container.InspectResponse{}, notFound("container")
		},
	}
	d := newStubbed(Config{}, api)
	if _, err := d.Inspect(t.Context(), "a1"); !errors.Is(err, driver.ErrInstanceNotFound) {
		t.Errorf("Inspect = %v, want ErrInstanceNotFound", err)
	}
	if err := d.Stop(t.Context(), "a1", 0); !errors.Is(err, driver.ErrInstanceNotFound) {
		t.Errorf("Stop = %v, want ErrInstanceNotFound", err)
	}
}

func TestCreateNotFound(t *testing.T) {
	for _, tt := range []struct {
		name         string
		imagePresent bool
		wantImageErr bool
	}{
		{"missing image", false, true},
		{"missing network", true, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			api := &stubAPI{
				create: func(string) (container.CreateResponse, error) {
					return container.CreateResponse{}, notFound("thing")
				},
				imageInspect: func(string) error {
					if tt.imagePresent {
						return nil
					}
					return notFound("image")
				},
			}
			_, err := newStubbed(Config{}, api).Start(t.Context(), testSpec)
			if err == nil || errors.Is(err, driver.ErrImageNotFound) != tt.wantImageErr {
				t.Errorf("Start = %v; ErrImageNotFound wanted: %v", err, tt.wantImageErr)
			}
		})
	}
}

// TestFailedStartRemovesContainer checks the "nothing is left behind" promise for failures
// after the create, and for a create that ran out of time (Docker may have made it anyway).
func TestFailedStartRemovesContainer(t *testing.T) {
	t.Run("start fails", func(t *testing.T) {
		api := &stubAPI{
			create: func(string) (container.CreateResponse, error) { return container.CreateResponse{ID: "c1"}, nil },
			start:  func(string) error { return errors.New("port is already allocated") },
		}
		if _, err := newStubbed(Config{}, api).Start(t.Context(), testSpec); err == nil {
			t.Fatal("Start succeeded")
		}
		if !slices.Equal(api.removed, []string{"c1"}) {
			t.Errorf("removed %v, want [c1]", api.removed)
		}
	})
	t.Run("no address", func(t *testing.T) {
		api := &stubAPI{
			create: func(string) (container.CreateResponse, error) { return container.CreateResponse{ID: "c1"}, nil },
			start:  func(string) error { return nil },
			inspect: func(string) (container.InspectResponse, error) {
				return container.InspectResponse{ContainerJSONBase: &container.ContainerJSONBase{
					ID: "c1", State: &container.State{Status: container.StateExited, ExitCode: 2},
				}}, nil
			},
		}
		_, err := newStubbed(Config{}, api).Start(t.Context(), testSpec)
		if err == nil || !strings.Contains(err.Error(), "exit code 2") {
			t.Errorf("Start = %v, want an error naming the exit code", err)
		}
		if !slices.Equal(api.removed, []string{"c1"}) {
			t.Errorf("removed %v, want [c1]", api.removed)
		}
	})
	t.Run("create times out", func(t *testing.T) {
		api := &stubAPI{
			create: func(string) (container.CreateResponse, error) {
				return container.CreateResponse{}, context.DeadlineExceeded
			},
		}
		_, err := newStubbed(Config{OpTimeout: time.Millisecond}, api).Start(t.Context(), testSpec)
		if !errors.Is(err, driver.ErrUnavailable) {
			t.Errorf("Start = %v, want ErrUnavailable (the engine did not answer in time)", err)
		}
		if !slices.Equal(api.removed, []string{"hearth-a1"}) {
			t.Errorf("removed %v, want [hearth-a1]", api.removed)
		}
	})
}

func TestCallerDeadlineIsNotUnavailable(t *testing.T) {
	api := &stubAPI{inspect: func(string) (container.InspectResponse, error) {
		return container.InspectResponse{}, context.Canceled
	}}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := newStubbed(Config{}, api).Inspect(ctx, "a1")
	if !errors.Is(err, context.Canceled) || errors.Is(err, driver.ErrUnavailable) {
		t.Errorf("Inspect = %v, want context.Canceled only", err)
	}
}

func TestContainerConfig(t *testing.T) {
	d := newStubbed(Config{Network: "hearth-net"}, &stubAPI{})
	spec := testSpec
	spec.Env = map[string]string{"PORT": "1", "GREETING": "hi"}
	spec.Resources = instance.Resources{MemoryMB: 128, CPUMilli: 250}
	spec.Labels = map[string]string{instance.LabelNode: "n1"}
	cfg, host := d.containerConfig(spec, netInfo{mode: "hearth-net", name: "hearth-net"}, "65534:65534")
	if want := []string{"GREETING=hi", "PORT=9000"}; !slices.Equal(cfg.Env, want) {
		t.Errorf("env = %v, want %v", cfg.Env, want)
	}
	for k, v := range map[string]string{
		instance.LabelOwner: instance.OwnerValue, instance.LabelNode: "n1", instance.LabelInstance: "a1",
		instance.LabelFunction: "hello", instance.LabelVersion: "3", labelPort: "9000", labelNetwork: "hearth-net",
	} {
		if cfg.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, cfg.Labels[k], v)
		}
	}
	if cfg.Hostname != "a1" || cfg.Image != "hello:abc" || cfg.User != "65534:65534" {
		t.Errorf("hostname %q, image %q, user %q", cfg.Hostname, cfg.Image, cfg.User)
	}
	if host.Memory != 128<<20 || host.NanoCPUs != 250_000_000 || host.NetworkMode != "hearth-net" {
		t.Errorf("host config: memory %d, nano CPUs %d, network %q", host.Memory, host.NanoCPUs, host.NetworkMode)
	}
	if spec.Labels[instance.LabelOwner] != "" {
		t.Error("containerConfig modified the caller's labels")
	}
	long := testSpec
	long.ID = strings.Repeat("x", 64)
	if cfg, _ := d.containerConfig(long, netInfo{mode: "hearth-net", name: "hearth-net"}, ""); cfg.Hostname != "" {
		t.Errorf("hostname %q for an id too long to be one", cfg.Hostname)
	}
}

func TestStateOf(t *testing.T) {
	for _, tt := range []struct {
		status string
		paused bool
		want   instance.State
	}{
		{"created", false, instance.StateStarting},
		{"restarting", false, instance.StateStarting},
		{"running", false, instance.StateRunning},
		{"running", true, instance.StatePaused},
		{"paused", false, instance.StatePaused},
		{"exited", false, instance.StateExited},
		{"dead", false, instance.StateExited},
		{"removing", false, instance.StateExited},
		{"weird", false, instance.StateUnknown},
	} {
		if got := stateOf(tt.status, tt.paused); got != tt.want {
			t.Errorf("stateOf(%q, %v) = %q, want %q", tt.status, tt.paused, got, tt.want)
		}
	}
}

func TestExitCodeFromStatus(t *testing.T) {
	for status, want := range map[string]int{
		"Exited (137) 5 seconds ago": 137,
		"Exited (0) 2 hours ago":     0,
		"Up 3 minutes":               0,
		"Exited (":                   0,
	} {
		if got := exitCodeFromStatus(status); got != want {
			t.Errorf("exitCodeFromStatus(%q) = %d, want %d", status, got, want)
		}
	}
}

func TestDrainPull(t *testing.T) {
	ok := `{"status":"Pulling from library/x"}` + "\n" + `{"status":"Digest: sha256:abc"}`
	if err := drainPull(strings.NewReader(ok)); err != nil {
		t.Errorf("drainPull(success) = %v", err)
	}
	failed := `{"status":"Pulling"}` + "\n" + `{"errorDetail":{"message":"manifest unknown"},"error":"manifest unknown"}`
	if err := drainPull(strings.NewReader(failed)); err == nil || err.Error() != "manifest unknown" {
		t.Errorf("drainPull(failure) = %v, want manifest unknown", err)
	}
	if err := drainPull(io.LimitReader(strings.NewReader(`{"status":`), 10)); err == nil {
		t.Error("drainPull of a truncated stream succeeded")
	}
}

func TestConfigValidate(t *testing.T) {
	if err := (Config{}).Validate(); err != nil {
		t.Errorf("zero Config: %v", err)
	}
	if err := (Config{OpTimeout: -time.Second}).Validate(); err == nil {
		t.Error("negative OpTimeout accepted")
	}
	if _, err := New(Config{StopGrace: -1}); err == nil {
		t.Error("New accepted an invalid config")
	}
}
