//go:build e2e

package e2e

import (
	"encoding/json"
	"net"
	"os/exec"
	"strings"
	"testing"
)

// probeHandler is a Go handler that reports, from inside its instance, how it is confined: the
// lines of /proc/self/status that say who it runs as, whether / and /tmp take a write, its
// cgroup's PID limit, and whether a TCP connection to ?dial=host:port opens.
const probeHandler = `	status, _ := os.ReadFile("/proc/self/status")
	report := map[string]string{}
	for _, line := range strings.Split(string(status), "\n") {
		k, v, _ := strings.Cut(line, ":")
		switch k {
		case "Uid", "CapEff", "NoNewPrivs":
			report[k] = strings.Join(strings.Fields(v), " ")
		}
	}
	report["root_write"] = "ok"
	if err := os.WriteFile("/probe", []byte("x"), 0o644); err != nil {
		report["root_write"] = err.Error()
	}
	report["tmp_write"] = "ok"
	if err := os.WriteFile("/tmp/probe", []byte("x"), 0o644); err != nil {
		report["tmp_write"] = err.Error()
	}
	pids, _ := os.ReadFile("/sys/fs/cgroup/pids/pids.max")
	if len(pids) == 0 {
		pids, _ = os.ReadFile("/sys/fs/cgroup/pids.max")
	}
	report["pids_max"] = strings.TrimSpace(string(pids))
	if addr := r.URL.Query().Get("dial"); addr != "" {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			report["dial"] = err.Error()
		} else {
			report["dial"] = "connected"
			c.Close()
		}
	}
	json.NewEncoder(w).Encode(report)`

// TestInstancesAreHardenedAndIsolated deploys a function on a server that listens on every
// address, as one that other machines reach would, and asks it from inside its instance: it is
// not root, holds no capability, cannot write its root file system, has a PID limit, and can
// open no connection to another function's instance nor to hearth's API through its network's
// gateway.
func TestInstancesAreHardenedAndIsolated(t *testing.T) {
	port := freeAddr(t)[len("127.0.0.1:"):]
	s := startServer(t, serverOpts{addr: "0.0.0.0:" + port})
	probe := s.newFunction(t, "prober")
	writeHandler(t, probe, []string{"encoding/json", "net", "os", "strings", "time"}, probeHandler)
	s.must(t, probe, "deploy")
	other := s.newFunction(t, "neighbour")
	s.must(t, other, "deploy")
	s.must(t, other, "invoke", "neighbour")
	neighbour := s.pool(t, "neighbour").Instances[0].Endpoint

	ask := func(dial string) map[string]string {
		t.Helper()
		status, body := s.postAs(t, "text/plain", "/invoke/prober?dial="+dial, "")
		var report map[string]string
		if status != 200 || json.Unmarshal([]byte(body), &report) != nil {
			t.Fatalf("probe: %d %s", status, body)
		}
		return report
	}
	r := ask(neighbour)
	if uid := strings.Fields(r["Uid"]); len(uid) == 0 || uid[0] == "0" {
		t.Errorf("the instance runs as uid %q, want an unprivileged user", r["Uid"])
	}
	if r["CapEff"] != "0000000000000000" || r["NoNewPrivs"] != "1" {
		t.Errorf("capabilities %q, no_new_privs %q; want none and 1", r["CapEff"], r["NoNewPrivs"])
	}
	if !strings.Contains(r["root_write"], "read-only file system") || r["tmp_write"] != "ok" {
		t.Errorf("writing / gave %q and /tmp %q; want a read-only root and a writable /tmp", r["root_write"], r["tmp_write"])
	}
	if r["pids_max"] == "" || r["pids_max"] == "max" {
		t.Errorf("pids.max is %q, want a limit", r["pids_max"])
	}
	if r["dial"] == "connected" {
		t.Errorf("the instance connected to another function's instance at %s", neighbour)
	}

	// hearth's API, through the gateway of the instances' network, where it listens too.
	out, err := exec.Command("docker", "network", "inspect", "hearth", "-f", "{{range .IPAM.Config}}{{.Gateway}}{{end}}").Output()
	gateway := strings.TrimSpace(string(out))
	if err != nil || net.ParseIP(gateway) == nil {
		t.Fatalf("the hearth network's gateway: %q, %v", out, err)
	}
	api := net.JoinHostPort(gateway, port)
	if conn, err := net.Dial("tcp", api); err != nil {
		t.Fatalf("the server does not answer at %s from the host itself: %v", api, err)
	} else {
		conn.Close()
	}
	if r := ask(api); r["dial"] == "connected" || !strings.Contains(r["dial"], "refused") {
		t.Errorf("dialling hearth's API at %s from an instance: %q, want connection refused", api, r["dial"])
	}
}
