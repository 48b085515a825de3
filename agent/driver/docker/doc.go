// Package docker is the Docker Engine driver: each instance is a container named
// "hearth-<id>", labelled with hearth's owner label, on an instance network, whose IP there is
// the instance's endpoint unless its port is published (below).
//
// A node whose instances are called from other hosts (an agent with an advertise address) sets
// Config.PublishAddr: each instance's port is then published on that one host address, with a
// host port Docker picks, and the endpoint is PublishAddr:HOSTPORT, read back from the
// container's port bindings by Start, Inspect and List alike (so a restarted server adopts the
// instances at the endpoints it called them at). The binding is never on 0.0.0.0: functions
// are called through hearth only, and the node's other addresses (a public one above all)
// must not expose them. Docker forwards what reaches the binding to the container with NAT
// rules, or with docker-proxy on an engine run with --iptables=false; neither goes through
// the host's INPUT rules that close the host to instances (firewall.go), and an instance still
// cannot reach a published port through the host's addresses (Docker's NAT leaves traffic from
// the instance's own bridge alone, which then meets those rules). Whatever reaches the address
// can call the instances without going through hearth, so it should be one only hearth's
// servers reach, or the ports firewalled to them.
//
// Every container is hardened (security.go: non-root, no capabilities, no-new-privileges, a
// read-only root with a bounded /tmp, PID and open-file limits, no swap, an init, no mounts) as
// far as the spec's instance.Security does not relax it. Instances join networks the driver
// makes (network.go): a bridge with traffic between containers off, and an internal one for
// functions without outbound traffic; the host's own ports are closed to both by iptables rules
// (firewall.go), so the driver needs root. Images are never pulled but from Config.Registry,
// with its credentials when configured (image.go): the server's builder pushes them there.
//
// Pause and Resume write the container's cgroup freezer file themselves (freezer.go, cgroup v1
// freezer.state or v2 cgroup.freeze) when the driver runs on the engine's machine (a unix://
// Host) and can: a resume is then one file write, microseconds where `docker unpause` costs
// milliseconds. Docker does not record such a freeze, so Inspect and List read the freezer of
// running containers to report them paused, and Stop thaws a frozen one first. Anything else
// (another machine's engine, no freezer in this process's view, a refused write,
// Config.DockerPause) goes through `docker pause/unpause`, and so does a container Docker
// itself paused.
//
// Watch (events.go) follows Docker's event stream for the instance containers (start, die, oom,
// pause, unpause, destroy), so that the node need not list them on a timer to notice one that
// died behind hearth's back.
//
// It talks to the engine with github.com/docker/docker/client (v28, API version negotiated, so
// Debian 12's engine at API 1.41 works) and keeps no state of its own but caches of what cannot
// change: names and labels on the engine's containers are the truth, so a restarted node finds
// its instances with List.
//
// Error vocabulary: an engine that cannot be reached, or that does not answer within
// Config.OpTimeout, is driver.ErrUnavailable ("cannot reach Docker at unix:///var/run/docker.sock:
// ..."); Docker's not-found is driver.ErrInstanceNotFound or driver.ErrImageNotFound depending on
// what was looked up. Every call but Logs carries a per-operation timeout derived from the
// caller's ctx; a log stream lives as long as the caller's ctx.
//
// In hearth the driver runs inside a plugin process (`hearth __driver docker`, see
// agent/driver/plugin); nothing in it depends on that.
//
// Where to read next: agent/driver (the contract), agent/driver/drivertest (the suite its
// integration tests run), internal/testimage (the image they run).
package docker
