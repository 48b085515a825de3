//go:build e2e

package e2e

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDevRestartKeepsTheWarmPool: `hearth server --dev` stopped (an upgrade) and started again
// on the same data directory takes back the instances the first run left, a paused one
// included: the next calls find them warm (or resumed), and no instance is started again.
func TestDevRestartKeepsTheWarmPool(t *testing.T) {
	s1 := startServer(t, serverOpts{})
	dir := echoFunction(t, s1, "kept", map[string]string{"concurrency": "1", "max_instances": "2", "idle_timeout": "2s"})
	s1.must(t, dir, "deploy")
	warm := s1.mustInvoke(t, "kept", "")
	// A second instance (the first is busy for 500 ms), then idle time: at least one pauses.
	done := make(chan answer, 1)
	go func() { done <- s1.invokeNow(t, "kept", "?sleep=500ms", nil) }()
	time.Sleep(100 * time.Millisecond)
	s1.mustInvoke(t, "kept", "")
	<-done
	eventually(t, "an instance to pause", func() bool {
		for _, in := range s1.pool(t, "kept").Instances {
			if in.State == "paused" {
				return true
			}
		}
		return false
	})
	before := map[string]string{}
	for _, in := range s1.pool(t, "kept").Instances {
		before[in.ID] = in.State
	}

	// Stop it as an upgrade would (SIGTERM), leaving the instances to the next start.
	_ = s1.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s1.done:
		if err != nil {
			t.Fatalf("the server exited with %v:\n%s", err, s1.logs())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("the server did not stop within 60 s:\n%s", s1.logs())
	}

	s2 := startServer(t, serverOpts{dataDir: s1.dataDir})
	eventually(t, "the instances of the first run to be taken back", func() bool {
		return len(s2.pool(t, "kept").Instances) == len(before)
	})
	for _, in := range s2.pool(t, "kept").Instances {
		if _, ok := before[in.ID]; !ok {
			t.Fatalf("after the restart the pool has %s, which the first run did not: %v", in.ID, before)
		}
	}
	a := s2.mustInvoke(t, "kept", "")
	if _, ok := before[a.instance]; !ok {
		t.Fatalf("the first call after the restart ran on %s, not on an instance of the first run %v", a.instance, before)
	}
	if a.instance == "" || warm.instance == "" {
		t.Fatalf("the echo function did not say which instance answered")
	}
	serverLogShows(t, s2, "adopted the instances a node still ran")
	if strings.Contains(s2.logs(), `msg="instance ready"`) {
		t.Fatalf("the server started an instance after the restart:\n%s", s2.logs())
	}
}
