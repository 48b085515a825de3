package testengine

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

const (
	// startTimeout bounds the wait for a started dockerd to answer.
	startTimeout = 60 * time.Second
	// stopTimeout bounds the wait for dockerd to exit after SIGTERM: it first stops its
	// containers (it runs without live-restore), each with Docker's 10 s grace.
	stopTimeout = 90 * time.Second
	// removeTimeout bounds Remove as a whole.
	removeTimeout = 2 * time.Minute
)

// Options configure an engine.
type Options struct {
	// SubnetMin and SubnetMax bound N of the bridge's 10.199.N.0/24 (both included).
	SubnetMin, SubnetMax int
	// BridgePrefix names the bridge: BridgePrefix followed by N, e.g. hearth-eng123.
	BridgePrefix string
	// Logf, when set, receives notes on what Remove cleans up beyond a clean run: containers
	// left on the engine, leftover processes.
	Logf func(format string, args ...any)
}

// Engine is a Docker Engine of one's own. Its methods are for one goroutine at a time.
type Engine struct {
	// Host is the engine's address for the docker CLI and API: unix://<folder>/docker.sock.
	Host string

	dir    string
	bridge string
	logf   func(format string, args ...any)
	// docker0 holds the addresses of the machine engine's bridge when the engine was made:
	// should it be gone at Remove, Remove makes it again.
	docker0 []string
	out     syncbuf.Buffer
	cmd     *exec.Cmd
	done    chan error // receives dockerd's exit; nil when it is not running
}

// Start claims a bridge, makes a folder and starts dockerd on them, and waits until it
// answers. On failure nothing it made is left.
func Start(ctx context.Context, o Options) (*Engine, error) {
	if o.BridgePrefix == "" || o.SubnetMin < 1 || o.SubnetMax > 254 || o.SubnetMin > o.SubnetMax {
		return nil, fmt.Errorf("testengine: bad options: bridge prefix %q, subnets 10.199.%d-%d.0/24", o.BridgePrefix, o.SubnetMin, o.SubnetMax)
	}
	e := &Engine{logf: o.Logf, docker0: docker0Addrs()}
	if e.logf == nil {
		e.logf = func(string, ...any) {}
	}
	if err := e.makeBridge(o); err != nil {
		return nil, err
	}
	// A short path: the engine's containerd puts sockets under the exec root, and a unix
	// socket's path has at most 107 bytes. Named after the bridge, so that a leftover folder
	// says which bridge went with it.
	dir, err := os.MkdirTemp("", e.bridge+"-")
	if err != nil {
		return nil, errors.Join(err, e.Remove())
	}
	e.dir, e.Host = dir, "unix://"+filepath.Join(dir, "docker.sock")
	if err := e.Start(ctx); err != nil {
		return nil, errors.Join(err, e.Remove())
	}
	return e, nil
}

// makeBridge claims a free /24 of o's range and a bridge named after it, trying them from a
// random one on: `ip link add` fails when another engine holds the name, and the next is tried.
func (e *Engine) makeBridge(o Options) error {
	count := o.SubnetMax - o.SubnetMin + 1
	start := rand.IntN(count)
	for i := range count {
		n := o.SubnetMin + (start+i)%count
		inUse, err := subnetInUse(fmt.Sprintf("10.199.%d.", n))
		if err != nil {
			return err
		}
		if inUse {
			continue
		}
		name := fmt.Sprintf("%s%d", o.BridgePrefix, n)
		if exec.Command("ip", "link", "add", name, "type", "bridge").Run() != nil {
			continue // another engine's
		}
		e.bridge = name
		for _, args := range [][]string{
			{"addr", "add", fmt.Sprintf("10.199.%d.1/24", n), "dev", name},
			{"link", "set", name, "up"},
		} {
			if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
				err = fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
				return errors.Join(err, e.Remove())
			}
		}
		return nil
	}
	return fmt.Errorf("testengine: no free 10.199.N.0/24 (N in %d-%d) for the engine's bridge", o.SubnetMin, o.SubnetMax)
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
func subnetInUse(prefix string) (bool, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false, err
	}
	for _, a := range addrs {
		if strings.HasPrefix(a.String(), prefix) {
			return true, nil
		}
	}
	return false, nil
}

// Start runs dockerd on the engine's folder and bridge and waits until it answers: Start
// starts the engine made by the package's Start, once Stop has stopped it, on the same data
// root. ctx ends the wait; dockerd is then left running, for Stop or Remove.
func (e *Engine) Start(ctx context.Context) error {
	if e.done != nil {
		return errors.New("testengine: the engine is running")
	}
	e.cmd = exec.Command("dockerd",
		"-H", e.Host,
		"--data-root", filepath.Join(e.dir, "data"),
		"--exec-root", filepath.Join(e.dir, "exec"),
		"--pidfile", filepath.Join(e.dir, "docker.pid"),
		"--bridge", e.bridge,
		"--iptables=false",
	)
	e.cmd.Stdout, e.cmd.Stderr = &e.out, &e.out
	// Its own process group: a signal meant for the caller's group (an interrupt at the
	// terminal) does not reach it, and the caller's cleanup stops it in order.
	e.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := e.cmd.Start(); err != nil {
		return fmt.Errorf("start dockerd: %w", err)
	}
	done := make(chan error, 1)
	e.done = done
	go func() { done <- e.cmd.Wait() }()
	deadline := time.Now().Add(startTimeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, err := e.Docker(ctx, "version", "--format", "{{.Server.Version}}"); err == nil {
			return nil
		}
		select {
		case err := <-done:
			e.done = nil
			return fmt.Errorf("the engine exited at start (%v):\n%s", err, e.out.String())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the engine did not answer within %v:\n%s", startTimeout, e.out.String())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// Stop sends dockerd SIGTERM and waits for it to exit, as an operator's `systemctl stop
// docker` would: it stops the engine's containers first (it runs without live-restore). Past
// 90 s, or once ctx ends, it kills dockerd and returns an error with its output (Remove then
// deals with its containerd). Stopping a stopped engine does nothing.
func (e *Engine) Stop(ctx context.Context) error {
	if e.done == nil {
		return nil
	}
	defer func() { e.done = nil }()
	_ = e.cmd.Process.Signal(syscall.SIGTERM)
	timer := time.NewTimer(stopTimeout)
	defer timer.Stop()
	select {
	case <-e.done:
		return nil
	case <-timer.C:
	case <-ctx.Done():
	}
	_ = e.cmd.Process.Kill()
	<-e.done
	return fmt.Errorf("the engine did not stop within %v of SIGTERM; killed it:\n%s", stopTimeout, e.out.String())
}

// Docker runs the docker CLI against the engine, for at most a minute, and returns its
// output, trimmed.
func (e *Engine) Docker(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", append([]string{"-H", e.Host}, args...)...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// Output returns what dockerd has written so far, over every Start.
func (e *Engine) Output() string {
	return e.out.String()
}

// Remove stops the engine and removes everything it made: its containers (a clean run left
// none), the bridge, mounts under its folder, the folder, and the processes an engine that did
// not stop cleanly leaves. It takes no ctx: it is the cleanup of a run that may have been
// interrupted, and runs on a context of its own. It goes on past a problem and returns them
// all; should the machine's docker0 be gone since Start, it makes it again and returns that too.
func (e *Engine) Remove() error {
	ctx, cancel := context.WithTimeout(context.Background(), removeTimeout)
	defer cancel()
	var errs []error
	if e.done != nil {
		if out, err := e.Docker(ctx, "ps", "-aq"); err == nil && out != "" {
			e.logf("removing %d container(s) left on the engine", len(strings.Fields(out)))
			_, _ = e.Docker(ctx, append([]string{"rm", "-f"}, strings.Fields(out)...)...)
		}
		errs = append(errs, e.Stop(ctx))
	}
	if e.dir != "" {
		e.killLeftovers()
	}
	if e.bridge != "" {
		if out, err := exec.Command("ip", "link", "del", e.bridge).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("delete the engine's bridge %s: %v: %s", e.bridge, err, out))
		}
	}
	if e.dir != "" {
		unmountUnder(e.dir)
		if err := os.RemoveAll(e.dir); err != nil {
			errs = append(errs, fmt.Errorf("remove the engine's folder: %w", err))
		}
	}
	if len(e.docker0) > 0 && len(docker0Addrs()) == 0 {
		errs = append(errs, fmt.Errorf("the machine's docker0 is gone since the engine ran (%v): made again, as ENVIRONMENT.md says", e.docker0))
		errs = append(errs, makeDocker0(e.docker0))
	}
	return errors.Join(errs...)
}

// unmountUnder detaches the mounts under dir, innermost first: an engine that stopped cleanly
// unmounted everything; one that was killed may not have.
func unmountUnder(dir string) {
	b, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return
	}
	var mounts []string
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 1 && strings.HasPrefix(f[1], dir+"/") {
			mounts = append(mounts, f[1])
		}
	}
	for i := len(mounts) - 1; i >= 0; i-- {
		_ = syscall.Unmount(mounts[i], syscall.MNT_DETACH)
	}
}

// makeDocker0 makes the machine engine's bridge again with addrs.
func makeDocker0(addrs []string) error {
	cmds := [][]string{{"link", "add", "docker0", "type", "bridge"}}
	for _, a := range addrs {
		cmds = append(cmds, []string{"addr", "add", a, "dev", "docker0"})
	}
	var errs []error
	for _, args := range append(cmds, []string{"link", "set", "docker0", "up"}) {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out))
		}
	}
	return errors.Join(errs...)
}
