// Command bench measures hearth against the raw floors on this machine, in one run, and prints
// them side by side with their ratios and the goals of the warm pool (issue 4).
//
// For a no-op Go function and the Python scaffold it compares:
//   - a warm call through hearth with a direct HTTP call to the same instance, at concurrency 1
//     and 16 (with throughput), and with a bare Go reverse proxy to it for reference;
//   - hearth's first call with no instance (after the pool stopped the idle one) with a raw
//     Docker create + start + ready + call of the same image;
//   - hearth's call to an instance its pool paused with a raw Docker unpause + call.
//
// With the Nomad agent and the registry of scripts/nomad.sh and scripts/registry.sh (-nomad, on by
// default), it starts a second server, `hearth server --driver nomad`, and compares for the go
// no-op a warm call with a direct call to the allocation's port, and the first call with no
// instance with the same job registered through the Nomad API, step by step (nomad.go,
// nomadcold.go, nomadphases.go).
//
// With the registry (-cluster, on by default; needs root), it starts a Docker Engine of its own
// (own socket, data root, bridge; as the e2e tests' engines), a server with no node of its own,
// `hearth server --cluster-addr`, and one `hearth agent` on that engine, and compares for the go
// no-op the first call on a node that must pull the image with the same call on a node that has
// it, the pull alone with a pull through the Docker API, and a warm call routed to the instance
// on the other engine with a direct call to its published port (cluster.go, clusterrows.go,
// clusterengine.go). The engine, its bridge and its folder are removed at the end.
//
// With Debian's chromium (scripts/chromium.sh; -dashboard, on by default) it measures the
// dashboard: a server whose store was seeded, before it started, with 1,000 functions and
// 100,000 call records of the last hour, and the overview (#/) loaded ten times in headless
// chromium after two untimed loads, each load a new document. A load's time is the page's own:
// from the navigation's start to the first animation frame in which the overview's table holds
// all 1,000 function rows (its first complete render), after the page's modules, the sign-in
// check and GET /v1/overview. Its floor is GET /v1/overview alone, from Go; the goal is a median
// under 300 ms (dashboard.go, dashboardbrowser.go).
//
// Before the main server starts (-fullnode-functions, 100 by default; section fullnode), a server
// of its own is filled with that many functions of the go no-op, each called once and left
// paused, with its pool's memory sized so that every further start must evict; the section
// reads the idle CPU of the server, its plugin and dockerd, times deploys at both ends, and
// compares a warm call and fresh functions' first calls with a second server that has room
// (fullnode.go, fullnodefill.go, fullnodeengine.go).
//
// For every runtime it reports the image size, the first build and the time to ready. It writes
// the same figures as JSON. Goals are measured and marked met or not; a missed goal does not fail
// the run.
//
// It drives a real `hearth server --dev` (the binary given by -bin) and the real Docker Engine;
// `make bench` builds and runs it. It removes every container, Nomad job, function image,
// registry tag and directory it made. Figures are noisy on shared machines: compare ratios from
// one run, never absolute numbers across runs.
//
// Files: main.go (flags, the order of the run, cleanup), warm.go, cold.go and pause.go (one
// measurement each), proxy.go (the bare proxy, run as this same executable), runtimes.go (the
// per-runtime rows), nomad.go, nomadcold.go and nomadphases.go (the Nomad section), cluster.go,
// clusterrows.go and clusterengine.go (the cluster section), deploy.go (functions and the
// pool's state), placement.go (placement decisions on a simulated cluster of 100 nodes and
// 1,000 functions, no Docker), dashboard.go and dashboardbrowser.go (the dashboard row),
// goals.go, report.go and stats.go.
package main
