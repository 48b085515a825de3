package main

import (
	"errors"
	"os"
	"os/exec"
	"testing"
)

func TestHearthTotalCountsDockerdBeyondTheFloor(t *testing.T) {
	c := newCPUPerCall(
		[]procCPU{{procServer, 60}, {procPlugin, 5}, {procDocker, 20}},
		[]procCPU{{procProxy, 50}, {procDocker, 8}},
		[]procCPU{{procDocker, 8}})
	if c.HearthTotal != 77 {
		t.Fatalf("HearthTotal = %v, want 60 + 5 + (20 - 8) = 77", c.HearthTotal)
	}
	r := row{CPU: c, Hearth: summary{RPS: 900}, BareProxy: &summary{RPS: 1000}}
	if v, ok := hearthCPU(r); !ok || v != 77 {
		t.Fatalf("hearthCPU = %v, %v", v, ok)
	}
	if v, ok := proxyShare(r); !ok || v != 0.9 {
		t.Fatalf("proxyShare = %v, %v; want 0.9", v, ok)
	}
	if _, ok := hearthCPU(row{}); ok {
		t.Fatal("hearthCPU of a row without CPU figures is measured")
	}
}

func TestCPUMeterSkipsProcessesNotFound(t *testing.T) {
	m := newCPUMeter(meteredProc{procServer, os.Getpid()}, meteredProc{procPlugin, 0})
	before, err := m.read()
	if err != nil {
		t.Fatal(err)
	}
	after, err := m.read()
	if err != nil {
		t.Fatal(err)
	}
	m.add(before, after)
	got := m.perCall(10)
	if len(got) != 1 || got[0].Process != procServer {
		t.Fatalf("perCall = %+v, want the server alone", got)
	}
}

func TestPluginPIDFindsTheDriverChild(t *testing.T) {
	if _, err := os.Stat("/proc/self/task"); err != nil {
		t.Skip("no /proc")
	}
	if _, err := pluginPID(os.Getpid()); !errors.Is(err, errNoPlugin) {
		t.Fatalf("pluginPID with no child = %v, want errNoPlugin", err)
	}
	// sh -c names its $0 after the script: the child's command line holds "__driver".
	cmd := exec.Command("sh", "-c", "read x", "__driver")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	})
	pid, err := pluginPID(os.Getpid())
	if err != nil || pid != cmd.Process.Pid {
		t.Fatalf("pluginPID = %d, %v; want %d", pid, err, cmd.Process.Pid)
	}
}
