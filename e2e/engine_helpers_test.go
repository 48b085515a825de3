//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hearthfn/hearth/internal/syncbuf"
)

// testEngine is a Docker Engine of the test's own, on the machine's dockerd binary, so that a
// test can stop and start it while the tests that run at the same time keep the machine's
// engine (docs/dev/testing.md). It follows the recipe of ENVIRONMENT.md:
//   - its socket, data root, exec root and pid file live in a scratch folder of its own;
//   - its containers join a bridge made for it, with a /24 of 10.199.0.0/16 that no interface
//     of the machine has. Never --bridge none: when such an engine stops, the machine engine's
//     docker0 goes with it;
//   - --iptables=false: it leaves the machine's firewall alone;
//   - no --default-address-pool: an engine started again on a data root that has its default
//     network deletes the machine's docker0 when it has address pools of its own (Docker
//     20.10's initNetworkController, reproduced 2026-12-06). Tests on it must not make
//     networks, whose subnets would come from Docker's default pools: hearth runs with
//     --instance-network bridge on it.
//
// At cleanup it is stopped, and its bridge, its mounts and its folder are removed.
type testEngine struct {
	host   string // unix://<dir>/docker.sock
	dir    string
	bridge string
	subnet int // N of the bridge's 10.199.N.0/24
	// docker0 holds the addresses of the machine engine's bridge when the test began: should
	// the test engine delete it, remove says so and makes it again.
	docker0 []string
	log     *syncbuf.Buffer
	cmd     *exec.Cmd
	done    chan error
}

// startTestEngine makes and starts an engine for the test.
func startTestEngine(t *testing.T) *testEngine {
	t.Helper()
	// A short path: the engine's containerd puts sockets under the exec root, and a unix
	// socket's path has at most 107 bytes.
	dir, err := os.MkdirTemp("", "hearth-eng-")
	if err != nil {
		t.Fatal(err)
	}
	e := &testEngine{host: "unix://" + filepath.Join(dir, "docker.sock"), dir: dir, log: &syncbuf.Buffer{}, docker0: docker0Addrs()}
	t.Cleanup(func() { e.remove(t) })
	e.makeBridge(t)
	e.start(t)
	return e
}

// makeBridge claims a free /24 and a bridge named after it. The bridge's name is the claim:
// `ip link add` fails when another test holds it, and the next one is tried.
func (e *testEngine) makeBridge(t *testing.T) {
	t.Helper()
	start := 100 + rand.IntN(150)
	for i := range 150 {
		n := 100 + (start-100+i)%150
		if subnetInUse(t, fmt.Sprintf("10.199.%d.", n)) {
			continue
		}
		name := fmt.Sprintf("hearth-eng%d", n)
		if exec.Command("ip", "link", "add", name, "type", "bridge").Run() != nil {
			continue // another test's
		}
		e.bridge, e.subnet = name, n
		for _, args := range [][]string{
			{"addr", "add", fmt.Sprintf("10.199.%d.1/24", n), "dev", name},
			{"link", "set", name, "up"},
		} {
			if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
				t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
			}
		}
		return
	}
	t.Fatal("no free 10.199.N.0/24 for a test engine's bridge")
}

// docker0Addrs returns the IPv4 addresses (CIDR) of the machine's docker0, none when it is
// missing.
func docker0Addrs() []string {
	ifc, err := net.InterfaceByName("docker0")
	if err != nil {
		return nil
	}
	addrs, _ := ifc.Addrs()
	var out []string
	for _, a := range addrs {
		if ip, ok := a.(*net.IPNet); ok && ip.IP.To4() != nil {
			out = append(out, a.String())
		}
	}
	return out
}

// subnetInUse reports whether an interface of the machine has an address starting with prefix.
func subnetInUse(t *testing.T, prefix string) bool {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if strings.HasPrefix(a.String(), prefix) {
			return true
		}
	}
	return false
}

// start runs dockerd and waits until it answers.
func (e *testEngine) start(t *testing.T) {
	t.Helper()
	e.cmd = exec.Command("dockerd",
		"-H", e.host,
		"--data-root", filepath.Join(e.dir, "data"),
		"--exec-root", filepath.Join(e.dir, "exec"),
		"--pidfile", filepath.Join(e.dir, "docker.pid"),
		"--bridge", e.bridge,
		"--iptables=false",
	)
	e.cmd.Stdout, e.cmd.Stderr = e.log, e.log
	// Its own process group: a signal meant for the test's process group does not reach it.
	e.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := e.cmd.Start(); err != nil {
		t.Fatalf("start dockerd: %v", err)
	}
	done := make(chan error, 1)
	e.done = done
	go func() { done <- e.cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := e.docker("version", "--format", "{{.Server.Version}}"); err == nil {
			return
		}
		select {
		case err := <-done:
			e.done = nil
			t.Fatalf("the test engine exited at start (%v):\n%s", err, e.log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the test engine did not answer within 60 s:\n%s", e.log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop sends SIGTERM and waits for dockerd to exit, as an operator's `systemctl stop docker`
// would: it stops the engine's containers first (the engine runs without live-restore).
func (e *testEngine) stop(t *testing.T) {
	t.Helper()
	if e.done == nil {
		return
	}
	_ = e.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-e.done:
	case <-time.After(90 * time.Second):
		_ = e.cmd.Process.Kill()
		<-e.done
		t.Errorf("the test engine did not stop within 90 s of SIGTERM; killed it:\n%s", e.log.String())
	}
	e.done = nil
}

// docker runs the docker CLI against the engine.
func (e *testEngine) docker(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", append([]string{"-H", e.host}, args...)...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// remove stops the engine and removes everything it made: containers (a test that passed left
// none; see the test), the bridge, mounts under its folder, the folder.
func (e *testEngine) remove(t *testing.T) {
	t.Helper()
	if e.done != nil {
		if out, err := e.docker("ps", "-aq"); err == nil && out != "" {
			_, _ = e.docker(append([]string{"rm", "-f"}, strings.Fields(out)...)...)
		}
		e.stop(t)
	}
	e.killLeftovers(t)
	if e.bridge != "" {
		if out, err := exec.Command("ip", "link", "del", e.bridge).CombinedOutput(); err != nil {
			t.Errorf("delete the test engine's bridge %s: %v: %s", e.bridge, err, out)
		}
	}
	// An engine that stopped cleanly unmounted everything; one that was killed may not have.
	if b, err := os.ReadFile("/proc/self/mounts"); err == nil {
		var mounts []string
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) > 1 && strings.HasPrefix(f[1], e.dir+"/") {
				mounts = append(mounts, f[1])
			}
		}
		for i := len(mounts) - 1; i >= 0; i-- { // innermost first
			_ = syscall.Unmount(mounts[i], syscall.MNT_DETACH)
		}
	}
	if err := os.RemoveAll(e.dir); err != nil {
		t.Errorf("remove the test engine's folder: %v", err)
	}
	if len(e.docker0) > 0 && len(docker0Addrs()) == 0 {
		t.Errorf("the machine's docker0 is gone since the test engine ran (%v): made again, as ENVIRONMENT.md says", e.docker0)
		cmds := [][]string{{"link", "add", "docker0", "type", "bridge"}}
		for _, a := range e.docker0 {
			cmds = append(cmds, []string{"addr", "add", a, "dev", "docker0"})
		}
		for _, args := range append(cmds, []string{"link", "set", "docker0", "up"}) {
			if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
				t.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
			}
		}
	}
	if t.Failed() {
		t.Logf("test engine log:\n%s", e.log.String())
	}
}

// killLeftovers kills what an engine that did not stop cleanly may leave running: its
// containerd and containerd's shims, which name the engine's folder on their command line, and
// the shims' containers.
func (e *testEngine) killLeftovers(t *testing.T) {
	t.Helper()
	for _, pid := range e.pids(t) {
		t.Logf("killing a leftover of the test engine: %d %s", pid, strings.ReplaceAll(readCmdline(pid), "\x00", " "))
		for _, child := range childrenOf(t, pid) {
			_ = syscall.Kill(child, syscall.SIGKILL)
		}
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// killLeakedTasks kills the tasks that the running engine no longer counts as its containers'.
// Docker 20.10 leaks the task of a container start that races its own shutdown: its containerd
// shim and the container's process live on, outside the engine. Such a task holds a copy of the
// mounts made meanwhile, and so keeps another container's root file system busy: the engine
// cannot remove that container ("device or resource busy") while the task lives. Killing it is
// the operator's cleanup after such a stop; hearth, which removes the container once it can,
// has no hand in it. It returns the ids of the containers whose task it killed.
func (e *testEngine) killLeakedTasks(t *testing.T) []string {
	t.Helper()
	out, err := e.docker("ps", "-q", "--no-trunc")
	if err != nil {
		t.Fatalf("docker ps: %v: %s", err, out)
	}
	running := map[string]bool{}
	for _, id := range strings.Fields(out) {
		running[id] = true
	}
	var killed []string
	for _, pid := range e.pids(t) {
		args := strings.Split(readCmdline(pid), "\x00")
		if len(args) == 0 || !strings.HasSuffix(args[0], "containerd-shim-runc-v2") {
			continue
		}
		id := ""
		for i, a := range args[:len(args)-1] {
			if a == "-id" {
				id = args[i+1]
			}
		}
		if id == "" || running[id] {
			continue
		}
		for _, child := range childrenOf(t, pid) {
			_ = syscall.Kill(child, syscall.SIGKILL)
		}
		_ = syscall.Kill(pid, syscall.SIGKILL)
		killed = append(killed, id)
	}
	return killed
}

// pids lists the processes whose command line names the engine's folder: its containerd and
// the shims.
func (e *testEngine) pids(t *testing.T) []int {
	t.Helper()
	procs, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, p := range procs {
		var pid int
		if _, err := fmt.Sscanf(p, "/proc/%d/cmdline", &pid); err != nil || pid == os.Getpid() {
			continue
		}
		if strings.Contains(readCmdline(pid), e.dir+"/") {
			pids = append(pids, pid)
		}
	}
	return pids
}

func readCmdline(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return strings.TrimRight(string(b), "\x00")
}

// childrenOf lists the processes whose parent is pid.
func childrenOf(t *testing.T, pid int) []int {
	t.Helper()
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		t.Fatal(err)
	}
	var kids []int
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		// "pid (comm) state ppid ...": comm may hold spaces and parentheses.
		rest := string(b)
		if i := strings.LastIndexByte(rest, ')'); i >= 0 {
			rest = rest[i+1:]
		}
		var state string
		var child, ppid int
		if _, err := fmt.Sscanf(string(b), "%d", &child); err != nil {
			continue
		}
		if _, err := fmt.Sscanf(rest, " %s %d", &state, &ppid); err == nil && ppid == pid {
			kids = append(kids, child)
		}
	}
	return kids
}
