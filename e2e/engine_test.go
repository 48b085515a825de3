//go:build e2e

package e2e

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
)

// TestEngineStoppedAndStartedUnderLoad: the node's Docker Engine stops under load and starts
// again (an engine of the test's own: the machine's serves the tests running beside this one).
// While it is away, hearth says it is not ready and calls fail fast with 503 unavailable; once
// it is back, hearth recovers by itself, with no restart: calls succeed on new instances, the
// containers the engine's stop left behind (exited, or never removed because the engine was
// away) are removed, and when hearth stops, nothing of it is left on the engine.
func TestEngineStoppedAndStartedUnderLoad(t *testing.T) {
	const acquire = 30 * time.Second
	eng := startTestEngine(t)
	// The engine's own default bridge: it is the test's, and no firewall rule of hearth's is
	// needed on it (the engine runs with --iptables=false).
	s := startServer(t, serverOpts{extraArgs: []string{"--docker-host", eng.host, "--instance-network", "bridge",
		"--acquire-timeout", acquire.String()}})
	node := s.nodeID(t)
	dir := echoFunction(t, s, "sturdy", map[string]string{"concurrency": "2", "max_instances": "3", "idle_timeout": "10m"})
	s.must(t, dir, "deploy")
	s.mustInvoke(t, "sturdy", "")

	// The load: a few callers in a loop, each answer sent back to the test's goroutine.
	results := make(chan answer, 1024)
	stopLoad := make(chan struct{})
	var wg sync.WaitGroup
	token := s.adminToken(t)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				ctx, cancel := context.WithTimeout(context.Background(), 2*acquire)
				a := tryInvoke(ctx, s.URL, token, "sturdy", "?sleep=20ms", nil)
				cancel()
				select {
				case results <- a:
				case <-stopLoad:
					return
				}
				select { // pace the loop: failing calls come back at once
				case <-time.After(10 * time.Millisecond):
				case <-stopLoad:
					return
				}
			}
		}()
	}
	endLoad := sync.OnceFunc(func() { close(stopLoad); wg.Wait() })
	t.Cleanup(endLoad) // before the server stops: cleanups run last registered first

	// next returns the next answer to a call that began after since. Every answer on the way,
	// whenever it was sent, must be one of hearth's: no broken connection, no 500.
	next := func(what string, since time.Time) answer {
		t.Helper()
		timeout := time.After(2 * acquire)
		for {
			select {
			case a := <-results:
				if a.err != nil || a.status == 0 || a.status == http.StatusInternalServerError {
					t.Fatalf("a call got %d %s %q (%v), want an answer of hearth's", a.status, a.code, a.message, a.err)
				}
				if a.began.After(since) {
					return a
				}
			case <-timeout:
				t.Fatalf("no answer for %s within %s", what, 2*acquire)
			}
		}
	}

	for range 10 {
		if a := next("calls before the engine stops", time.Time{}); a.status != http.StatusOK {
			t.Fatalf("before the engine stopped: %d %s %s", a.status, a.code, a.message)
		}
	}

	began := time.Now()
	eng.stop(t)
	t.Logf("the engine stopped in %s", time.Since(began).Round(time.Millisecond))
	eventually(t, "/v1/info to report the node not ready", func() bool {
		info := s.info(t)
		return !info.Ready && info.Problem != ""
	})
	serverLogShows(t, s, "the container engine of a node cannot be reached")
	noticed := time.Now()
	for range 20 {
		a := next("calls while the engine is away", noticed)
		if a.status != http.StatusServiceUnavailable || a.code != api.CodeUnavailable || a.retry == "" {
			t.Fatalf("a call while the engine is away got %d %s %q (Retry-After %q), want 503 %s with Retry-After",
				a.status, a.code, a.message, a.retry, api.CodeUnavailable)
		}
		if a.took > acquire/3 {
			t.Fatalf("a call while the engine is away took %s to fail: not fast, against an acquire timeout of %s", a.took, acquire)
		}
	}

	began = time.Now()
	eng.start(t)
	restarted := time.Now()
	t.Logf("the engine started again in %s", restarted.Sub(began).Round(time.Millisecond))
	for a := next("calls once the engine is back", restarted); a.status != http.StatusOK; a = next("calls once the engine is back", restarted) {
		if time.Since(restarted) > 2*acquire {
			t.Fatalf("hearth did not recover within %s of the engine's start: %d %s %s", 2*acquire, a.status, a.code, a.message)
		}
	}
	t.Logf("the first call succeeded %s after the engine's start", time.Since(restarted).Round(time.Millisecond))
	recovered := time.Now()
	for range 10 {
		if a := next("calls after the recovery", recovered); a.status != http.StatusOK {
			t.Fatalf("a call after the recovery got %d %s %s", a.status, a.code, a.message)
		}
	}
	endLoad()
	if info := s.info(t); !info.Ready {
		t.Fatalf("/v1/info after the recovery: %+v, want ready", info)
	}

	if leaked := eng.killLeakedTasks(t); len(leaked) > 0 {
		t.Logf("the engine leaked the task of %d container start(s) that raced its shutdown (a Docker bug); killed them as an operator would: %v",
			len(leaked), leaked)
	}
	// No orphan: what the engine holds of this node is the pool's instances, running.
	eventually(t, "the engine to hold only the pool's instances", func() bool {
		want := map[string]bool{}
		for _, in := range s.pool(t, "sturdy").Instances {
			want[in.ID] = true
		}
		var got []string
		for _, c := range containersOn(t, eng.host, node, "") {
			id, state, _ := strings.Cut(c, " ")
			// The instance the pool prepared ahead (created, not started) and its network
			// sandbox (running, no instance label) are the pool's too; an exited sandbox is not.
			if state == "created" || (id == "" && state == "running") {
				continue
			}
			got = append(got, c)
		}
		if len(got) != len(want) {
			return false
		}
		for _, c := range got {
			id, state, _ := strings.Cut(c, " ")
			if !want[id] || state != "running" {
				return false
			}
		}
		return true
	})
	kept := map[string]bool{}
	for _, in := range s.pool(t, "sturdy").Instances {
		kept["hearth-"+in.ID+" running"] = true
	}
	s.stop(t)
	// A server that stops leaves its instances running for its next start (an upgrade keeps
	// the pool warm): those, and nothing else, are left.
	left, err := eng.docker("ps", "-a", "--format", "{{.Names}} {{.State}}")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range strings.Split(strings.TrimSpace(left), "\n") {
		if c != "" && !kept[c] {
			t.Errorf("container left on the engine after hearth stopped that was not one of its instances: %s", c)
		}
	}
	if ids, err := eng.docker("ps", "-aq"); err == nil && strings.TrimSpace(ids) != "" {
		if out, err := eng.docker(append([]string{"rm", "-f"}, strings.Fields(ids)...)...); err != nil {
			t.Fatalf("remove the instances the server kept: %v: %s", err, out)
		}
	}
	// The engine's own networks only: one of hearth's would take a subnet from Docker's default
	// pools, which may be the machine engine's (see testEngine).
	if nets, err := eng.docker("network", "ls", "--format", "{{.Name}}"); err != nil || strings.Join(strings.Fields(nets), " ") != "bridge host none" {
		t.Fatalf("networks on the test engine (%v): %s; want only its own", err, nets)
	}
}
