//go:build e2e

package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
)

// TestNomadWalkthrough is the README's walk-through with the instances on Nomad (the dev agent
// scripts/nomad.sh runs) and the images in the loopback registry: go and python deploy and
// answer; a redeploy lets the call in flight finish on the old version; an idle instance is
// stopped (Nomad cannot pause) and its job purged; logs and async calls work; a delete leaves no
// job.
func TestNomadWalkthrough(t *testing.T) {
	s := startServer(t, serverOpts{nomad: true})
	info := s.info(t)
	if !info.Ready || !strings.HasPrefix(info.Driver, "nomad") {
		t.Fatalf("/v1/info of a server on Nomad: %+v", info)
	}
	node := s.nodeID(t)

	t.Run("go", func(t *testing.T) {
		dir := s.newFunction(t, "nomad-go")
		writeHandler(t, dir, []string{"fmt", "time"}, `	if r.URL.Query().Get("slow") != "" {
		time.Sleep(3 * time.Second)
	}
	fmt.Println("nomad-go says hello " + r.URL.Query().Get("n"))
	w.Write([]byte("v1"))`)
		setFuncYAML(t, dir, "idle_timeout", "3s")
		dep := s.must(t, dir, "deploy")
		if !strings.Contains(dep.stdout+dep.stderr, registryAddr) {
			t.Errorf("deploy does not show the push to %s:\n%s\n%s", registryAddr, dep.stdout, dep.stderr)
		}
		if img := functionImage(t, s, dir, "nomad-go"); !strings.HasPrefix(img, registryAddr+"/") {
			t.Fatalf("image %q is not in the registry", img)
		}
		if status, body, _ := call(t, s, "nomad-go", ""); status != http.StatusOK || body != "v1" {
			t.Fatalf("first call: %d %q", status, body)
		}
		if jobs := nomadJobsOf(t, node); len(jobs) != 1 {
			t.Fatalf("Nomad jobs of the server after one call: %v, want one", jobs)
		}

		// A redeploy while a call is in flight: the call finishes on version 1.
		var wg sync.WaitGroup
		var slow string
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := s.get("/invoke/nomad-go?slow=1")
			if err != nil {
				slow = err.Error()
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			slow = resp.Status + " " + string(b)
		}()
		eventually(t, "the slow call to reach its instance", func() bool {
			p := s.pool(t, "nomad-go")
			return len(p.Instances) == 1 && p.Instances[0].InFlight == 1
		})
		writeHandler(t, dir, []string{"fmt"}, `	fmt.Println("nomad-go says hello " + r.URL.Query().Get("n"))
	w.Write([]byte("v2"))`)
		s.must(t, dir, "deploy")
		if status, body, _ := call(t, s, "nomad-go", ""); status != http.StatusOK || body != "v2" {
			t.Fatalf("after the redeploy: %d %q, want v2", status, body)
		}
		wg.Wait()
		if slow != "200 OK v1" {
			t.Fatalf("the call in flight during the redeploy got %q, want 200 OK v1", slow)
		}

		// Logs: the line the handler printed, from Nomad's allocation logs.
		nonce := "n" + time.Now().Format("150405.000000")
		if status, _, _ := call(t, s, "nomad-go?n="+url.QueryEscape(nonce), ""); status != http.StatusOK {
			t.Fatalf("call for the logs: %d", status)
		}
		eventually(t, "the handler's line in hearth logs", func() bool {
			return strings.Contains(s.must(t, dir, "logs", "nomad-go").stdout, "nomad-go says hello "+nonce)
		})

		// Async.
		id := invokeAsync(t, s, "nomad-go")
		eventually(t, "the async call to succeed", func() bool { return getCall(t, s, id).Status == api.CallSucceeded })

		// Idle: the instance is stopped at idle_timeout and its job purged.
		eventually(t, "the idle instance to stop and its job to go", func() bool {
			return len(s.pool(t, "nomad-go").Instances) == 0 && len(nomadJobsOf(t, node)) == 0
		})
		if status, body, _ := call(t, s, "nomad-go", ""); status != http.StatusOK || body != "v2" {
			t.Fatalf("a call after the idle stop: %d %q", status, body)
		}
		s.must(t, dir, "delete", "nomad-go")
		eventually(t, "no job left after the delete", func() bool { return len(nomadJobsOf(t, node)) == 0 })
	})

	t.Run("python", func(t *testing.T) {
		parent := t.TempDir()
		s.must(t, parent, "init", "--runtime", "python", "nomad-py")
		dir := filepath.Join(parent, "nomad-py")
		s.must(t, dir, "deploy")
		out := s.must(t, dir, "invoke", "nomad-py", "-d", `{"name":"Ada"}`)
		if !strings.Contains(out.stdout, "Hello, Ada!") {
			t.Fatalf("python on Nomad answered %q", out.stdout)
		}
		s.must(t, dir, "delete", "nomad-py")
		eventually(t, "no job left after the delete", func() bool { return len(nomadJobsOf(t, node)) == 0 })
	})
}

// TestNomadAllocationKilledIsReplaced: an allocation stopped behind hearth's back is seen (by
// the driver's watch of Nomad's allocations) and the next call runs on a new instance.
func TestNomadAllocationKilledIsReplaced(t *testing.T) {
	s := startServer(t, serverOpts{nomad: true})
	dir := s.newFunction(t, "nomad-kill")
	s.must(t, dir, "deploy")
	s.must(t, dir, "invoke", "nomad-kill")
	first := s.pool(t, "nomad-kill").Instances[0].ID

	var allocs []struct{ ID string }
	nomadGet(t, "/v1/job/"+url.PathEscape("hearth-"+first)+"/allocations", &allocs)
	if len(allocs) != 1 {
		t.Fatalf("allocations of %s: %+v", first, allocs)
	}
	req, _ := http.NewRequest(http.MethodPost, nomadAddr+"/v1/allocation/"+allocs[0].ID+"/stop", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	eventually(t, "the pool to let the stopped allocation go", func() bool {
		for _, in := range s.pool(t, "nomad-kill").Instances {
			if in.ID == first {
				return false
			}
		}
		return true
	})
	s.must(t, dir, "invoke", "nomad-kill")
	if now := s.pool(t, "nomad-kill").Instances; len(now) != 1 || now[0].ID == first {
		t.Fatalf("instances after the kill: %+v, want one new", now)
	}
	serverLogShows(t, s, "replacing it")
}

// TestNomadTooLargeFailsFast: a function Nomad cannot place fails the call at once with
// no_capacity and Nomad's reason, rather than waiting out the acquire timeout.
func TestNomadTooLargeFailsFast(t *testing.T) {
	// The pool may reserve more than the cluster has, so that the refusal is Nomad's own.
	s := startServer(t, serverOpts{nomad: true, extraArgs: []string{"--pool-memory", "1024GiB", "--acquire-timeout", "2m"}})
	big := s.newFunction(t, "nomad-big")
	setFuncYAML(t, big, "memory", "16384")
	s.must(t, big, "deploy")
	s.must(t, big, "invoke", "nomad-big") // the first fits the dev node
	bigger := s.newFunction(t, "nomad-bigger")
	setFuncYAML(t, bigger, "memory", "16384")
	s.must(t, bigger, "deploy")

	began := time.Now()
	status, body, _ := call(t, s, "nomad-bigger", "")
	took := time.Since(began)
	var e api.ErrorBody
	_ = json.Unmarshal([]byte(body), &e)
	if status != http.StatusServiceUnavailable || e.Error.Code != api.CodeNoCapacity || !strings.Contains(strings.ToLower(e.Error.Message), "memory") {
		t.Fatalf("a call Nomad cannot place: %d %s, want 503 no_capacity naming memory", status, body)
	}
	if took > time.Minute {
		t.Fatalf("the refusal took %s: not fast, against an acquire timeout of 2m", took)
	}
}
