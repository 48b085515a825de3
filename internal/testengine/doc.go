// Package testengine starts a Docker Engine of one's own on the machine's dockerd binary, for
// the e2e tests that stop and start an engine or run one per node (e2e/engine_helpers_test.go)
// and for the bench's cluster section (bench/clusterengine.go), while everything else keeps
// the machine's engine. It follows the recipe of ENVIRONMENT.md (../shared/ENVIRONMENT.md):
//   - its socket, data root, exec root and pid file live in a scratch folder of its own;
//   - its containers join a bridge made for it, with a /24 of 10.199.0.0/16 that no interface
//     of the machine has. The bridge's name is the claim: `ip link add` fails when another
//     engine holds it, so callers that run side by side take disjoint ranges of /24s and
//     bridge names (the e2e tests 100-249 and hearth-engN, the bench 50-99 and hearth-benchN).
//     Never --bridge none: when such an engine stops, the machine engine's docker0 goes with it;
//   - --iptables=false: it leaves the machine's firewall alone (published ports are served by
//     docker-proxy);
//   - no --default-address-pool: an engine started again on a data root that has its default
//     network deletes the machine's docker0 when it has address pools of its own (Docker
//     20.10's initNetworkController, reproduced 2026-12-06). So no network may be made on it,
//     whose subnet would come from Docker's default pools: hearth runs there with
//     --instance-network bridge.
//
// Remove stops the engine and removes what it made: its containers, its bridge, its mounts
// and its folder, and the processes a killed engine leaves behind. Should the machine's
// docker0 be gone meanwhile, it makes it again and says so.
//
// The package knows nothing of testing.T: the callers turn its errors into test failures or
// log lines. Where to read next: e2e/engine_test.go and e2e/cluster_test.go, which stop and
// start engines under load; bench/cluster.go.
package testengine
