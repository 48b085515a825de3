//go:build integration

package docker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/internal/testimage"
)

// blocked is how long a dial that is expected to fail may try: a connection dropped on the way
// (between instances, out of an internal network) can only be told by its not completing.
const blocked = time.Second

// testNetwork returns a network name of the test's own, for a driver the test configures with
// it; when the test ends, the networks a driver made of it (the internal one too) are removed
// with their firewall rules. Tests that change the host's firewall (ReachHost) must use one, or
// they would open the shared "hearth" network under other tests' feet.
func testNetwork(t *testing.T) string {
	t.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := "hearth-it-" + hex.EncodeToString(b)
	t.Cleanup(func() {
		d, err := New(DefaultConfig())
		if err != nil {
			t.Error(err)
			return
		}
		defer func() { _ = d.Close() }()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, n := range []string{name, internalNetwork(name)} {
			if err := d.removeNetwork(ctx, n); err != nil {
				t.Errorf("remove network %s: %v", n, err)
			}
		}
	})
	return name
}

// TestNetworkIsolation checks, from inside running instances, what an instance can reach: not
// another instance, not the host (unless ReachHost), the outside world unless network: none.
// "Outside" is a server in a network namespace of the test's own, reached through a veth pair:
// the host routes to it as it routes to the internet, and nothing leaves the machine.
func TestNetworkIsolation(t *testing.T) {
	out := newOutside(t)
	hostPort := listenOnHost(t)

	cfg := DefaultConfig()
	cfg.Network = testNetwork(t)
	d := newDriver(t, cfg)
	img := testimage.Ensure(t)
	a := startInstance(t, d, instance.Spec{ID: uniqueID(t), Image: img})
	b := startInstance(t, d, instance.Spec{ID: uniqueID(t), Image: img})
	// Started, and answering the host: an instance without outbound traffic is still one
	// hearth can call.
	none := startInstance(t, d, instance.Spec{ID: uniqueID(t), Image: img,
		Security: instance.Security{Network: instance.NetworkNone}})

	openCfg := DefaultConfig()
	openCfg.Network = testNetwork(t)
	openCfg.ReachHost = true
	od := newDriver(t, openCfg)
	c := startInstance(t, od, instance.Spec{ID: uniqueID(t), Image: img})

	t.Run("instances cannot reach each other", func(t *testing.T) {
		for _, p := range [][2]instance.Instance{{a, b}, {b, a}, {a, none}, {none, a}} {
			if r := testimage.Dial(t, p[0].Endpoint, p[1].Endpoint, blocked); r.Connected {
				t.Errorf("%s reached %s", p[0].ID, p[1].ID)
			}
		}
	})
	t.Run("the host is closed", func(t *testing.T) {
		for _, tt := range []struct {
			from instance.Instance
			addr string
		}{
			{a, net.JoinHostPort(gateway(t, d, a), hostPort)},
			{a, net.JoinHostPort(out.hostIP, hostPort)}, // another of the host's addresses
			{none, net.JoinHostPort(gateway(t, d, none), hostPort)},
		} {
			// Refused at once by the firewall's REJECT, not left to time out.
			r := testimage.Dial(t, tt.from.Endpoint, tt.addr, time.Minute)
			if r.Connected || !strings.Contains(r.Error, "connection refused") {
				t.Errorf("%s dialling the host's %s: %+v, want connection refused", tt.from.ID, tt.addr, r)
			}
		}
	})
	t.Run("ReachHost opens the host", func(t *testing.T) {
		addr := net.JoinHostPort(gateway(t, od, c), hostPort)
		if r := testimage.Dial(t, c.Endpoint, addr, time.Minute); !r.Connected {
			t.Errorf("with ReachHost, dialling the host's %s: %s", addr, r.Error)
		}
	})
	t.Run("outbound traffic is allowed", func(t *testing.T) {
		for _, from := range []instance.Instance{a, c} {
			if r := testimage.Dial(t, from.Endpoint, out.addr, time.Minute); !r.Connected {
				t.Errorf("%s dialling %s outside: %s", from.ID, out.addr, r.Error)
			}
		}
	})
	t.Run("network none has no outbound traffic", func(t *testing.T) {
		if r := testimage.Dial(t, none.Endpoint, out.addr, blocked); r.Connected {
			t.Errorf("an instance with network none reached %s", out.addr)
		}
	})
}

// TestConcurrentNetworkSetup checks that drivers setting one network up at once, as two servers
// on one engine may, end with one network: Docker alone makes several of the same name.
func TestConcurrentNetworkSetup(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Network = testNetwork(t)
	drivers := []*Driver{newDriver(t, cfg), newDriver(t, cfg), newDriver(t, cfg)}
	type result struct {
		mode string
		err  error
	}
	results := make(chan result)
	for _, d := range drivers {
		for range 3 {
			go func() {
				n, err := d.instanceNetwork(t.Context(), instance.Security{})
				results <- result{n.mode, err}
			}()
		}
	}
	modes := map[string]bool{}
	for range 3 * len(drivers) {
		r := <-results
		if r.err != nil {
			t.Error(r.err)
		}
		modes[r.mode] = true
	}
	nets, err := drivers[0].findNetworks(t.Context(), cfg.Network)
	if err != nil {
		t.Fatal(err)
	}
	if len(modes) != 1 || len(nets) != 1 || !modes[nets[0].ID] {
		t.Errorf("the drivers settled on %v; networks named %s: %d", modes, cfg.Network, len(nets))
	}
}

// gateway is the address of the host on the instance's network.
func gateway(t *testing.T, d *Driver, inst instance.Instance) string {
	t.Helper()
	info, err := d.api.ContainerInspect(t.Context(), inst.DriverRef)
	if err != nil {
		t.Fatal(err)
	}
	for _, ep := range info.NetworkSettings.Networks {
		if ep.Gateway != "" {
			return ep.Gateway
		}
	}
	t.Fatalf("instance %s has no gateway", inst.ID)
	return ""
}

// listenOnHost opens a listener on every address of the host, as hearth's API could be, and
// returns its port.
func listenOnHost(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// outside is a server off the instance networks: the test image's server in a network
// namespace, at addr; hostIP is the host's end of the link to it.
type outside struct {
	addr, hostIP string
}

// newOutside makes the namespace, a veth pair between it and the host on a /30 of 198.18.0.0/15
// (reserved for benchmarks, so on no real network), and runs the server there. Everything is
// removed when the test ends.
func newOutside(t *testing.T) outside {
	t.Helper()
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	suffix := hex.EncodeToString(b)
	ns, hostEnd, nsEnd := "hit-"+suffix, "hv"+suffix, "hp"+suffix
	subnet := fmt.Sprintf("198.%d.%d.", 18+int(b[0])%2, b[1])
	base := int(b[2]) &^ 3
	hostIP, nsIP := subnet+strconv.Itoa(base+1), subnet+strconv.Itoa(base+2)

	ip(t, "netns", "add", ns)
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", ns, err, out)
		}
	})
	ip(t, "link", "add", hostEnd, "type", "veth", "peer", "name", nsEnd)
	// Deleting the namespace deletes its end and with it the pair; this is for a test that
	// fails before the move.
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", hostEnd).Run() })
	ip(t, "link", "set", nsEnd, "netns", ns)
	ip(t, "addr", "add", hostIP+"/30", "dev", hostEnd)
	ip(t, "link", "set", hostEnd, "up")
	ip(t, "netns", "exec", ns, "ip", "addr", "add", nsIP+"/30", "dev", nsEnd)
	ip(t, "netns", "exec", ns, "ip", "link", "set", nsEnd, "up")
	ip(t, "netns", "exec", ns, "ip", "link", "set", "lo", "up")

	bin := filepath.Join(t.TempDir(), "echo")
	if err := testimage.BuildServer(bin); err != nil {
		t.Fatal(err)
	}
	const port = "8099"
	srv := exec.Command("ip", "netns", "exec", ns, bin) // ip execs the server: same process
	srv.Env = append(os.Environ(), "PORT="+port)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = srv.Process.Kill()
		_ = srv.Wait()
	})
	addr := net.JoinHostPort(nsIP, port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/_/ready")
		if err == nil {
			_ = resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server in namespace %s never answered at %s: %v", ns, addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return outside{addr: addr, hostIP: hostIP}
}

func ip(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}
