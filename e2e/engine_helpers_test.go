//go:build e2e

package e2e

import (
	"context"
	"testing"

	"github.com/hearthfn/hearth/internal/testengine"
)

// testEngine is a Docker Engine of the test's own (internal/testengine), so that a test can
// stop and start it while the tests that run at the same time keep the machine's engine
// (docs/dev/testing.md). Its /24s are 10.199.100-249, its bridges hearth-engN: the bench takes
// lower ones. Tests on it must not make networks (see testengine's doc): hearth runs with
// --instance-network bridge on it.
//
// Its methods fail the test on a problem; at cleanup the engine is removed, and a problem
// there (docker0 gone among them) fails the test too.
type testEngine struct {
	eng  *testengine.Engine
	host string // the engine's address, for --docker-host and the docker CLI
}

// startTestEngine makes and starts an engine for the test.
func startTestEngine(t *testing.T) *testEngine {
	t.Helper()
	eng, err := testengine.Start(context.Background(), testengine.Options{
		SubnetMin: 100, SubnetMax: 249, BridgePrefix: "hearth-eng",
		Logf: func(format string, args ...any) { t.Logf("test engine: "+format, args...) },
	})
	if err != nil {
		t.Fatalf("test engine: %v", err)
	}
	t.Cleanup(func() {
		if err := eng.Remove(); err != nil {
			t.Errorf("test engine: %v", err)
		}
		if t.Failed() {
			t.Logf("test engine log:\n%s", eng.Output())
		}
	})
	return &testEngine{eng: eng, host: eng.Host}
}

// start starts the engine again after stop.
func (e *testEngine) start(t *testing.T) {
	t.Helper()
	if err := e.eng.Start(context.Background()); err != nil {
		t.Fatalf("test engine: %v", err)
	}
}

// stop stops the engine as an operator's `systemctl stop docker` would.
func (e *testEngine) stop(t *testing.T) {
	t.Helper()
	if err := e.eng.Stop(context.Background()); err != nil {
		t.Errorf("test engine: %v", err)
	}
}

// docker runs the docker CLI against the engine.
func (e *testEngine) docker(args ...string) (string, error) {
	return e.eng.Docker(context.Background(), args...)
}

// killLeakedTasks kills the tasks Docker 20.10 leaks when a container start races the engine's
// shutdown (testengine.KillLeakedTasks) and returns their containers' ids.
func (e *testEngine) killLeakedTasks(t *testing.T) []string {
	t.Helper()
	killed, err := e.eng.KillLeakedTasks(context.Background())
	if err != nil {
		t.Fatalf("test engine: %v", err)
	}
	return killed
}
