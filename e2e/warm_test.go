//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
)

// The warm pool against the real Docker Engine: pause, resume, stop, min_instances, max under a
// burst, a full queue, a killed container.

// poolOf reads a function's pool from the API.
func poolOf(t *testing.T, s *server, name string) api.PoolStatus {
	t.Helper()
	resp, err := s.get("/v1/functions/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var fn api.Function
	if err := json.NewDecoder(resp.Body).Decode(&fn); err != nil || fn.Pool == nil {
		t.Fatalf("GET function %s: %v (pool %v)", name, err, fn.Pool)
	}
	return *fn.Pool
}

// eventually polls cond for up to 30 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after 30 s waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// dockerPaused reports whether the container is paused on the engine's machine: Docker paused
// it, or its cgroup freezer is frozen (hearth's Docker driver freezes containers through the
// freezer directly, which Docker does not record: agent/driver/docker/freezer.go).
func dockerPaused(t *testing.T, container string) bool {
	t.Helper()
	out, err := exec.Command("docker", "inspect", "-f", "{{.State.Paused}} {{.State.Pid}}", container).Output()
	if err != nil {
		t.Fatalf("docker inspect %s: %v", container, err)
	}
	paused, pid, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	return paused == "true" || cgroupFrozen(pid)
}

// cgroupFrozen reads the freezer state of process pid's cgroup: v1's freezer.state, else v2's
// cgroup.freeze.
func cgroupFrozen(pid string) bool {
	data, err := os.ReadFile("/proc/" + pid + "/cgroup")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if slices.Contains(strings.Split(parts[1], ","), "freezer") {
			state, err := os.ReadFile("/sys/fs/cgroup/freezer" + parts[2] + "/freezer.state")
			return err == nil && strings.TrimSpace(string(state)) != "THAWED"
		}
		if parts[0] == "0" && parts[1] == "" {
			if v, err := os.ReadFile("/sys/fs/cgroup" + parts[2] + "/cgroup.freeze"); err == nil && strings.TrimSpace(string(v)) == "1" {
				return true
			}
		}
	}
	return false
}

// metric returns the value of one sample line of /metrics, or "" when it is absent.
func metric(t *testing.T, s *server, sample string) string {
	t.Helper()
	resp, err := s.get("/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(sample) + ` (\S+)$`).FindSubmatch(b)
	if m == nil {
		return ""
	}
	return string(m[1])
}

func mustCall(t *testing.T, s *server, name string) {
	t.Helper()
	if status, body, _ := call(t, s, name, `{"name":"Ada"}`); status != http.StatusOK {
		t.Fatalf("call %s: %d %s", name, status, body)
	}
}

// TestIdleInstancePausedThenStopped: idle for idle_timeout, the instance is paused (Docker says
// so); paused for pause_timeout, it is stopped and its container removed; a call after that
// starts a new one.
func TestIdleInstancePausedThenStopped(t *testing.T) {
	s := startServer(t, serverOpts{})
	dir := s.newFunction(t, "dozy")
	setFuncYAML(t, dir, "idle_timeout", "1s")
	setFuncYAML(t, dir, "pause_timeout", "2s")
	s.must(t, dir, "deploy")
	mustCall(t, s, "dozy")
	ids := containersOf(t, "dozy")
	if len(ids) != 1 {
		t.Fatalf("%d containers after the first call, want 1", len(ids))
	}
	eventually(t, "the idle instance to be paused", func() bool {
		p := poolOf(t, s, "dozy")
		return len(p.Instances) == 1 && p.Instances[0].State == "paused"
	})
	if !dockerPaused(t, ids[0]) {
		t.Fatalf("the pool says paused but Docker does not")
	}
	eventually(t, "the paused instance to be stopped", func() bool { return len(containersOf(t, "dozy")) == 0 })
	mustCall(t, s, "dozy")
}

// TestPausedInstanceResumedByCall: a call to a function whose only instance is paused resumes
// that instance (no new container) and is counted as a resumed cold start. The short
// idle_timeout is set with `hearth config` after the instance started.
func TestPausedInstanceResumedByCall(t *testing.T) {
	s := startServer(t, serverOpts{})
	dir := s.newFunction(t, "thaw")
	s.must(t, dir, "deploy")
	mustCall(t, s, "thaw")
	before := containersOf(t, "thaw")
	// A settings change through `hearth config` applies at once and keeps the warm instance.
	s.must(t, dir, "config", "thaw", "idle_timeout=1s")
	if got := containersOf(t, "thaw"); len(got) != 1 || got[0] != before[0] {
		t.Fatalf("containers after hearth config: %v, want %s carried over", got, before[0])
	}
	eventually(t, "the instance to be paused", func() bool { return dockerPaused(t, before[0]) })

	mustCall(t, s, "thaw")
	after := containersOf(t, "thaw")
	if len(after) != 1 || after[0] != before[0] {
		t.Fatalf("containers after the call: %v, want the paused %s resumed", after, before[0])
	}
	if dockerPaused(t, after[0]) {
		t.Fatalf("the container answered but is still paused")
	}
	if got := metric(t, s, `hearth_cold_starts_total{function="thaw",kind="resumed"}`); got != "1" {
		t.Fatalf("resumed cold starts = %q, want 1", got)
	}
}

// TestMinInstancesKeptWarm: min_instances starts an instance at deploy, before any call, and
// keeps it running (not paused) past idle_timeout.
func TestMinInstancesKeptWarm(t *testing.T) {
	s := startServer(t, serverOpts{})
	dir := s.newFunction(t, "ember")
	setFuncYAML(t, dir, "idle_timeout", "1s")
	setFuncYAML(t, dir, "min_instances", "1")
	s.must(t, dir, "deploy")
	eventually(t, "the min instance to be ready", func() bool {
		p := poolOf(t, s, "ember")
		return len(p.Instances) == 1 && p.Instances[0].State == "ready"
	})
	// A control instead of a sleep: a function with the same idle_timeout, called after ember's
	// instance was ready. The pass of the idle policy that pauses it judges ember's instance,
	// idle for longer, as well: from then on, ember's would be pausing or paused were it not
	// kept warm.
	ash := echoFunction(t, s, "ash", map[string]string{"idle_timeout": "1s"})
	s.must(t, ash, "deploy")
	s.mustInvoke(t, "ash", "")
	eventually(t, "the control function's idle instance to be paused", func() bool {
		p := poolOf(t, s, "ash")
		return len(p.Instances) == 1 && p.Instances[0].State == "paused"
	})
	p := poolOf(t, s, "ember")
	ids := containersOf(t, "ember")
	if len(p.Instances) != 1 || p.Instances[0].State != "ready" || len(ids) != 1 || dockerPaused(t, ids[0]) {
		t.Fatalf("want 1 running instance kept warm past idle_timeout, have %+v (containers %v)", p.Instances, ids)
	}
}

// slowFunction deploys a Go function that sleeps for ms milliseconds per call, with the given
// func.yaml settings.
func slowFunction(t *testing.T, s *server, name string, ms int, settings map[string]string) {
	t.Helper()
	dir := s.newFunction(t, name)
	writeHandler(t, dir, []string{"time"}, fmt.Sprintf(`	time.Sleep(%d * time.Millisecond)
	w.Write([]byte("done"))`, ms))
	for k, v := range settings {
		setFuncYAML(t, dir, k, v)
	}
	s.must(t, dir, "deploy")
}

// TestBurstRespectsMaxInstances: 8 concurrent calls to a function with max_instances 2 all
// succeed, on at most 2 containers.
func TestBurstRespectsMaxInstances(t *testing.T) {
	s := startServer(t, serverOpts{})
	slowFunction(t, s, "burst", 300, map[string]string{"max_instances": "2"})
	since := time.Now()
	// The calls report back to the test's goroutine, the only one that may fail the test.
	answers := make(chan string, 8) // "" for a 200, else what came instead
	for range 8 {
		go func() { answers <- callStatus(s, "burst", http.StatusOK) }()
	}
	for range 8 {
		if a := <-answers; a != "" {
			t.Fatalf("a call of the burst: %s", a)
		}
	}
	// The engine's own record of the burst, rather than samples of `docker ps` that a short-lived
	// container could slip between: the most containers of the function running at once.
	out, err := exec.Command("docker", "events", "--since", fmt.Sprint(since.Unix()), "--until", fmt.Sprint(time.Now().Unix()+1),
		"--filter", "type=container", "--filter", "label=hearth.node="+s.nodeID(t), "--filter", "label=hearth.function=burst",
		"--format", "{{.Action}}").CombinedOutput()
	if err != nil {
		t.Fatalf("docker events: %v: %s", err, out)
	}
	running, most := 0, 0
	for _, action := range strings.Fields(string(out)) {
		switch action {
		case "start":
			running++
		case "die":
			running--
		}
		most = max(most, running)
	}
	if most == 0 || most > 2 {
		t.Fatalf("at most %d containers ran at once, want 1 or 2 (max_instances = 2); events: %s", most, out)
	}
}

// TestQueueFullAnswers503: with one slot and a queue of one, a third concurrent call gets 503
// with Retry-After while the first two succeed.
func TestQueueFullAnswers503(t *testing.T) {
	s := startServer(t, serverOpts{})
	slowFunction(t, s, "narrow", 3000, map[string]string{"max_instances": "1", "queue": "1"})
	answers := make(chan string, 2) // "" for a 200, else what came instead
	go func() { answers <- callStatus(s, "narrow", http.StatusOK) }()
	eventually(t, "the first call in flight", func() bool {
		p := poolOf(t, s, "narrow")
		return len(p.Instances) == 1 && p.Instances[0].InFlight == 1
	})
	go func() { answers <- callStatus(s, "narrow", http.StatusOK) }()
	eventually(t, "the second call queued", func() bool { return metric(t, s, `hearth_queue_depth{function="narrow"}`) == "1" })

	resp, err := s.post("/invoke/narrow", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("third call: %d (Retry-After %q) %s, want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"), b)
	}
	if e := errorOf(t, string(b)); !strings.Contains(e.Message, "queue") {
		t.Fatalf("the 503 does not say the queue is full: %+v", e)
	}
	for range 2 {
		if a := <-answers; a != "" {
			t.Errorf("a call that took the slot or the queue: %s", a)
		}
	}
}

// callStatus calls function and returns "" when it answers want, else what it got. It never
// fails the test, so goroutines other than the test's may use it.
func callStatus(s *server, function string, want int) string {
	resp, err := s.post("/invoke/"+function, "text/plain", nil)
	if err != nil {
		return err.Error()
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		return fmt.Sprintf("%d %s, want %d", resp.StatusCode, b, want)
	}
	return ""
}

// TestKilledContainerReplaced: a container killed behind hearth's back is noticed and replaced,
// and calls keep working.
func TestKilledContainerReplaced(t *testing.T) {
	s := startServer(t, serverOpts{})
	dir := s.newFunction(t, "phoenix")
	setFuncYAML(t, dir, "min_instances", "1")
	s.must(t, dir, "deploy")
	eventually(t, "the min instance", func() bool { return len(containersOf(t, "phoenix")) == 1 })
	victim := containersOf(t, "phoenix")[0]
	if out, err := exec.Command("docker", "kill", victim).CombinedOutput(); err != nil {
		t.Fatalf("docker kill: %v: %s", err, out)
	}
	eventually(t, "a replacement container", func() bool {
		ids := containersOf(t, "phoenix")
		return len(ids) == 1 && ids[0] != victim
	})
	mustCall(t, s, "phoenix")
}
