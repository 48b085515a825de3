// Package driver defines the contract between a node agent and the thing that actually runs
// containers: Docker on a single host, Nomad on a cluster, a fake in unit tests.
//
// The contract is deliberately small (nine methods, each one RPC) and value-typed, because it
// crosses a process boundary: the built-in drivers are served by the hearth binary itself through
// hashicorp/go-plugin (see agent/driver/plugin), and `hearth server --dev` uses that same path.
// What a driver can do is data (Capabilities), not a type switch: Nomad has no pause, so the pool
// asks before pausing.
//
// Where to read next:
//   - agent/driver/plugin: the gRPC glue, the handshake and the error table.
//   - agent/driver/docker: the Docker Engine implementation.
//   - agent/driver/nomad: the Nomad implementation (one job per instance).
//   - agent/driver/fake: the in-memory implementation that unit tests use.
//   - agent/driver/drivertest: the conformance suite every implementation passes.
package driver
