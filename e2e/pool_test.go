//go:build e2e

package e2e

import (
	"io"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// containersOf lists the containers running for a function, by label.
func containersOf(t *testing.T, function string) []string {
	t.Helper()
	out, err := exec.Command("docker", "ps", "-q", "--filter", "label=hearth.function="+function).Output()
	if err != nil {
		t.Fatalf("docker ps: %v", err)
	}
	return strings.Fields(string(out))
}

// TestRolloutFailsNoCallInFlight: a call in flight on version 1 finishes with version 1's answer
// while version 2 is deployed; calls after the deploy get version 2; the old container goes.
func TestRolloutFailsNoCallInFlight(t *testing.T) {
	s := startServer(t, serverOpts{})
	dir := s.newFunction(t, "roll")
	writeHandler(t, dir, []string{"time"}, `	if r.URL.Query().Get("slow") != "" {
		time.Sleep(3 * time.Second)
	}
	w.Write([]byte("v1"))`)
	s.must(t, dir, "deploy")
	if status, body, _ := call(t, s, "roll", ""); status != http.StatusOK || body != "v1" {
		t.Fatalf("warm-up: %d %q", status, body)
	}

	var wg sync.WaitGroup
	var slowStatus int
	var slowBody string
	wg.Add(1)
	go func() {
		defer wg.Done()
		resp, err := s.get("/invoke/roll?slow=1")
		if err != nil {
			slowBody = err.Error()
			return
		}
		defer resp.Body.Close()
		b := new(strings.Builder)
		_, _ = io.Copy(b, resp.Body)
		slowStatus, slowBody = resp.StatusCode, b.String()
	}()
	eventually(t, "the slow call to reach the instance", func() bool {
		p := poolOf(t, s, "roll")
		return len(p.Instances) == 1 && p.Instances[0].InFlight == 1
	})

	writeHandler(t, dir, nil, `	w.Write([]byte("v2"))`)
	s.must(t, dir, "deploy")
	if status, body, _ := call(t, s, "roll", ""); status != http.StatusOK || body != "v2" {
		t.Fatalf("call after the rollout: %d %q, want v2", status, body)
	}
	wg.Wait()
	if slowStatus != http.StatusOK || slowBody != "v1" {
		t.Fatalf("the call in flight during the rollout got %d %q, want 200 v1", slowStatus, slowBody)
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(containersOf(t, "roll")) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("want only version 2's container after the rollout, have %v", containersOf(t, "roll"))
		}
		time.Sleep(200 * time.Millisecond)
	}
}
