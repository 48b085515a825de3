// Package docker is the Docker Engine driver: each instance is a container named
// "hearth-<id>", labelled with hearth's owner label, on an instance network, whose IP there
// (no published port) is the instance's endpoint.
//
// Every container is hardened (security.go: non-root, no capabilities, no-new-privileges, a
// read-only root with a bounded /tmp, PID and open-file limits, no swap, an init, no mounts) as
// far as the spec's instance.Security does not relax it. Instances join networks the driver
// makes (network.go): a bridge with traffic between containers off, and an internal one for
// functions without outbound traffic; the host's own ports are closed to both by iptables rules
// (firewall.go), so the driver needs root. Images are never pulled but from Config.Registry,
// with its credentials when configured (image.go): the server's builder pushes them there.
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
