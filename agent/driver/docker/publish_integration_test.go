//go:build integration

package docker

import (
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/go-connections/nat"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/driver/drivertest"
	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/internal/testimage"
)

// TestPublishedPort checks instances published on a host address (Config.PublishAddr): they
// answer at the published endpoint, Inspect and List report that endpoint, a host outside
// reaches it, and instances still cannot reach the host through it.
func TestPublishedPort(t *testing.T) {
	img := testimage.Ensure(t)
	for _, tt := range []struct{ name, network string }{
		{"hearth's network", testNetwork(t)},
		{"Docker's bridge", "bridge"},
	} {
		t.Run("loopback on "+tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Network, cfg.PublishAddr = tt.network, "127.0.0.1"
			d := newDriver(t, cfg)
			spec := instance.Spec{ID: uniqueID(t), Image: img, Port: 9090}
			inst := startInstance(t, d, spec)
			checkPublished(t, d, inst, "127.0.0.1", spec.Port)
			call(t, inst)
		})
	}

	// A host outside: a network namespace of the test's own, reaching the host at out.hostIP,
	// an address of the host that is not loopback. Traffic from it to a published port is
	// DNATed to the container and forwarded, never delivered to the host's INPUT rules.
	out := newOutside(t)
	cfg := DefaultConfig()
	cfg.Network, cfg.PublishAddr = testNetwork(t), out.hostIP
	d := newDriver(t, cfg)
	a := startInstance(t, d, instance.Spec{ID: uniqueID(t), Image: img})
	b := startInstance(t, d, instance.Spec{ID: uniqueID(t), Image: img})
	t.Run("advertise address", func(t *testing.T) {
		for _, inst := range []instance.Instance{a, b} {
			checkPublished(t, d, inst, out.hostIP, defaultPort)
			call(t, inst)
		}
	})
	t.Run("reached from another host", func(t *testing.T) {
		// The outside server dials: it runs the test image's server too.
		for _, inst := range []instance.Instance{a, b} {
			if r := testimage.Dial(t, out.addr, inst.Endpoint, time.Minute); !r.Connected {
				t.Errorf("from outside, dialling %s at %s: %s", inst.ID, inst.Endpoint, r.Error)
			}
		}
	})
	t.Run("instances cannot reach published ports", func(t *testing.T) {
		// Docker's NAT leaves traffic from the instances' own bridge alone; it meets the
		// firewall that closes the host to them, and is refused at once.
		for _, p := range [][2]instance.Instance{{a, b}, {b, a}, {a, a}} {
			r := testimage.Dial(t, p[0].Endpoint, p[1].Endpoint, time.Minute)
			if r.Connected || !strings.Contains(r.Error, "connection refused") {
				t.Errorf("%s dialling %s's published endpoint %s: %+v, want connection refused", p[0].ID, p[1].ID, p[1].Endpoint, r)
			}
		}
	})
}

// TestConformancePublished runs the driver contract's suite with every instance published on
// loopback.
func TestConformancePublished(t *testing.T) {
	img := testimage.Ensure(t)
	drivertest.Run(t, func(t *testing.T) driver.Driver {
		cfg := DefaultConfig()
		cfg.PublishAddr = "127.0.0.1"
		return newDriver(t, cfg)
	}, drivertest.Options{Image: img})
}

// checkPublished checks that inst's endpoint is a host port on addr bound to the container's
// port, and that Inspect and List report that endpoint.
func checkPublished(t *testing.T, d *Driver, inst instance.Instance, addr string, port int) {
	t.Helper()
	host, hostPort, err := net.SplitHostPort(inst.Endpoint)
	if err != nil || host != addr {
		t.Fatalf("endpoint %q, want one on %s", inst.Endpoint, addr)
	}
	info, err := d.api.ContainerInspect(t.Context(), inst.DriverRef)
	if err != nil {
		t.Fatal(err)
	}
	want := nat.PortBinding{HostIP: addr, HostPort: hostPort}
	if bs := info.NetworkSettings.Ports[nat.Port(strconv.Itoa(port)+"/tcp")]; !slices.Contains(bs, want) {
		t.Errorf("bindings %v, want %v for port %d", info.NetworkSettings.Ports, want, port)
	}
	if bs := info.HostConfig.PortBindings; len(bs) != 1 || len(bs[nat.Port(strconv.Itoa(port)+"/tcp")]) != 1 {
		t.Errorf("port bindings asked for: %v, want one, on %s", bs, addr)
	}
	if st, err := d.Inspect(t.Context(), inst.ID); err != nil || st.Instance.Endpoint != inst.Endpoint {
		t.Errorf("Inspect = %+v, %v; want endpoint %s", st, err, inst.Endpoint)
	}
	list, err := d.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(list, func(s instance.Status) bool { return s.Instance.ID == inst.ID })
	if i < 0 || list[i].Instance.Endpoint != inst.Endpoint || list[i].State != instance.StateRunning {
		t.Errorf("List entry of %s = %+v, want running at %s", inst.ID, list, inst.Endpoint)
	}
}

// call POSTs to the instance at its endpoint and checks that it, and no other, answered.
func call(t *testing.T, inst instance.Instance) {
	t.Helper()
	resp, err := http.Post("http://"+inst.Endpoint+"/echo", "text/plain", strings.NewReader("ping"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "ping" || resp.Header.Get("X-Instance") != inst.ID {
		t.Errorf("POST %s/echo = %d %q, X-Instance %q; want %s's echo", inst.Endpoint, resp.StatusCode, body,
			resp.Header.Get("X-Instance"), inst.ID)
	}
}
