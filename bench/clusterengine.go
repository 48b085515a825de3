package main

import (
	"context"
	"fmt"

	"github.com/hearthfn/hearth/internal/testengine"
)

// engine is a Docker Engine of the bench's own (internal/testengine), for the cluster
// section's agent: the node "on another engine". Its /24s are 10.199.50-99 and its bridges
// hearth-benchN, below the e2e tests' 100-249 and hearth-engN, so that a bench and a test run
// side by side never claim the same one. No network is made on it: hearth's agent runs with
// --instance-network bridge (testengine's doc says why).
//
// remove stops it and removes its containers, its bridge, its mounts and its folder.
type engine struct {
	eng  *testengine.Engine
	host string // the engine's address, for --docker-host and the docker CLI
}

// startEngine makes and starts an engine and waits until it answers. On failure nothing it
// made is left.
func startEngine(ctx context.Context) (*engine, error) {
	eng, err := testengine.Start(ctx, testengine.Options{
		SubnetMin: 50, SubnetMax: 99, BridgePrefix: "hearth-bench",
		Logf: func(format string, args ...any) { logf("cluster: bench engine: "+format, args...) },
	})
	if err != nil {
		return nil, fmt.Errorf("bench engine: %w", err)
	}
	return &engine{eng: eng, host: eng.Host}, nil
}

// docker runs the docker CLI against the engine.
func (e *engine) docker(ctx context.Context, args ...string) (string, error) {
	return e.eng.Docker(ctx, args...)
}

// remove stops the engine and removes everything it made (testengine.Engine.Remove). It is
// the cleanup of a run that may have been interrupted: problems are logged, not returned.
func (e *engine) remove() {
	if err := e.eng.Remove(); err != nil {
		logf("cluster: bench engine: %v", err)
	}
}
