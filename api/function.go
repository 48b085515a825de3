package api

import "time"

// FunctionSpec is what a developer declares about a function (func.yaml, parsed by
// runtimes/funcfile, or the API). Zero values mean "the server's default"; the defaults are
// filled in by WithDefaults and documented in docs/user/func-yaml.md.
type FunctionSpec struct {
	Name    string `json:"name"`
	Runtime string `json:"runtime"`
	// Label is the developer's own version string (func.yaml "version", e.g. "0.1.0"); hearth's
	// own version numbers are Version.Number.
	Label string `json:"label,omitempty"`
	// Handler names the entry point where a runtime needs one (e.g. "main.handle" in Python).
	Handler string `json:"handler,omitempty"`

	// MemoryMB and CPUMilli are "memory" (megabytes) and "cpu" ("500m") in JSON, as in
	// func.yaml: spec_json.go writes them, and also reads the old "memory_mb"/"cpu_milli".
	MemoryMB int64 `json:"-"`
	CPUMilli int64 `json:"-"`
	// Timeout bounds one call; past it the call is cut off with 504 and the instance replaced.
	Timeout Duration `json:"timeout"`
	// IdleTimeout is how long an instance may sit unused before it is paused (or stopped, on a
	// driver that cannot pause).
	IdleTimeout Duration `json:"idle_timeout"`
	// PauseTimeout is how long an instance may stay paused before it is stopped.
	PauseTimeout Duration `json:"pause_timeout"`
	// Concurrency is how many calls one instance takes at once.
	Concurrency  int `json:"concurrency"`
	MinInstances int `json:"min_instances"`
	MaxInstances int `json:"max_instances"`
	// Queue bounds the calls that may wait for a free slot; past it a call gets 503 with
	// Retry-After.
	Queue int `json:"queue"`

	// Env is set in every instance's environment.
	Env map[string]string `json:"env,omitempty"`

	// Public lets anyone call the function through the front door without a token; a
	// function is private (an invoker token for it is needed) unless it says so.
	Public bool `json:"public,omitempty"`

	// The instance's hardening. Each zero value is the secure default; docs/user/func-yaml.md
	// and docs/operator/security.md say what each one stops and why a function may relax it.

	// User is who the function's process runs as: empty for the image's USER when that is not
	// root, else DefaultUser; "root" (or uid 0) when the function asks for root; otherwise a
	// numeric "UID" or "UID:GID".
	User string `json:"user,omitempty"`
	// WritableRoot lets the function write to its root filesystem; by default only /tmp is
	// writable.
	WritableRoot bool `json:"writable_root,omitempty"`
	// TmpSizeMB bounds the tmpfs mounted at /tmp. Its pages count against MemoryMB.
	TmpSizeMB int64 `json:"tmp_size_mb,omitempty"`
	// PidsLimit bounds the processes and threads the instance may have at once.
	PidsLimit int `json:"pids_limit,omitempty"`
	// NoFile is the instance's limit on open file descriptors (RLIMIT_NOFILE).
	NoFile int `json:"nofile,omitempty"`
	// CapAdd are Linux capabilities given back (every one is dropped by default), such as
	// "NET_BIND_SERVICE"; they take effect for a function that runs as root.
	CapAdd []string `json:"cap_add,omitempty"`
	// Network is the instance's network: empty for hearth's network with outbound traffic
	// allowed, NetworkNone for no outbound traffic at all (hearth still reaches the instance).
	Network string `json:"network,omitempty"`

	// SecretsAs is how instances get the function's secrets (hearth secret set): SecretsFiles
	// (the default when empty) as files under /run/secrets, or SecretsEnv as environment
	// variables.
	SecretsAs string `json:"secrets_as,omitempty"`

	// Constraints are node labels an instance's node must carry, each with exactly the value
	// given (func.yaml `constraints: {zone: a}`); none means any node.
	Constraints map[string]string `json:"constraints,omitempty"`

	// Triggers are the function's cron triggers (func.yaml `triggers`; docs/user/triggers.md).
	Triggers []Trigger `json:"triggers,omitempty"`
}

// Values of FunctionSpec.User and FunctionSpec.Network with a meaning of their own.
const (
	// UserRoot runs the function as uid 0 (still with no capabilities but CapAdd).
	UserRoot = "root"
	// DefaultUser is the uid:gid a function runs as when its image names no user, or root:
	// nobody:nogroup on Debian, owning no file in any image.
	DefaultUser = "65534:65534"
	// NetworkNone cuts the instance off from every network but the link hearth calls it on.
	NetworkNone = "none"
)

// Defaults for FunctionSpec fields left at zero.
const (
	DefaultMemoryMB     = 128
	DefaultTimeout      = Duration(30 * time.Second)
	DefaultIdleTimeout  = Duration(30 * time.Second)
	DefaultPauseTimeout = Duration(5 * time.Minute)
	DefaultQueue        = 100
	DefaultConcurrency  = 1
	DefaultMaxInstances = 10
	// DefaultTmpSizeMB is the size of /tmp, or the function's memory when that is smaller.
	DefaultTmpSizeMB = 64
	DefaultPidsLimit = 512
	DefaultNoFile    = 4096
)

// WithDefaults returns s with every zero field set to its default.
func (s FunctionSpec) WithDefaults() FunctionSpec {
	if s.MemoryMB == 0 {
		s.MemoryMB = DefaultMemoryMB
	}
	if s.Timeout == 0 {
		s.Timeout = DefaultTimeout
	}
	if s.IdleTimeout == 0 {
		s.IdleTimeout = DefaultIdleTimeout
	}
	if s.PauseTimeout == 0 {
		s.PauseTimeout = DefaultPauseTimeout
	}
	if s.Queue == 0 {
		s.Queue = DefaultQueue
	}
	if s.Concurrency == 0 {
		s.Concurrency = DefaultConcurrency
	}
	if s.MaxInstances == 0 {
		s.MaxInstances = DefaultMaxInstances
	}
	if s.TmpSizeMB == 0 {
		// /tmp's pages are charged to the instance's memory: more than that could never be used.
		s.TmpSizeMB = DefaultTmpSizeMB
		if s.MemoryMB > 0 && s.MemoryMB < s.TmpSizeMB {
			s.TmpSizeMB = s.MemoryMB
		}
	}
	if s.PidsLimit == 0 {
		s.PidsLimit = DefaultPidsLimit
	}
	if s.NoFile == 0 {
		s.NoFile = DefaultNoFile
	}
	return s
}

// Function is a deployed function as the API reports it: its current version and, from
// GET /v1/functions/{name}, its pool.
type Function struct {
	Name string `json:"name"`
	// Version is the current version: the one that takes calls.
	Version   Version   `json:"version"`
	URL       string    `json:"url"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// Pool is present on a single-function GET only.
	Pool *PoolStatus `json:"pool,omitempty"`
	// Cost is what keeping its instances cost and bought (cost.go); single-function GET only.
	Cost *FunctionCost `json:"cost,omitempty"`
	// Secrets are the keys of the function's secrets, never their values; on a
	// single-function GET only (Version.Spec.SecretsAs says how instances get them).
	Secrets []string `json:"secrets,omitempty"`
	// DefaultAlias is the alias /invoke/NAME follows; "" when it calls the current version.
	DefaultAlias string `json:"default_alias,omitempty"`
	// Aliases are the function's aliases; present on a single-function GET only.
	Aliases []Alias `json:"aliases,omitempty"`
}

// Version is one deployed build of a function. Numbers start at 1 and only grow.
type Version struct {
	Number int          `json:"number"`
	Image  string       `json:"image"`
	Spec   FunctionSpec `json:"spec"`
	// SourceHash is the content hash of the uploaded source and runtime template; equal hashes
	// share an image.
	SourceHash string    `json:"source_hash"`
	CreatedAt  time.Time `json:"created_at"`
	// Current is true on the current version in GET /v1/functions/{name}/versions.
	Current bool `json:"current,omitempty"`
	// Aliases name the aliases that route calls to this version, in the version list.
	Aliases []string `json:"aliases,omitempty"`
}

// FunctionList is the body of GET /v1/functions: a page of functions sorted by name. Next,
// when set, is the cursor of the following page (pass it as ?after=); the last page has none.
type FunctionList struct {
	Items []Function `json:"items"`
	Next  string     `json:"next,omitempty"`
}

// VersionList is the body of GET /v1/functions/{name}/versions: a page of versions, newest
// first. Next, when set, is the cursor of the following page (pass it as ?after=): the number
// of the page's oldest version.
type VersionList struct {
	Items []Version `json:"items"`
	Next  string    `json:"next,omitempty"`
}

// Paging of the function and version lists (?limit=): a page holds DefaultListLimit items
// unless the request asks for another number, up to MaxListLimit.
const (
	DefaultListLimit = 100
	MaxListLimit     = 1000
)

// PoolStatus is a function's instances as the pool sees them.
type PoolStatus struct {
	Instances []InstanceStatus `json:"instances"`
}

// InstanceStatus is one instance of a function in the pool.
type InstanceStatus struct {
	ID        string    `json:"id"`
	Version   int       `json:"version"`
	State     string    `json:"state"`
	Endpoint  string    `json:"endpoint"`
	InFlight  int       `json:"in_flight"`
	StartedAt time.Time `json:"started_at"`
	LastUsed  time.Time `json:"last_used"`
	// PausedAt is when the instance was paused; zero unless State is "paused".
	PausedAt time.Time `json:"paused_at,omitempty"`
	// Node is the node the instance runs on, and Placement why the placer chose it.
	Node      string `json:"node,omitempty"`
	Placement string `json:"placement,omitempty"`
}
