// Package instance is the shared vocabulary of the node side: what the scheduler asks a node to
// run (Spec), what a driver hands back (Instance) and what it reports later (Status).
//
// It imports only the standard library so that the driver plugins, the node agent and the
// scheduler can all speak it without depending on each other.
package instance

import "time"

// Label keys put on every container (or job) hearth creates. The owner label is what the node
// reconciles on: anything carrying it that the node does not know is removed at start.
const (
	LabelOwner    = "hearth.owner"
	LabelNode     = "hearth.node"
	LabelFunction = "hearth.function"
	LabelVersion  = "hearth.version"
	LabelInstance = "hearth.instance"

	// OwnerValue is the value of LabelOwner on everything hearth creates.
	OwnerValue = "hearth"
)

// Resources is what an instance reserves on its node. Zero means "no limit".
type Resources struct {
	MemoryMB int64 `json:"memory_mb"`
	CPUMilli int64 `json:"cpu_milli"`
}

// Spec describes one instance to start. It is a plain value: the scheduler fills it in, the node
// adds its own labels, and the driver turns it into a container.
type Spec struct {
	// ID is assigned by the scheduler and unique per node; drivers derive the container name from
	// it ("hearth-<ID>").
	ID       string            `json:"id"`
	Function string            `json:"function"`
	Version  int               `json:"version"`
	Image    string            `json:"image"` // a content-hash tag, never ":latest"
	Env      map[string]string `json:"env,omitempty"`
	// Port is the port the instance serves HTTP on inside the container ($PORT).
	Port      int               `json:"port"`
	Resources Resources         `json:"resources"`
	Labels    map[string]string `json:"labels,omitempty"`
	// Security is how the instance is confined. Its zero value is the hardened default.
	Security Security `json:"security"`
	// Secrets are the function's secret values, decrypted for this start; SecretsAs says how
	// the instance gets them (SecretsFiles, the default when empty, or SecretsEnv). A driver
	// that cannot deliver them as asked fails the start.
	Secrets   SecretValues `json:"secrets,omitempty"`
	SecretsAs string       `json:"secrets_as,omitempty"`
}

// Security is how an instance is confined: what its process may do and reach. Every zero field
// is the strictest setting (or the driver's default bound); a function relaxes one in func.yaml.
// docs/operator/security.md says what each one stops.
type Security struct {
	// User is who the process runs as: empty for the image's own user unless that is root, and
	// an unprivileged uid (65534:65534) otherwise; "root" for uid 0; or a numeric "UID[:GID]".
	User string `json:"user,omitempty"`
	// WritableRoot leaves the root filesystem writable; otherwise it is read-only and only a
	// tmpfs at /tmp can be written.
	WritableRoot bool `json:"writable_root,omitempty"`
	// TmpSizeMB is the size of the tmpfs at /tmp (0: the driver's default, 64).
	TmpSizeMB int64 `json:"tmp_size_mb,omitempty"`
	// PidsLimit bounds the processes and threads of the instance (0: the driver's default, 512).
	PidsLimit int `json:"pids_limit,omitempty"`
	// NoFile is the limit on open file descriptors (0: the driver's default, 4096).
	NoFile int `json:"nofile,omitempty"`
	// CapAdd are the Linux capabilities kept, by name without "CAP_"; every other one is
	// dropped. Only a root process gets them.
	CapAdd []string `json:"cap_add,omitempty"`
	// Network is "" for the node's instance network (outbound traffic allowed) or NetworkNone:
	// reachable from the node, able to reach nothing.
	Network string `json:"network,omitempty"`
}

// NetworkNone is the Security.Network of an instance that may open no connection anywhere.
const NetworkNone = "none"

// Instance is a started instance as the driver reports it.
type Instance struct {
	ID string `json:"id"`
	// DriverRef is the driver's own handle: a container ID, a Nomad allocation ID.
	DriverRef string `json:"driver_ref"`
	// Endpoint is host:port, reachable from the scheduler, where the instance serves HTTP.
	Endpoint  string    `json:"endpoint"`
	StartedAt time.Time `json:"started_at"`
}

// State is the driver-level state of an instance. The pool keeps its own, richer state machine on
// top of this (idle, busy, draining...).
type State string

// Driver-level states.
const (
	StateStarting State = "starting"
	StateRunning  State = "running"
	StatePaused   State = "paused"
	StateExited   State = "exited"
	StateUnknown  State = "unknown"
)

// Status is what a driver knows about one instance.
type Status struct {
	Instance  Instance          `json:"instance"`
	Function  string            `json:"function"`
	State     State             `json:"state"`
	ExitCode  int               `json:"exit_code"`
	OOMKilled bool              `json:"oom_killed"`
	Reason    string            `json:"reason,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
}
