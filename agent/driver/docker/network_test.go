package docker

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"

	"github.com/hearthfn/hearth/agent/instance"
)

func runningStub() *stubAPI {
	api := &stubAPI{}
	api.create = func(string) (container.CreateResponse, error) { return container.CreateResponse{ID: "c1"}, nil }
	api.start = func(string) error { return nil }
	api.inspect = func(string) (container.InspectResponse, error) {
		return container.InspectResponse{ContainerJSONBase: &container.ContainerJSONBase{ID: "c1",
			State: &container.State{Status: container.StateRunning}}}, nil
	}
	return api
}

func TestNetworkMadeOnceAndHostClosed(t *testing.T) {
	api := runningStub()
	d := newStubbed(Config{}, api)
	for range 3 {
		// The stub's inspect reports no address: Start fails after the create, which is
		// enough to see what was created.
		_, _ = d.Start(t.Context(), testSpec)
	}
	if len(api.creates) != 1 || api.lists != 2 {
		t.Fatalf("%d network creates and %d lists for three starts, want 1 and 2 (before and after the create)", len(api.creates), api.lists)
	}
	opts := api.creates[0]
	if opts.Driver != "bridge" || opts.Internal || opts.Options[optICC] != "false" || opts.Labels[instance.LabelOwner] != instance.OwnerValue {
		t.Errorf("network created with %+v", opts)
	}
	n := api.networks[0]
	fw := d.fw.(*stubFirewall)
	if !slices.Equal(fw.isolated, []string{"br-" + n.ID[:12]}) || len(fw.opened) != 0 {
		t.Errorf("firewall: isolated %v, opened %v", fw.isolated, fw.opened)
	}
	for _, hc := range api.created {
		if string(hc.NetworkMode) != n.ID {
			t.Errorf("network mode %q, want the network's ID %s", hc.NetworkMode, n.ID)
		}
	}
}

func TestReachHostOpensTheHost(t *testing.T) {
	api := runningStub()
	d := newStubbed(Config{ReachHost: true}, api)
	_, _ = d.Start(t.Context(), testSpec)
	fw := d.fw.(*stubFirewall)
	if len(fw.isolated) != 0 || len(fw.opened) != 1 {
		t.Errorf("firewall: isolated %v, opened %v; want the rules of a closed network removed", fw.isolated, fw.opened)
	}
	// network: none stays closed to the host whatever the configuration.
	spec := testSpec
	spec.Security.Network = instance.NetworkNone
	_, _ = d.Start(t.Context(), spec)
	if len(fw.isolated) != 1 {
		t.Errorf("the internal network was not closed to the host: isolated %v", fw.isolated)
	}
}

func TestNetworkNoneIsInternal(t *testing.T) {
	api := runningStub()
	d := newStubbed(Config{}, api)
	spec := testSpec
	spec.Security.Network = instance.NetworkNone
	_, _ = d.Start(t.Context(), spec)
	if len(api.networks) != 1 || api.networks[0].Name != "hearth-internal" || !api.networks[0].Internal ||
		api.networks[0].Options[optICC] != "false" {
		t.Fatalf("networks %+v, want hearth-internal, internal, icc off", api.networks)
	}
	if string(api.created[0].NetworkMode) != api.networks[0].ID {
		t.Errorf("network mode %q", api.created[0].NetworkMode)
	}
	spec.Security.Network = "other"
	if _, err := d.Start(t.Context(), spec); err == nil || !strings.Contains(err.Error(), `network "other"`) {
		t.Errorf("Start on an unknown network = %v", err)
	}
	for base, want := range map[string]string{"hearth": "hearth-internal", "host": "hearth-internal",
		"bridge": "hearth-internal", "faas": "faas-internal"} {
		if got := internalNetwork(base); got != want {
			t.Errorf("internalNetwork(%q) = %q, want %q", base, got, want)
		}
	}
}

// TestRivalCreates checks that two servers making the network at once end on one network: the
// one that lost removes its own.
func TestRivalCreates(t *testing.T) {
	api := runningStub()
	api.onCreate = func(name string) {
		api.onCreate = nil
		api.addNetwork(name, map[string]string{instance.LabelOwner: instance.OwnerValue}, map[string]string{optICC: "false"}, false)
	}
	d := newStubbed(Config{}, api)
	_, _ = d.Start(t.Context(), testSpec)
	if len(api.networks) != 1 || api.networks[0].ID[:12] != "000000000001" {
		t.Fatalf("networks %+v, want the rival's (older) one only", api.networks)
	}
	if string(api.created[0].NetworkMode) != api.networks[0].ID {
		t.Errorf("network mode %q, want the rival's network", api.created[0].NetworkMode)
	}
}

func TestForeignNetworkUsedAsItIs(t *testing.T) {
	api := runningStub()
	api.addNetwork("bridge", nil, map[string]string{optBridgeName: "docker0"}, false)
	d := newStubbed(Config{Network: "bridge"}, api)
	_, _ = d.Start(t.Context(), testSpec)
	if len(api.creates) != 0 || string(api.created[0].NetworkMode) != "bridge" {
		t.Errorf("creates %v, network mode %q", api.creates, api.created[0].NetworkMode)
	}
	if fw := d.fw.(*stubFirewall); len(fw.isolated)+len(fw.opened) != 0 {
		t.Errorf("the firewall of a network hearth does not own was changed: %+v", fw)
	}
}

func TestOwnNetworkWithOtherSettingsRefused(t *testing.T) {
	api := runningStub()
	api.addNetwork("hearth-internal", map[string]string{instance.LabelOwner: instance.OwnerValue}, map[string]string{optICC: "false"}, false)
	spec := testSpec
	spec.Security.Network = instance.NetworkNone
	_, err := newStubbed(Config{}, api).Start(t.Context(), spec)
	if err == nil || !strings.Contains(err.Error(), "docker network rm hearth-internal") {
		t.Errorf("Start on an internal network that is not internal = %v", err)
	}
	if len(api.created) != 0 {
		t.Error("a container was created anyway")
	}
}

func TestFirewallFailureFailsStart(t *testing.T) {
	api := runningStub()
	d := newStubbed(Config{}, api)
	d.fw.(*stubFirewall).err = errors.New("iptables: Permission denied (you must be root)")
	_, err := d.Start(t.Context(), testSpec)
	if err == nil || !strings.Contains(err.Error(), "--instances-reach-host") || len(api.created) != 0 {
		t.Errorf("Start with a firewall that cannot be set = %v (%d created); want a refusal saying what to do", err, len(api.created))
	}
	// Not cached: the next start tries again.
	d.fw.(*stubFirewall).err = nil
	_, _ = d.Start(t.Context(), testSpec)
	if len(api.created) != 1 {
		t.Errorf("the start after the firewall came right created %d containers", len(api.created))
	}
}

// TestNetworkGoneIsMadeAgain checks that a network removed behind the driver's back costs one
// failed create, not every start from then on.
func TestNetworkGoneIsMadeAgain(t *testing.T) {
	api := runningStub()
	d := newStubbed(Config{}, api)
	_, _ = d.Start(t.Context(), testSpec)
	api.networks = nil // docker network rm behind the driver's back
	creates := 0
	api.create = func(string) (container.CreateResponse, error) {
		creates++
		if creates == 1 {
			return container.CreateResponse{}, notFound("network")
		}
		return container.CreateResponse{ID: "c2"}, nil
	}
	_, _ = d.Start(t.Context(), testSpec)
	if creates != 2 || len(api.networks) != 1 {
		t.Errorf("%d creates, networks %v: want the network made again and the create retried", creates, api.networks)
	}
}

// TestNetworkGoneAtStart is the same when Docker only looks the network up at the container's
// start, as it does for a network named by ID.
func TestNetworkGoneAtStart(t *testing.T) {
	api := runningStub()
	d := newStubbed(Config{}, api)
	_, _ = d.Start(t.Context(), testSpec)
	api.networks = nil
	starts := 0
	api.start = func(string) error {
		starts++
		if starts == 1 {
			return notFound("network")
		}
		return nil
	}
	api.removed = nil
	_, _ = d.Start(t.Context(), testSpec)
	if starts != 2 || len(api.networks) != 1 || len(api.removed) < 1 || api.removed[0] != "c1" {
		t.Errorf("%d starts, networks %v, removed %v: want the first container removed, the network made again and a second try", starts, api.networks, api.removed)
	}
}
