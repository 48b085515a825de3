package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hearthfn/hearth/internal/syncbuf"
)

// engine is a Docker Engine of the bench's own, for the cluster section's agent: the node
// "on another engine". It follows the recipe of ../shared/ENVIRONMENT.md and of the e2e tests'
// testEngine (e2e/engine_helpers_test.go):
//   - its socket, data root, exec root and pid file live in a scratch folder of its own;
//   - its containers join a bridge made for it, with a /24 of 10.199.0.0/16 that no interface
//     of the machine has. Never --bridge none: when such an engine stops, the machine engine's
//     docker0 goes with it. The bench takes its /24s from 10.199.50-99, below the e2e tests'
//     100-249, and names its bridges hearth-bench<N>, so that a bench and a test run side by
//     side never claim the same one;
//   - --iptables=false: it leaves the machine's firewall alone (published ports are served by
//     docker-proxy);
//   - no --default-address-pool, and no network made on it: hearth's agent runs with
//     --instance-network bridge (see the e2e helper for why).
//
// remove stops it and removes its containers, its bridge, its mounts and its folder.
type engine struct {
	host   string // unix://<dir>/docker.sock
	dir    string
	bridge string
	// docker0 holds the addresses of the machine engine's bridge when the engine was made:
	// should stopping this engine delete it, remove makes it again.
	docker0 []string
	log     syncbuf.Buffer
	cmd     *exec.Cmd
	done    chan error
}

// startEngine makes and starts an engine and waits until it answers. On failure nothing it
// made is left.
func startEngine(ctx context.Context) (*engine, error) {
	// A short path: the engine's containerd puts sockets under the exec root, and a unix
	// socket's path has at most 107 bytes.
	dir, err := os.MkdirTemp("", "hearth-beng-")
	if err != nil {
		return nil, err
	}
	e := &engine{host: "unix://" + filepath.Join(dir, "docker.sock"), dir: dir, docker0: docker0Addrs()}
	if err := e.makeBridge(); err != nil {
		e.remove()
		return nil, err
	}
	if err := e.start(ctx); err != nil {
		e.remove()
		return nil, err
	}
	return e, nil
}

// makeBridge claims a free /24 and a bridge named after it. The bridge's name is the claim:
// `ip link add` fails when another bench holds it, and the next one is tried.
func (e *engine) makeBridge() error {
	const first, count = 50, 50
	start := rand.IntN(count)
	for i := range count {
		n := first + (start+i)%count
		if subnetInUse(fmt.Sprintf("10.199.%d.", n)) {
			continue
		}
		name := fmt.Sprintf("hearth-bench%d", n)
		if exec.Command("ip", "link", "add", name, "type", "bridge").Run() != nil {
			continue // another bench's
		}
		e.bridge = name
		for _, args := range [][]string{
			{"addr", "add", fmt.Sprintf("10.199.%d.1/24", n), "dev", name},
			{"link", "set", name, "up"},
		} {
			if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
				return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
			}
		}
		return nil
	}
	return errors.New("no free 10.199.N.0/24 (N in 50-99) for the bench engine's bridge")
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
func subnetInUse(prefix string) bool {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return true // unknown: do not claim it
	}
	for _, a := range addrs {
		if strings.HasPrefix(a.String(), prefix) {
			return true
		}
	}
	return false
}

// start runs dockerd and waits until it answers.
func (e *engine) start(ctx context.Context) error {
	e.cmd = exec.Command("dockerd",
		"-H", e.host,
		"--data-root", filepath.Join(e.dir, "data"),
		"--exec-root", filepath.Join(e.dir, "exec"),
		"--pidfile", filepath.Join(e.dir, "docker.pid"),
		"--bridge", e.bridge,
		"--iptables=false",
	)
	e.cmd.Stdout, e.cmd.Stderr = &e.log, &e.log
	// Its own process group: an interrupt at the terminal reaches the bench, whose cleanup
	// stops the engine in order, not the engine itself.
	e.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := e.cmd.Start(); err != nil {
		return fmt.Errorf("start dockerd: %w", err)
	}
	done := make(chan error, 1)
	e.done = done
	go func() { done <- e.cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := e.docker(ctx, "version", "--format", "{{.Server.Version}}"); err == nil {
			return nil
		}
		select {
		case err := <-done:
			e.done = nil
			return fmt.Errorf("the bench engine exited at start (%v):\n%s", err, e.log.String())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the bench engine did not answer within 60 s:\n%s", e.log.String())
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
}

// docker runs the docker CLI against the engine.
func (e *engine) docker(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", append([]string{"-H", e.host}, args...)...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// remove stops the engine and removes everything it made: its containers (a clean run left
// none), the bridge, mounts under its folder, the folder. It runs on a context of its own: it
// is the cleanup of a run that may have been interrupted. Problems are logged, not returned.
func (e *engine) remove() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if e.done != nil {
		if out, err := e.docker(ctx, "ps", "-aq"); err == nil && out != "" {
			logf("cluster: removing %d container(s) left on the bench engine", len(strings.Fields(out)))
			_, _ = e.docker(ctx, append([]string{"rm", "-f"}, strings.Fields(out)...)...)
		}
		e.stop()
	}
	e.killLeftovers()
	if e.bridge != "" {
		if out, err := exec.Command("ip", "link", "del", e.bridge).CombinedOutput(); err != nil {
			logf("cluster: delete the bench engine's bridge %s: %v: %s", e.bridge, err, out)
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
		logf("cluster: remove the bench engine's folder: %v", err)
	}
	if len(e.docker0) > 0 && len(docker0Addrs()) == 0 {
		logf("cluster: the machine's docker0 is gone since the bench engine ran (%v): making it again, as ENVIRONMENT.md says", e.docker0)
		cmds := [][]string{{"link", "add", "docker0", "type", "bridge"}}
		for _, a := range e.docker0 {
			cmds = append(cmds, []string{"addr", "add", a, "dev", "docker0"})
		}
		for _, args := range append(cmds, []string{"link", "set", "docker0", "up"}) {
			if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
				logf("cluster: ip %s: %v: %s", strings.Join(args, " "), err, out)
			}
		}
	}
}

// stop sends SIGTERM and waits for dockerd to exit; past 60 s it kills it (killLeftovers then
// deals with its containerd).
func (e *engine) stop() {
	_ = e.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-e.done:
	case <-time.After(60 * time.Second):
		_ = e.cmd.Process.Kill()
		<-e.done
		logf("cluster: the bench engine did not stop within 60 s of SIGTERM; killed it:\n%s", e.log.String())
	}
	e.done = nil
}

// killLeftovers kills what an engine that did not stop cleanly may leave running: its
// containerd and containerd's shims, which name the engine's folder on their command line, and
// the shims' containers.
func (e *engine) killLeftovers() {
	for _, pid := range e.pids() {
		logf("cluster: killing a leftover of the bench engine: %d %s", pid, strings.ReplaceAll(readCmdline(pid), "\x00", " "))
		for _, child := range childrenOf(pid) {
			_ = syscall.Kill(child, syscall.SIGKILL)
		}
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// pids lists the processes whose command line names the engine's folder.
func (e *engine) pids() []int {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
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
func childrenOf(pid int) []int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
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
