//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/internal/syncbuf"
)

// Helpers of the cluster test (cluster_test.go): a server without a node of its own, agents
// each on a Docker Engine of the test's own, and a steady stream of calls.

// cluster is a server that runs instances on agents only, and its agents. Its parts live as
// long as the test that made it (owner): its subtests share them, and one of them restarts the
// server.
type cluster struct {
	owner       *testing.T
	s           *server
	addr        string // the server's API address
	clusterAddr string // the agents' listener
	dataDir     string
	agents      []*agent
	// cliDir is where the CLI runs: a folder with no func.yaml.
	cliDir string
}

// nodeTimeout is the server's --node-timeout: short, so that a lost agent is down soon.
const nodeTimeout = 3 * time.Second

// startCluster starts a server with an agents' listener and no node of its own. The builder
// uses the machine's engine and pushes to the registry scripts/registry.sh runs.
func startCluster(t *testing.T) *cluster {
	t.Helper()
	c := &cluster{owner: t, addr: freeAddr(t), clusterAddr: freeAddr(t), dataDir: t.TempDir(), cliDir: t.TempDir()}
	c.s = c.startServer(t)
	return c
}

// startServer starts (or starts again, on the same data and addresses) the cluster's server;
// it is stopped when the cluster's owner ends.
func (c *cluster) startServer(t *testing.T) *server {
	t.Helper()
	return startServer(t, serverOpts{
		owner:   c.owner,
		addr:    c.addr,
		dataDir: c.dataDir,
		node: []string{"--cluster-addr", c.clusterAddr, "--registry", registryAddr,
			"--node-timeout", nodeTimeout.String()},
		extraArgs: []string{"--acquire-timeout", "30s"},
	})
}

// joinToken makes a join token with the CLI; args are create's flags.
func (c *cluster) joinToken(t *testing.T, args ...string) string {
	t.Helper()
	out := c.s.must(t, c.cliDir, append([]string{"node", "token", "create"}, args...)...)
	tok := strings.TrimSpace(out.stdout)
	if !strings.HasPrefix(tok, "hjt_") || strings.ContainsAny(tok, " \n") {
		t.Fatalf("node token create printed %q, want the token alone", out.stdout)
	}
	return tok
}

// agent is a `hearth agent` process on a test engine of its own. Its data dir outlives the
// process: started again, it rejoins as the same node.
type agent struct {
	c       *cluster
	name    string
	eng     *testEngine
	dataDir string
	labels  []string // --label values
	cmd     *exec.Cmd
	log     *syncbuf.Buffer // this run's output (stdout and stderr)
	stderr  *syncbuf.Buffer // this run's stderr only: its last line is the reason for an exit
	done    chan struct{}
	err     error // the run's exit, once done is closed
	// logs keeps the output of the earlier runs, for a failed test's report.
	logs []string
	// pgids are the process groups of every run: cleanup kills them all, whatever a killed
	// agent's driver plugin did.
	pgids []int
}

// newAgent makes an agent named name on eng, not yet started.
func (c *cluster) newAgent(name string, eng *testEngine, labels ...string) *agent {
	a := &agent{c: c, name: name, eng: eng, dataDir: c.owner.TempDir(), labels: labels}
	c.owner.Cleanup(func() { a.cleanup(c.owner) })
	return a
}

// start runs the agent with token (none: it has a credential in its data dir already); with
// viaEnv the token goes in HEARTH_JOIN_TOKEN instead of --join-token.
func (a *agent) start(t *testing.T, token string, viaEnv bool) {
	t.Helper()
	if a.running() {
		t.Fatalf("agent %s is running already", a.name)
	}
	args := []string{"agent",
		"--server", "https://" + a.c.clusterAddr,
		"--advertise-addr", "127.0.0.1",
		"--docker-host", a.eng.host,
		"--data-dir", a.dataDir,
		"--instance-network", "bridge",
		"--registry", registryAddr,
		"--name", a.name,
	}
	for _, l := range a.labels {
		args = append(args, "--label", l)
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HEARTH_JOIN_TOKEN=") {
			env = append(env, kv)
		}
	}
	// A temp dir of the agent's own: its driver plugin's socket goes there.
	env = append(env, "TMPDIR="+a.c.owner.TempDir())
	switch {
	case token != "" && viaEnv:
		env = append(env, "HEARTH_JOIN_TOKEN="+token)
	case token != "":
		args = append(args, "--join-token", token)
	}
	if a.log != nil {
		a.logs = append(a.logs, a.log.String())
	}
	a.cmd = exec.Command(hearthBin(t), args...)
	a.cmd.Env = env
	a.log, a.stderr = &syncbuf.Buffer{}, &syncbuf.Buffer{}
	a.cmd.Stdout = a.log
	a.cmd.Stderr = teeWriter{a.log, a.stderr}
	// Its own process group: cleanup kills the agent and its driver plugin together.
	a.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := a.cmd.Start(); err != nil {
		t.Fatalf("start agent %s: %v", a.name, err)
	}
	a.pgids = append(a.pgids, a.cmd.Process.Pid)
	done := make(chan struct{})
	a.done = done
	cmd := a.cmd
	go func() { a.err = cmd.Wait(); close(done) }()
}

type teeWriter [2]*syncbuf.Buffer

func (w teeWriter) Write(p []byte) (int, error) {
	_, _ = w[0].Write(p)
	return w[1].Write(p)
}

func (a *agent) running() bool {
	if a.done == nil {
		return false
	}
	select {
	case <-a.done:
		return false
	default:
		return true
	}
}

// kill sends SIGKILL to the agent's process alone, as a crash would end it: its engine, and
// the instances there, keep running.
func (a *agent) kill(t *testing.T) {
	t.Helper()
	if !a.running() {
		t.Fatalf("agent %s is not running", a.name)
	}
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill agent %s: %v", a.name, err)
	}
	<-a.done
}

// restart starts the agent again on its data dir, with no token: it must rejoin as the node
// it was.
func (a *agent) restart(t *testing.T) {
	t.Helper()
	a.start(t, "", false)
}

// exited waits up to within for the agent to exit and returns its exit code and the last line
// of its stderr; it fails the test when the agent runs on.
func (a *agent) exited(t *testing.T, within time.Duration) (int, string) {
	t.Helper()
	if a.running() {
		select {
		case <-a.done:
		case <-time.After(within):
			t.Fatalf("agent %s still runs %s later, want it to exit:\n%s", a.name, within, a.log.String())
		}
	}
	code := 0
	if a.err != nil {
		code = -1
		if ee, ok := a.err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
	}
	lines := strings.Split(strings.TrimSpace(a.stderr.String()), "\n")
	return code, lines[len(lines)-1]
}

// cleanup kills what is left of the agent's runs: the agents and their plugins (by their
// process groups). The engine is removed by its own cleanup, which runs after this one.
func (a *agent) cleanup(t *testing.T) {
	for _, pgid := range a.pgids {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	}
	if a.cmd != nil {
		if a.done != nil {
			select {
			case <-a.done:
			case <-time.After(10 * time.Second):
				t.Errorf("agent %s did not exit within 10 s of SIGKILL", a.name)
			}
		}
	}
	if t.Failed() {
		all := append(append([]string(nil), a.logs...), "")
		if a.log != nil {
			all[len(all)-1] = a.log.String()
		}
		t.Logf("agent %s log (runs separated by ---):\n%s", a.name, strings.Join(all, "\n---\n"))
	}
}

// nodes lists the cluster's nodes with `hearth nodes -o json`.
func (c *cluster) nodes(t *testing.T) []api.Node {
	t.Helper()
	out := c.s.must(t, c.cliDir, "nodes", "-o", "json")
	var list api.NodeList
	if err := json.Unmarshal([]byte(out.stdout), &list); err != nil {
		t.Fatalf("nodes -o json: %v\n%s", err, out.stdout)
	}
	return list.Items
}

// nodeOf returns the node of agent a, as `hearth nodes` lists it, and whether it is listed.
func (c *cluster) nodeOf(t *testing.T, a *agent) (api.Node, bool) {
	t.Helper()
	for _, n := range c.nodes(t) {
		if n.Name == a.name {
			return n, true
		}
	}
	return api.Node{}, false
}

// waitNodeState waits until agent a's node is listed in state.
func (c *cluster) waitNodeState(t *testing.T, a *agent, state string) api.Node {
	t.Helper()
	var n api.Node
	eventually(t, fmt.Sprintf("node %s to be %s", a.name, state), func() bool {
		var ok bool
		n, ok = c.nodeOf(t, a)
		return ok && n.State == state
	})
	return n
}

// agentOf returns the agent whose node id is id.
func (c *cluster) agentOf(t *testing.T, id string) *agent {
	t.Helper()
	for _, n := range c.nodes(t) {
		if n.ID == id {
			for _, a := range c.agents {
				if a.name == n.Name {
					return a
				}
			}
		}
	}
	t.Fatalf("no agent of node %s", id)
	return nil
}

// instancesOf returns the function's pool instances, as GET /v1/functions/NAME reports them.
func (c *cluster) instancesOf(t *testing.T, function string) []api.InstanceStatus {
	t.Helper()
	return c.s.pool(t, function).Instances
}

// byNode groups instance ids by node.
func byNode(ins []api.InstanceStatus) map[string][]string {
	m := map[string][]string{}
	for _, in := range ins {
		m[in.Node] = append(m[in.Node], in.ID)
	}
	return m
}

// idSet is the sorted ids of instances.
func idSet(ins []api.InstanceStatus) []string {
	ids := make([]string, 0, len(ins))
	for _, in := range ins {
		ids = append(ids, in.ID)
	}
	sort.Strings(ids)
	return ids
}

// strays returns the containers of node on the agent's engine (all states, as "instance-id
// state") that the pool does not list as instances on that node.
func (c *cluster) strays(t *testing.T, a *agent, node, function string) []string {
	t.Helper()
	want := map[string]bool{}
	for _, in := range c.instancesOf(t, function) {
		if in.Node == node {
			want[in.ID] = true
		}
	}
	var out []string
	for _, ct := range containersOn(t, a.eng.host, node, "") {
		id, _, _ := strings.Cut(ct, " ")
		if !want[id] {
			out = append(out, ct)
		}
	}
	return out
}

// load is a steady stream of calls to one function: sync callers in a loop, and optionally an
// async caller. It records every answer; the test's goroutine reads them.
type load struct {
	stop chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	sync []answer
	// async holds the answers to the async calls (202 with a call id when accepted).
	async []answer
}

// callLoop starts workers sync callers of function (each call with query, then a pause of
// pause) and, with asyncEvery > 0, an async caller sending one call every asyncEvery. It ends
// at the owner's cleanup, before the server stops, or at end().
func (c *cluster) callLoop(workers int, function, query string, pause, asyncEvery time.Duration) *load {
	l := &load{stop: make(chan struct{})}
	url, token := c.s.URL, c.s.adminToken(c.owner)
	loop := func(header http.Header, every time.Duration, record func(answer)) {
		defer l.wg.Done()
		for {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			a := tryInvoke(ctx, url, token, function, query, header)
			cancel()
			record(a)
			select {
			case <-time.After(every):
			case <-l.stop:
				return
			}
		}
	}
	for range workers {
		l.wg.Add(1)
		go loop(nil, pause, func(a answer) { l.mu.Lock(); l.sync = append(l.sync, a); l.mu.Unlock() })
	}
	if asyncEvery > 0 {
		l.wg.Add(1)
		go loop(http.Header{api.HeaderAsync: {"true"}}, asyncEvery, func(a answer) { l.mu.Lock(); l.async = append(l.async, a); l.mu.Unlock() })
	}
	c.owner.Cleanup(l.end)
	return l
}

// end stops the callers and waits for their last calls.
func (l *load) end() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.wg.Wait()
}

// syncSince returns the sync answers to calls that began at or after since (and before until,
// when until is not zero).
func (l *load) syncSince(since, until time.Time) []answer {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []answer
	for _, a := range l.sync {
		if !a.began.Before(since) && (until.IsZero() || a.began.Before(until)) {
			out = append(out, a)
		}
	}
	return out
}

// asyncSince is syncSince for the async calls.
func (l *load) asyncSince(since time.Time) []answer {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []answer
	for _, a := range l.async {
		if !a.began.Before(since) {
			out = append(out, a)
		}
	}
	return out
}

// waitCalls waits until n sync calls that began at or after since have been answered, and
// returns them.
func (l *load) waitCalls(t *testing.T, what string, since time.Time, n int) []answer {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		if got := l.syncSince(since, time.Time{}); len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("fewer than %d answers to calls within a minute: %s", n, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// counts tallies answers by outcome: "200", "503 unavailable", "client error", ...
func counts(as []answer) map[string]int {
	m := map[string]int{}
	for _, a := range as {
		switch {
		case a.err != nil || a.status == 0:
			m["client error"]++
		case a.code != "":
			m[fmt.Sprintf("%d %s", a.status, a.code)]++
		default:
			m[fmt.Sprint(a.status)]++
		}
	}
	return m
}

// failures returns the answers that are not 200, one line each, at most max.
func failures(as []answer, max int) []string {
	var out []string
	for _, a := range as {
		if a.err == nil && a.status == http.StatusOK {
			continue
		}
		if len(out) == max {
			out = append(out, "...")
			break
		}
		out = append(out, fmt.Sprintf("%s +%s: %d %s %q (%v)", a.began.Format("15:04:05.000"), a.took.Round(time.Millisecond), a.status, a.code, a.message, a.err))
	}
	return out
}

// failureSpan says when, after since, the first and the last of the failed answers began.
func failureSpan(as []answer, since time.Time) string {
	var first, last time.Time
	for _, a := range as {
		if a.err == nil && a.status == http.StatusOK {
			continue
		}
		if first.IsZero() || a.began.Before(first) {
			first = a.began
		}
		if a.began.After(last) {
			last = a.began
		}
	}
	if first.IsZero() {
		return "none"
	}
	return fmt.Sprintf("from +%s to +%s", first.Sub(since).Round(time.Millisecond), last.Sub(since).Round(time.Millisecond))
}

// waitAsyncDone polls each call record until it is finished, for up to within in all, and
// returns the records.
func (c *cluster) waitAsyncDone(t *testing.T, ids []string, within time.Duration) map[string]api.Call {
	t.Helper()
	deadline := time.Now().Add(within)
	done := map[string]api.Call{}
	for len(done) < len(ids) {
		for _, id := range ids {
			if _, ok := done[id]; ok {
				continue
			}
			var call api.Call
			if st := c.s.getJSON(t, "/v1/calls/"+id, &call); st == http.StatusOK && call.Status.Finished() {
				done[id] = call
			} else if st != http.StatusOK {
				t.Fatalf("GET /v1/calls/%s: %d: an accepted async call has no record", id, st)
			}
		}
		if len(done) == len(ids) {
			break
		}
		if time.Now().After(deadline) {
			var open []string
			for _, id := range ids {
				if _, ok := done[id]; !ok {
					open = append(open, id)
				}
			}
			t.Fatalf("%d of %d accepted async calls not finished within %s: %v", len(open), len(ids), within, open)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return done
}

// asyncAllSucceed waits for every async call l made since since to finish and fails the test
// unless each was accepted and succeeded: no accepted call may be lost. It returns how many
// there were and how many needed more than one attempt.
func (c *cluster) asyncAllSucceed(t *testing.T, l *load, since time.Time) (accepted, retried int) {
	t.Helper()
	var ids []string
	for _, a := range l.asyncSince(since) {
		if a.err != nil || a.status != http.StatusAccepted || a.callID == "" {
			t.Fatalf("an async call was not accepted: %d %s %q (%v)", a.status, a.code, a.message, a.err)
		}
		ids = append(ids, a.callID)
	}
	for id, call := range c.waitAsyncDone(t, ids, 90*time.Second) {
		if call.Status != api.CallSucceeded {
			t.Fatalf("async call %s: %s (%s) after %d attempts, want succeeded", id, call.Status, call.Error, call.Attempts)
		}
		if call.Attempts > 1 {
			retried++
		}
	}
	return len(ids), retried
}

// notOKBadGatewayOrUnavailable returns the answers that are neither 200, 502 nor 503: what a
// lost node may cost a call is a 502 (its instance died under it) or a 503 (no instance now).
func notOKBadGatewayOrUnavailable(as []answer) []answer {
	var bad []answer
	for _, a := range as {
		if a.err != nil || (a.status != http.StatusOK && a.status != http.StatusBadGateway && a.status != http.StatusServiceUnavailable) {
			bad = append(bad, a)
		}
	}
	return bad
}

// busiestNode returns the node with the most of ins, and how many it has (the first by id
// among equals, so that a test's choice does not depend on map order).
func busiestNode(ins []api.InstanceStatus) (node string, most int) {
	for n, ids := range byNode(ins) {
		if len(ids) > most || (len(ids) == most && n < node) {
			node, most = n, len(ids)
		}
	}
	return node, most
}
