package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hearthfn/hearth/agent/driver/docker"
	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/api/client"
	"github.com/hearthfn/hearth/internal/syncbuf"
	"github.com/hearthfn/hearth/runtimes"
)

// The cluster section (issue 11): a server that runs no instance itself, `hearth server
// --cluster-addr ... --registry ...`, and one `hearth agent` on a Docker Engine of the bench's
// own (clusterengine.go), which pulls function images from the registry of scripts/registry.sh
// and publishes instance ports on 127.0.0.1 (the agent's --advertise-addr). With the go no-op
// scaffold it measures what placing instances on another engine costs (clusterrows.go): the
// first call on a node that must pull the image against the same call on a node that has it,
// the pull alone against a pull through the Docker API, and a warm call routed to the other
// engine against the direct call to the instance's published port.

// The kinds of the cluster rows.
const (
	// kindClusterPull is the first call on a node that must pull the image, against the same
	// call on a node that has it.
	kindClusterPull kind = "cluster_pull"
	// kindClusterPullAlone is what the pull adds to that call, pair by pair, against a pull of
	// the same image through the Docker API.
	kindClusterPullAlone kind = "cluster_pull_alone"
	// kindClusterWarm is a warm call routed to an instance on the agent's engine, against the
	// direct call to its published port.
	kindClusterWarm kind = "cluster_warm"
)

// clusterDriver is the Driver of the cluster rows: their instances run on an agent's node.
const clusterDriver = "cluster"

// agentName is the name the bench's agent joins with; the server makes its node id from it.
const agentName = "bench1"

// checkCluster fails at once when the cluster section cannot run: it makes a bridge (root),
// runs dockerd, and its agent pulls from the registry.
func checkCluster(cfg config) error {
	if os.Geteuid() != 0 {
		return errors.New("the cluster rows start a Docker Engine of their own, which needs root (leave them out with -cluster=false)")
	}
	for _, bin := range []string{"dockerd", "ip"} {
		if _, err := exec.LookPath(bin); err != nil {
			return fmt.Errorf("the cluster rows need %s (leave them out with -cluster=false): %w", bin, err)
		}
	}
	if err := call(&http.Client{Timeout: 3 * time.Second}, "http://"+cfg.registry+"/v2/"); err != nil {
		return fmt.Errorf("the registry at %s does not answer (start it with scripts/registry.sh, or leave the cluster rows out with -cluster=false): %w",
			cfg.registry, err)
	}
	return nil
}

// clusterRows runs the cluster section. Before it returns, also on failure or interrupt, it
// stops its agent and its server, removes its engine (containers, bridge, mounts, folder) and
// deletes the tags it pushed to the registry.
func clusterRows(ctx context.Context, cfg config) (rows []row, err error) {
	logf("cluster: starting a Docker Engine of the bench's own")
	eng, err := startEngine(ctx)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	// The bench's own view of the agent's engine: it lists the instances there (to see them
	// gone) and makes the floors' pulls, with the configuration the agent's driver has.
	view, err := docker.New(docker.Config{Host: eng.host, Network: "bridge", Registry: cfg.registry})
	if err != nil {
		eng.remove()
		return nil, err
	}
	var (
		srv *server
		ag  *agentProc
		b   = &bench{cfg: cfg, engine: view, driver: clusterDriver, names: "cluster-", catalog: runtimes.New()}
	)
	defer func() {
		// In this order: the agent and the server first, so that nothing starts an instance
		// any more (a server leaves its agents' instances running when it stops); then the
		// engine, with whatever container is still on it; the registry's tags last, once
		// nothing can pull them.
		if ag != nil {
			ag.stop()
		}
		if srv != nil {
			srv.stop()
		}
		view.Close()
		eng.remove()
		deleteTags(b.pushed)
		if err != nil && ag != nil && ctx.Err() == nil {
			err = fmt.Errorf("%w\nagent log:\n%s", err, ag.log.String())
		}
	}()

	clusterAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	logf("cluster: starting hearth server --cluster-addr %s --registry %s, and an agent on the bench engine", clusterAddr, cfg.registry)
	// Fixed keep-alive: the rounds call at a steady pace, and a learned keep-alive would start
	// each new version's instance ahead of its call, which is not the first call these rows
	// time (clearInstances).
	if srv, err = startServer(ctx, cfg.bin, "--cluster-addr", clusterAddr, "--registry", cfg.registry, "--keep-alive", "fixed"); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	token, err := srv.adminToken()
	if err != nil {
		return nil, err
	}
	if b.client, err = client.New(srv.url, client.WithToken(token)); err != nil {
		return nil, err
	}
	b.srv, b.work = srv, srv.dataDir
	b.hc = &http.Client{Transport: withToken(http.DefaultTransport, token)}
	join, err := b.client.CreateJoinToken(ctx, api.JoinTokenRequest{ExpiresIn: "10m"})
	if err != nil {
		return nil, fmt.Errorf("cluster: join token: %w", err)
	}
	if ag, err = startAgent(cfg, clusterAddr, eng, join.Token); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	if err := b.waitNodeReady(ctx, ag); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}

	// The pull rows first: nothing else is on the engine then, so removing their image
	// removes all its layers and each pull fetches the whole image.
	pull, err := b.clusterPullRows(ctx, eng, view, "go")
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	warm, err := b.clusterWarmRow(ctx, "go")
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	rows = append(pull, warm)
	for i := range rows {
		rows[i].Driver = clusterDriver
		rows[i].Goals = evaluate(rows[i])
	}
	return rows, nil
}

// waitNodeReady waits until the agent's node is listed ready.
func (b *bench) waitNodeReady(ctx context.Context, ag *agentProc) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		nodes, err := b.client.ListNodes(ctx)
		if err != nil {
			return err
		}
		for _, n := range nodes {
			if n.Name == agentName && n.State == api.NodeReady {
				logf("cluster: node %s ready (%s, address %s)", n.ID, n.Driver, n.Address)
				return nil
			}
		}
		if ag.exited() {
			return fmt.Errorf("the agent exited before its node was ready")
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the agent's node was not ready within 60 s (nodes: %+v)", nodes)
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
}

// agentProc is the bench's `hearth agent`, with its driver plugin, in a process group of their
// own.
type agentProc struct {
	cmd  *exec.Cmd
	dir  string // its data dir and its temp dir (the plugin's socket), removed by stop
	log  syncbuf.Buffer
	done chan struct{}
}

// startAgent runs `hearth agent` on eng, joining the server's cluster listener at clusterAddr
// with a join token. Its instances' ports are published on 127.0.0.1, where the server, on the
// same machine, reaches them.
func startAgent(cfg config, clusterAddr string, eng *engine, token string) (*agentProc, error) {
	dir, err := os.MkdirTemp("", "hearth-bagent-")
	if err != nil {
		return nil, err
	}
	a := &agentProc{dir: dir}
	for _, sub := range []string{"data", "tmp"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o700); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	a.cmd = exec.Command(cfg.bin, "agent",
		"--server", "https://"+clusterAddr,
		"--advertise-addr", "127.0.0.1",
		"--docker-host", eng.host,
		"--data-dir", filepath.Join(dir, "data"),
		// The engine's default bridge: a network of hearth's own would take its subnet from
		// Docker's default pools (internal/testengine's doc).
		"--instance-network", "bridge",
		"--registry", cfg.registry,
		"--name", agentName)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HEARTH_JOIN_TOKEN=") && !strings.HasPrefix(kv, "TMPDIR=") {
			env = append(env, kv)
		}
	}
	// The token in the environment, as the docs advise (a flag shows in ps).
	a.cmd.Env = append(env, "HEARTH_JOIN_TOKEN="+token, "TMPDIR="+filepath.Join(dir, "tmp"))
	a.cmd.Stdout, a.cmd.Stderr = &a.log, &a.log
	// Its own process group: stop ends the agent and its driver plugin together.
	a.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := a.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start %s agent: %w", cfg.bin, err)
	}
	a.done = make(chan struct{})
	go func() { _ = a.cmd.Wait(); close(a.done) }()
	return a, nil
}

func (a *agentProc) exited() bool {
	select {
	case <-a.done:
		return true
	default:
		return false
	}
}

// stop ends the agent with SIGTERM (it closes its plugin), kills what is left of its process
// group, and removes its folder.
func (a *agentProc) stop() {
	_ = a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.done:
	case <-time.After(15 * time.Second):
		logf("cluster: the agent did not exit within 15 s of SIGTERM; killing it")
	}
	_ = syscall.Kill(-a.cmd.Process.Pid, syscall.SIGKILL)
	<-a.done
	os.RemoveAll(a.dir)
}

// freeAddr returns a loopback address with a port free at the time of the call.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// printClusterFloors says what the cluster rows compare (report.go prints it when they ran).
func printClusterFloors(w io.Writer) {
	fmt.Fprintln(w, "  on cluster: a server with no node of its own and one agent on a Docker Engine of the bench's own")
	fmt.Fprintln(w, "  (--iptables=false: published ports are served by docker-proxy), on this machine;")
	fmt.Fprintln(w, "  first call, must pull: no instance (a new version, an env var changed, stopped the last one) and")
	fmt.Fprintln(w, "  the image removed from the agent's engine; floor: the same with the image there, alternating;")
	fmt.Fprintln(w, "  the pull alone: must-pull minus has-image, pair by pair; floor: the image removed, then pulled")
	fmt.Fprintln(w, "  from the same registry through the Docker API on the same engine (what `docker pull` does);")
	fmt.Fprintln(w, "  warm = direct HTTP call to the instance's published port (127.0.0.1:PORT on the agent's engine).")
}
