//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
)

// TestCluster: a server with no node of its own and three agents, each on a Docker Engine of
// the test's own, pulling from the registry scripts/registry.sh runs. The subtests run in
// order on the one cluster (an engine takes seconds to start), under a steady stream of calls
// from the third on: join tokens that are wrong or expired are refused; three agents join;
// the function's instances spread over the nodes; an agent killed with SIGKILL costs only 502s
// and 503s and no async call, its node goes down and the pool starts instances elsewhere, and
// the agent restarted rejoins and stops what the pool no longer wants; a drained node loses its
// instances with no call failing; a host lost whole (agent and engine) costs only 502s and
// 503s and no async call; a server restarted keeps every instance; a removed node's agent is
// refused.
func TestCluster(t *testing.T) {
	began := time.Now()
	engines := make([]*testEngine, 3)
	for i := range engines {
		engines[i] = startTestEngine(t)
	}
	t.Logf("three test engines up in %s", time.Since(began).Round(time.Millisecond))
	c := startCluster(t)

	const fn = "spread"
	var l *load
	// The calls stop before the cleanups stop the server and the agents.
	defer func() {
		if l != nil {
			l.end()
		}
	}()

	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"bad join tokens refused", func(t *testing.T) {
			good := c.joinToken(t)
			// hjt_<id>_<secret>_<CA pin>: the same token with another secret.
			parts := strings.Split(good, "_")
			if len(parts) != 4 {
				t.Fatalf("join token %q is not hjt_<id>_<secret>_<pin>", good)
			}
			parts[2] = strings.Repeat("0", len(parts[2]))
			intruder := c.newAgent("intruder", engines[0])
			intruder.start(t, strings.Join(parts, "_"), false)
			if code, line := intruder.exited(t, 30*time.Second); code == 0 || !strings.Contains(strings.ToLower(line), "invalid") {
				t.Fatalf("an agent with a wrong token: exit %d, last line %q; want a failure that says the token is invalid", code, line)
			} else {
				t.Logf("wrong token: %s", line)
			}

			out := c.s.must(t, c.cliDir, "node", "token", "create", "--expires", "1s", "-o", "json")
			var short api.NewJoinToken
			if err := json.Unmarshal([]byte(out.stdout), &short); err != nil || short.Token == "" {
				t.Fatalf("node token create -o json: %v\n%s", err, out.stdout)
			}
			time.Sleep(time.Until(short.ExpiresAt) + 200*time.Millisecond) // for the token to expire
			late := c.newAgent("latecomer", engines[0])
			late.start(t, short.Token, true)
			if code, line := late.exited(t, 30*time.Second); code == 0 || !strings.Contains(strings.ToLower(line), "expired") {
				t.Fatalf("an agent with an expired token: exit %d, last line %q; want a failure that says the token expired", code, line)
			} else {
				t.Logf("expired token: %s", line)
			}
			for _, a := range []*agent{intruder, late} {
				if strings.Contains(a.log.String(), "panic") || strings.Contains(a.log.String(), "goroutine ") {
					t.Fatalf("agent %s panicked:\n%s", a.name, a.log.String())
				}
			}
			if ns := c.nodes(t); len(ns) != 0 {
				t.Fatalf("nodes after two refused joins: %+v, want none", ns)
			}
			if left, err := engines[0].docker("ps", "-aq"); err != nil || left != "" {
				t.Fatalf("containers on the engine of the refused agents (%v): %s", err, left)
			}
		}},

		{"three agents join", func(t *testing.T) {
			token := c.joinToken(t, "--label", "tier=test")
			zones := []string{"a", "b", "a"}
			for i, eng := range engines {
				a := c.newAgent(fmt.Sprintf("agent%d", i+1), eng, "zone="+zones[i])
				a.start(t, token, i == 0) // the first through HEARTH_JOIN_TOKEN
				c.agents = append(c.agents, a)
			}
			var ns []api.Node
			eventually(t, "three ready nodes", func() bool {
				for _, a := range c.agents {
					if !a.running() {
						code, line := a.exited(t, 0)
						t.Fatalf("agent %s exited (%d): %s", a.name, code, line)
					}
				}
				ns = c.nodes(t)
				ready := 0
				for _, n := range ns {
					if n.State == api.NodeReady {
						ready++
					}
				}
				return len(ns) == 3 && ready == 3
			})
			text := c.s.must(t, c.cliDir, "nodes").stdout
			for i, a := range c.agents {
				n, ok := c.nodeOf(t, a)
				if !ok {
					t.Fatalf("node of %s not listed: %+v", a.name, ns)
				}
				if n.Local || !strings.HasPrefix(n.ID, a.name+"-") || n.Labels["zone"] != zones[i] || n.Labels["tier"] != "test" ||
					!strings.Contains(n.Address, "127.0.0.1") {
					t.Fatalf("node of %s: %+v; want id %s-..., labels zone=%s and the token's tier=test, address 127.0.0.1",
						a.name, n, a.name, zones[i])
				}
				if !strings.Contains(text, n.ID) {
					t.Fatalf("hearth nodes does not list %s:\n%s", n.ID, text)
				}
			}
			t.Logf("hearth nodes:\n%s", text)
		}},

		{"instances spread over the nodes", func(t *testing.T) {
			// The test image's echo server (FROM scratch: a small image every engine pulls
			// quickly; ?sleep= makes a call last).
			dir := echoFunction(t, c.s, fn, map[string]string{"concurrency": "1", "max_instances": "6", "idle_timeout": "10m"})
			c.s.must(t, dir, "deploy")
			if img := functionImage(t, c.s, dir, fn); !strings.HasPrefix(img, registryAddr+"/") {
				t.Fatalf("image %q is not in the registry", img)
			}
			// Six callers for at most six instances: the pool grows to its maximum, so that
			// instances lost with a node must be made again elsewhere.
			started := time.Now()
			l = c.callLoop(6, fn, "?sleep=100ms", 10*time.Millisecond, 250*time.Millisecond)
			known := map[string]bool{}
			for _, n := range c.nodes(t) {
				known[n.ID] = true
			}
			var ins []api.InstanceStatus
			eventually(t, "instances on at least two nodes", func() bool {
				ins = c.instancesOf(t, fn)
				return len(byNode(ins)) >= 2
			})
			for _, in := range ins {
				if !known[in.Node] || in.Placement == "" {
					t.Fatalf("instance %s: node %q, placement %q; want a node of the cluster and the placer's reason", in.ID, in.Node, in.Placement)
				}
				t.Logf("instance %s on %s: %s", in.ID, in.Node, in.Placement)
			}
			// hearth inspect shows them: each instance's line names its node and the reason.
			text := c.s.must(t, c.cliDir, "inspect", fn).stdout
			for _, in := range ins {
				if !slices.ContainsFunc(strings.Split(text, "\n"), func(line string) bool {
					return strings.Contains(line, in.ID) && strings.Contains(line, in.Node) && strings.Contains(line, in.Placement)
				}) {
					t.Fatalf("hearth inspect %s has no line with instance %s, node %s and placement %q:\n%s", fn, in.ID, in.Node, in.Placement, text)
				}
			}
			got := l.waitCalls(t, "the first calls", started, 30)
			if bad := failures(got, 10); len(bad) > 0 {
				t.Fatalf("calls to a healthy cluster failed (%v):\n%s", counts(got), strings.Join(bad, "\n"))
			}
		}},

		{"agent killed under load", func(t *testing.T) {
			// The victim: the node with the most instances, once the pool is full.
			var before []api.InstanceStatus
			eventually(t, "the pool to reach six instances", func() bool {
				before = c.instancesOf(t, fn)
				return len(before) == 6
			})
			node, _ := busiestNode(before)
			victim := c.agentOf(t, node)
			t.Logf("instances by node before the kill: %v; killing %s (%s)", byNode(before), victim.name, node)
			killed := time.Now()
			victim.kill(t)

			c.waitNodeState(t, victim, api.NodeDown)
			t.Logf("%s is down %s after the kill (node timeout %s)", node, time.Since(killed).Round(time.Millisecond), nodeTimeout)
			old := map[string]bool{}
			for _, in := range before {
				old[in.ID] = true
			}
			var after []api.InstanceStatus
			eventually(t, "the lost node's instances to leave the pool and new ones to start elsewhere", func() bool {
				after = c.instancesOf(t, fn)
				fresh := 0
				for _, in := range after {
					if in.Node == node {
						return false
					}
					if !old[in.ID] {
						fresh++
					}
				}
				return fresh > 0
			})
			t.Logf("instances by node after: %v", byNode(after))
			// Its engine still runs the instances the pool let go: the agent alone died.
			if strays := c.strays(t, victim, node, fn); len(strays) == 0 {
				t.Fatalf("no container of %s left on its engine after the agent's death: the test's premise (the engine outlives the agent) does not hold", node)
			}
			settled := time.Now()
			got := l.waitCalls(t, "calls after the new instances", settled, 20)
			if bad := failures(l.syncSince(settled, time.Time{}), 10); len(bad) > 0 {
				t.Fatalf("calls after the pool recovered failed (%v):\n%s", counts(got), strings.Join(bad, "\n"))
			}
			during := l.syncSince(killed, settled)
			bad := notOKBadGatewayOrUnavailable(during)
			t.Logf("FAULT COUNT agent kill -9: %d sync calls from the kill until new instances served: %v", len(during), counts(during))
			if len(bad) > 0 {
				t.Fatalf("calls while the node was lost got other failures than 502 or 503:\n%s", strings.Join(failures(bad, 10), "\n"))
			}

			// The agent comes back on its data dir, with no token: the same node, ready, and
			// its engine soon holds only what the pool lists there.
			victim.restart(t)
			if n := c.waitNodeState(t, victim, api.NodeReady); n.ID != node {
				t.Fatalf("the restarted agent joined as %s, want %s again", n.ID, node)
			}
			rejoined := time.Now()
			var strays []string
			for {
				if strays = c.strays(t, victim, node, fn); len(strays) == 0 {
					break
				}
				if time.Since(rejoined) > 15*time.Second {
					t.Fatalf("15 s after %s rejoined, its engine still has containers the pool does not list there: %v", node, strays)
				}
				time.Sleep(200 * time.Millisecond)
			}
			t.Logf("no stray container on %s %s after it rejoined", node, time.Since(rejoined).Round(time.Millisecond))
			if !victim.running() {
				t.Fatalf("the restarted agent exited: %s", victim.log.String())
			}

			// No async call lost: every one accepted since the kill finishes, and succeeds.
			accepted, retried := c.asyncAllSucceed(t, l, killed.Add(-5*time.Second))
			t.Logf("FAULT COUNT agent kill -9: %d async calls accepted around the kill, all succeeded, %d after a retry", accepted, retried)
		}},

		{"drain under load", func(t *testing.T) {
			node, most := busiestNode(c.instancesOf(t, fn))
			if most == 0 {
				t.Fatal("no instance to drain")
			}
			a := c.agentOf(t, node)
			since := time.Now()
			c.s.must(t, c.cliDir, "nodes", "drain", node)
			c.waitNodeState(t, a, api.NodeDraining)
			eventually(t, "no instance of the function left on the drained node", func() bool {
				for _, in := range c.instancesOf(t, fn) {
					if in.Node == node {
						return false
					}
				}
				for _, ct := range containersOn(t, a.eng.host, node, fn) {
					if strings.HasSuffix(ct, " running") {
						return false
					}
				}
				return true
			})
			t.Logf("%s drained of %d instances in %s", node, most, time.Since(since).Round(time.Millisecond))
			l.waitCalls(t, "calls after the drain", time.Now(), 20)
			got := l.syncSince(since, time.Time{})
			t.Logf("calls during the drain: %v", counts(got))
			if bad := failures(got, 10); len(bad) > 0 {
				t.Fatalf("calls failed during the drain:\n%s", strings.Join(bad, "\n"))
			}
			if n, _ := c.nodeOf(t, a); n.State != api.NodeDraining {
				t.Fatalf("the drained node is %s, want still draining", n.State)
			}
			c.s.must(t, c.cliDir, "nodes", "undrain", node)
			c.waitNodeState(t, a, api.NodeReady)
		}},

		{"host lost under load", func(t *testing.T) {
			// The whole host goes: its agent is killed and its engine stops, taking its
			// containers with it, so calls on their way to them fail; those are 502s and 503s,
			// and the async ones among them are tried again elsewhere.
			node, most := busiestNode(c.instancesOf(t, fn))
			if most == 0 {
				t.Fatal("no node with instances to lose")
			}
			victim := c.agentOf(t, node)
			lost := time.Now()
			victim.kill(t)
			victim.eng.stop(t)
			c.waitNodeState(t, victim, api.NodeDown)
			eventually(t, "new instances on the other nodes", func() bool {
				ins := c.instancesOf(t, fn)
				for _, in := range ins {
					if in.Node == node {
						return false
					}
				}
				return len(ins) > 0
			})
			settled := time.Now()
			l.waitCalls(t, "calls after the loss", settled, 20)
			if bad := failures(l.syncSince(settled, time.Time{}), 10); len(bad) > 0 {
				t.Fatalf("calls after the pool recovered from the host's loss failed:\n%s", strings.Join(bad, "\n"))
			}
			// From a second before the loss: calls in flight when the engine stopped count.
			during := l.syncSince(lost.Add(-time.Second), settled)
			bad := notOKBadGatewayOrUnavailable(during)
			t.Logf("FAULT COUNT host lost (agent kill -9 and its engine stopped): %d sync calls from 1 s before the loss until the pool recovered: %v",
				len(during), counts(during))
			if len(bad) > 0 {
				t.Fatalf("calls while the host was lost got other failures than 502 or 503:\n%s", strings.Join(failures(bad, 10), "\n"))
			}
			accepted, retried := c.asyncAllSucceed(t, l, lost.Add(-5*time.Second))
			t.Logf("FAULT COUNT host lost: %d async calls accepted around the loss, all succeeded, %d after a retry", accepted, retried)

			// The host comes back: engine, then agent; what its engine still holds of the old
			// instances (stopped containers) is removed.
			victim.eng.start(t)
			victim.restart(t)
			c.waitNodeState(t, victim, api.NodeReady)
			eventually(t, "no container the pool does not want on the host that came back", func() bool {
				return len(c.strays(t, victim, node, fn)) == 0
			})
		}},

		{"server restarted under load", func(t *testing.T) {
			// A settled pool: the same instances in two reads a second apart.
			var before []api.InstanceStatus
			eventually(t, "a settled pool", func() bool {
				first := idSet(c.instancesOf(t, fn))
				time.Sleep(time.Second)
				before = c.instancesOf(t, fn)
				return slices.Equal(first, idSet(before))
			})
			agentOfNode := map[string]*agent{}
			for _, in := range before {
				agentOfNode[in.Node] = c.agentOf(t, in.Node)
			}
			stopped := time.Now()
			c.s.stop(t)
			// Its instances live on.
			for _, in := range before {
				if cts := containersOn(t, agentOfNode[in.Node].eng.host, in.Node, fn); !slices.Contains(cts, in.ID+" running") {
					t.Fatalf("instance %s does not run on %s once the server stopped: %v", in.ID, in.Node, cts)
				}
			}
			c.s = c.startServer(t)
			up := time.Now()
			t.Logf("the server was away %s", up.Sub(stopped).Round(time.Millisecond))
			eventually(t, "three ready nodes again", func() bool {
				ready := 0
				for _, n := range c.nodes(t) {
					if n.State == api.NodeReady {
						ready++
					}
				}
				return ready == 3
			})
			// Every node is back: the pool has listed what each still runs, and adopted it.
			want := idSet(before)
			var after []api.InstanceStatus
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
				after = c.instancesOf(t, fn)
				if ids := idSet(after); slices.Equal(want, ids) || time.Now().After(deadline) {
					break
				}
			}
			adopted := time.Now()
			t.Logf("FAULT COUNT server restart: calls while the server was away: %v; from its start until its nodes were back (%s): %v, failures %s",
				counts(l.syncSince(stopped, up)), adopted.Sub(up).Round(time.Millisecond), counts(l.syncSince(up, adopted)),
				failureSpan(l.syncSince(up, adopted), up))
			if ids := idSet(after); !slices.Equal(want, ids) {
				var lost, fresh []string
				for _, id := range want {
					if !slices.Contains(ids, id) {
						lost = append(lost, id)
					}
				}
				for _, id := range ids {
					if !slices.Contains(want, id) {
						fresh = append(fresh, id)
					}
				}
				t.Errorf("instances recreated by the restart: %v gone, %v new; by node before %v, after %v",
					lost, fresh, byNode(before), byNode(after))
			}
			l.waitCalls(t, "calls after the restart", adopted, 20)
			if got := l.syncSince(adopted, time.Time{}); len(failures(got, 10)) > 0 {
				t.Fatalf("calls after the restarted server's nodes were back failed (%v):\n%s", counts(got), strings.Join(failures(got, 10), "\n"))
			}
		}},

		{"removed node refused", func(t *testing.T) {
			a := c.agents[len(c.agents)-1]
			n, ok := c.nodeOf(t, a)
			if !ok {
				t.Fatalf("node of %s not listed", a.name)
			}
			removed := time.Now()
			c.s.must(t, c.cliDir, "nodes", "remove", n.ID)
			code, line := a.exited(t, 30*time.Second)
			if code == 0 || !strings.Contains(strings.ToLower(line), "removed") {
				t.Fatalf("the agent of the removed node: exit %d, last line %q; want a failure that says it was removed", code, line)
			}
			t.Logf("the removed node's agent exited: %s", line)
			for _, other := range c.nodes(t) {
				if other.ID == n.ID {
					t.Fatalf("hearth nodes still lists the removed node: %+v", other)
				}
			}
			eventually(t, "the removed node's instances to leave the pool", func() bool {
				for _, in := range c.instancesOf(t, fn) {
					if in.Node == n.ID {
						return false
					}
				}
				return true
			})
			a.restart(t)
			code, line = a.exited(t, 30*time.Second)
			if code == 0 || !strings.Contains(strings.ToLower(line), "removed") {
				t.Fatalf("the removed node's agent started again: exit %d, last line %q; want it refused, saying the node was removed", code, line)
			}
			t.Logf("started again, it is refused: %s", line)
			t.Logf("calls since the removal: %v", counts(l.syncSince(removed, time.Time{})))
		}},

		{"no async call lost", func(t *testing.T) {
			l.end()
			var ids []string
			for _, a := range l.asyncSince(time.Time{}) {
				if a.status == http.StatusAccepted && a.callID != "" {
					ids = append(ids, a.callID)
				}
			}
			statuses := map[api.CallStatus]int{}
			for _, call := range c.waitAsyncDone(t, ids, 90*time.Second) {
				statuses[call.Status]++
			}
			t.Logf("async calls: %v accepted of %v; finished %v", len(ids), counts(l.asyncSince(time.Time{})), statuses)
			if statuses[api.CallSucceeded] != len(ids) {
				t.Fatalf("async calls finished %v, want all %d succeeded", statuses, len(ids))
			}
			t.Logf("all sync calls of the test: %v", counts(l.syncSince(time.Time{}, time.Time{})))
			if strings.Contains(c.s.logs(), "panic") {
				t.Fatalf("the server panicked:\n%s", c.s.logs())
			}
		}},
	}
	// The steps after these do not need what they check, and run when they fail.
	alone := map[string]bool{"server restarted under load": true}
	for _, step := range steps {
		if !t.Run(step.name, step.run) && !alone[step.name] {
			t.Logf("the steps after %q need what it failed to make: not run", step.name)
			return
		}
	}
	t.Logf("the cluster test took %s", time.Since(began).Round(time.Millisecond))
}
