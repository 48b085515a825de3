// Package nomad is the Nomad driver: each instance is a Nomad job "hearth-<id>" with one group
// and one docker task, placed by Nomad anywhere in its cluster. The whole cluster is one hearth
// node: hearth does not second-guess where Nomad puts an instance.
//
// The job (job.go) is a service that Nomad neither restarts, reschedules nor replaces, and that
// has no deployment: hearth replaces a failed instance itself, with a new instance. It runs the
// function's image (a content-hash tag; Nomad would always pull ":latest"), reserves the
// function's memory and CPU (millicores converted to Nomad's MHz by the cluster's MHz per
// core, see Config.CPUMHzPerCore), maps one dynamic port "http" to $PORT, and carries the
// spec's labels as its meta, which is how List knows hearth's jobs and which node started them.
// The confinement of instance.Security goes into the docker task's config as on the Docker
// driver: no capabilities, no-new-privileges, a read-only root with a bounded /tmp, PID and
// open-file limits, an init, an unprivileged user.
//
// Start (start.go) registers the job and follows its evaluation and allocation with blocking
// queries until the task runs: the endpoint is the allocation's host address and mapped port.
// A placement Nomad cannot make fails at once with driver.ErrNoCapacity and Nomad's reason; an
// image the client cannot pull is driver.ErrImageNotFound; either way the job is purged. Stop
// stops the job, waits for its allocation to end, and purges it.
//
// A watcher (watch.go) keeps a view of hearth's jobs and their allocations (view.go) with two
// loops of blocking queries, so that List and Inspect, which the pool calls every few seconds,
// cost no request per instance, and an allocation that fails or is killed shows within one
// round trip. The view is also updated by the driver's own writes, so that List agrees with
// Start and Stop at once. While a query fails, List and Inspect ask Nomad directly.
//
// Watch (events.go) implements driver.Watcher on that view, with no request of its own: a
// Resync once both lists have answered, then, at each change of the view, one event per
// instance whose state changed since the last (running, exited with its exit code and cause
// when its allocation is terminal, Gone when its job is gone). It ends with the watcher's
// error as soon as a query fails (driver.ErrUnavailable when Nomad cannot be reached), so that
// the pool lists the node while the view is not current.
//
// Logs (logs.go) come from Nomad's allocation logs API, as plain text. Nomad keeps no time per
// line, so Timestamps stamps lines as they are read and Since selects only lines written from
// the call on.
//
// What differs from Docker: no pause (Capabilities.Pause is false: the pool stops idle instances
// instead), no image cache on the node (Capabilities.Images is false: Nomad's clients pull),
// no instance network of hearth's (a function that asks for network "none" cannot run here:
// driver.ErrNotSupported), and Stop's grace is the job's kill timeout, fixed at Start.
//
// Error vocabulary: a Nomad that cannot be reached, that does not answer within
// Config.OpTimeout, or that has no leader is driver.ErrUnavailable ("cannot reach Nomad at
// http://...: ..."); a job that is not there, or is not hearth's, is driver.ErrInstanceNotFound.
//
// The driver reads no environment: cmd/hearth fills Config from flags and the NOMAD_*
// variables. It runs inside a plugin process (`hearth __driver nomad`, see agent/driver/plugin).
//
// Where to read next: agent/driver (the contract), agent/driver/docker (the driver this one
// mirrors), agent/driver/drivertest (the suite its integration tests run), internal/nomadtest
// and scripts/nomad.sh (the dev agent they run against).
package nomad
