package docker

import (
	"errors"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
)

func TestPublishAddrValidate(t *testing.T) {
	for _, tt := range []struct {
		cfg  Config
		want string // "" for valid
	}{
		{Config{PublishAddr: "10.0.0.5"}, ""},
		{Config{PublishAddr: "127.0.0.1", Network: "bridge"}, ""},
		{Config{PublishAddr: "fd00::5"}, ""},
		{Config{PublishAddr: "0.0.0.0"}, "every address"},
		{Config{PublishAddr: "::"}, "every address"},
		{Config{PublishAddr: "node-1.example"}, "must be an IP address"},
		{Config{PublishAddr: "10.0.0.5:80"}, "must be an IP address"},
		{Config{PublishAddr: "fe80::1%eth0"}, "must be an IP address"},
		{Config{PublishAddr: "10.0.0.5", Network: "host"}, `Network "host"`},
	} {
		err := tt.cfg.Validate()
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("Validate(%+v) = %v, want %q", tt.cfg, err, tt.want)
		}
	}
}

func TestContainerConfigPublishes(t *testing.T) {
	netw := netInfo{mode: "hearth", name: "hearth"}
	cfg, host := newStubbed(Config{}, &stubAPI{}).containerConfig(testSpec, netw, "")
	if len(cfg.ExposedPorts) != 0 || len(host.PortBindings) != 0 || cfg.Labels[labelPublish] != "" {
		t.Errorf("without PublishAddr: exposed %v, bindings %v, label %q; want nothing published",
			cfg.ExposedPorts, host.PortBindings, cfg.Labels[labelPublish])
	}

	cfg, host = newStubbed(Config{PublishAddr: "10.0.0.5"}, &stubAPI{}).containerConfig(testSpec, netw, "")
	p := nat.Port("9000/tcp")
	if _, ok := cfg.ExposedPorts[p]; !ok || len(cfg.ExposedPorts) != 1 {
		t.Errorf("exposed ports %v, want only %s", cfg.ExposedPorts, p)
	}
	if b := host.PortBindings[p]; len(host.PortBindings) != 1 || len(b) != 1 || b[0] != (nat.PortBinding{HostIP: "10.0.0.5"}) {
		t.Errorf("port bindings %v, want %s on 10.0.0.5 with a port Docker picks", host.PortBindings, p)
	}
	if cfg.Labels[labelPublish] != "10.0.0.5" {
		t.Errorf("label %s = %q, want the publish address", labelPublish, cfg.Labels[labelPublish])
	}
}

// publishedContainer is a running container of testSpec on network "hearth" at 172.20.0.7,
// whose labels record addr as its publish address, with bindings as inspect and list report
// them.
func publishedContainer(addr string, bindings nat.PortMap) (container.InspectResponse, container.Summary) {
	labels := map[string]string{instance.LabelOwner: instance.OwnerValue, instance.LabelInstance: "a1",
		labelPort: "9000", labelNetwork: "hearth"}
	if addr != "" {
		labels[labelPublish] = addr
	}
	nets := map[string]*network.EndpointSettings{"hearth": {IPAddress: "172.20.0.7"}}
	info := container.InspectResponse{
		ContainerJSONBase: &container.ContainerJSONBase{ID: "c1", State: &container.State{Status: container.StateRunning}},
		Config:            &container.Config{Labels: labels},
		NetworkSettings: &container.NetworkSettings{
			NetworkSettingsBase: container.NetworkSettingsBase{Ports: bindings}, Networks: nets},
	}
	sum := container.Summary{ID: "c1", Labels: labels, State: container.StateRunning,
		NetworkSettings: &container.NetworkSettingsSummary{Networks: nets}}
	for p, bs := range bindings {
		for _, b := range bs {
			port := container.Port{PrivatePort: uint16(p.Int()), Type: p.Proto(), IP: b.HostIP}
			if n, err := nat.ParsePort(b.HostPort); err == nil {
				port.PublicPort = uint16(n)
			}
			sum.Ports = append(sum.Ports, port)
		}
	}
	return info, sum
}

// TestPublishedEndpoint checks that Inspect and List read the same endpoint of a container: the
// pool adopts the instances it lists, after a server restart, by the endpoint Start gave.
func TestPublishedEndpoint(t *testing.T) {
	for _, tt := range []struct {
		name     string
		addr     string
		bindings nat.PortMap
		want     string
	}{
		{"container IP", "", nil, "172.20.0.7:9000"},
		{"published", "10.0.0.5", nat.PortMap{"9000/tcp": {{HostIP: "10.0.0.5", HostPort: "49153"}}}, "10.0.0.5:49153"},
		{"IPv6", "fd00::5", nat.PortMap{"9000/tcp": {{HostIP: "fd00:0::5", HostPort: "49153"}}}, "[fd00::5]:49153"},
		{"among others", "10.0.0.5", nat.PortMap{
			"9000/udp": {{HostIP: "10.0.0.5", HostPort: "1"}},
			"9001/tcp": {{HostIP: "10.0.0.5", HostPort: "2"}},
			"9000/tcp": {{HostIP: "10.0.0.6", HostPort: "3"}, {HostIP: "10.0.0.5", HostPort: "49153"}},
		}, "10.0.0.5:49153"},
		// Not the container IP: nothing else would reach it.
		{"not bound yet", "10.0.0.5", nat.PortMap{"9000/tcp": nil}, ""},
		{"no port yet", "10.0.0.5", nat.PortMap{"9000/tcp": {{HostIP: "10.0.0.5", HostPort: "0"}}}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			info, sum := publishedContainer(tt.addr, tt.bindings)
			// The driver's own configuration does not matter: the container's labels do.
			for _, cfg := range []Config{{}, {PublishAddr: "10.9.9.9"}} {
				d := newStubbed(cfg, &stubAPI{})
				if got := d.statusFromInspect("a1", info).Instance.Endpoint; got != tt.want {
					t.Errorf("PublishAddr %q: inspect endpoint %q, want %q", cfg.PublishAddr, got, tt.want)
				}
				if got := d.statusFromSummary(sum).Instance.Endpoint; got != tt.want {
					t.Errorf("PublishAddr %q: list endpoint %q, want %q", cfg.PublishAddr, got, tt.want)
				}
			}
		})
	}
}

// scriptedStart is a stub engine on which a create and start succeed and each inspect of the
// container answers the next of bindings (the last one again once they run out).
func scriptedStart(bindings ...nat.PortMap) (*stubAPI, *int) {
	inspects := 0
	return &stubAPI{
		create: func(string) (container.CreateResponse, error) { return container.CreateResponse{ID: "c1"}, nil },
		start:  func(string) error { return nil },
		inspect: func(string) (container.InspectResponse, error) {
			info, _ := publishedContainer("10.0.0.5", bindings[min(inspects, len(bindings)-1)])
			inspects++
			return info, nil
		},
	}, &inspects
}

func TestStartWaitsForTheBinding(t *testing.T) {
	bound := nat.PortMap{"9000/tcp": {{HostIP: "10.0.0.5", HostPort: "49153"}}}
	api, inspects := scriptedStart(nat.PortMap{}, nat.PortMap{}, bound)
	inst, err := newStubbed(Config{PublishAddr: "10.0.0.5"}, api).Start(t.Context(), testSpec)
	if err != nil || inst.Endpoint != "10.0.0.5:49153" {
		t.Fatalf("Start = %+v, %v; want the published endpoint", inst, err)
	}
	if *inspects != 3 {
		t.Errorf("%d inspects, want 3 (twice without the binding)", *inspects)
	}

	api, _ = scriptedStart(nat.PortMap{})
	_, err = newStubbed(Config{PublishAddr: "10.0.0.5"}, api).Start(t.Context(), testSpec)
	if err == nil || !strings.Contains(err.Error(), "no port 9000/tcp published on 10.0.0.5") {
		t.Errorf("Start = %v, want an error saying the port was never published", err)
	}
	if len(api.removed) != 1 {
		t.Errorf("removed %v, want the container removed", api.removed)
	}
}

func TestStartRefusesNetworkNoneWhenPublishing(t *testing.T) {
	api, _ := scriptedStart(nat.PortMap{})
	spec := testSpec
	spec.Security.Network = instance.NetworkNone
	_, err := newStubbed(Config{PublishAddr: "10.0.0.5"}, api).Start(t.Context(), spec)
	if !errors.Is(err, driver.ErrNotSupported) || !strings.Contains(err.Error(), "network: none") {
		t.Errorf("Start = %v, want ErrNotSupported naming network: none", err)
	}
	if len(api.created) != 0 {
		t.Error("a container was created")
	}
}
