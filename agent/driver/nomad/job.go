package nomad

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
)

// The shape of every job the driver registers: one group with one task, named alike, whose
// one dynamic port carries the function's HTTP.
const (
	// jobPrefix makes an instance's job ID: "hearth-<id>". The watcher lists jobs by it.
	jobPrefix = "hearth-"
	// taskName names the job's group and its task; logs are read by the task's name.
	taskName = "fn"
	// portLabel is the dynamic port the function serves on, mapped to spec.Port in the
	// container.
	portLabel = "http"
	// defaultPort is the function contract's default $PORT; drivers do not import runtimes.
	defaultPort = 8080
)

// Resources an instance reserves when its spec leaves them at zero. Nomad has no "no limit":
// every task reserves some memory and CPU, which are what it places on.
const (
	// defaultMemoryMB is func.yaml's own default (api.DefaultMemoryMB).
	defaultMemoryMB = 128
	// defaultCPUMHz is Nomad's own default for a task's cpu: a share weight for scheduling, not
	// a limit, which is what "no CPU limit" means on Docker.
	defaultCPUMHz = 100
	// The task's logs: three files of 10 MB per stream, as the Docker driver keeps them.
	// hearth keeps its own copy of recent output (scheduler/logs).
	logFiles  = 3
	logFileMB = 10
	// ephemeralDiskMB is the node disk the allocation reserves: room for the logs of both
	// streams plus Nomad's alloc, local and secrets directories.
	ephemeralDiskMB = 100
)

// The hardening every instance gets (docs/operator/security.md), as in the Docker driver's
// security.go. A function relaxes some of it through instance.Security.
const (
	defaultTmpSizeMB = 64
	defaultPidsLimit = 512
	defaultNoFile    = 4096
	// unprivilegedUser is nobody:nogroup on Debian: a uid that owns nothing in any image.
	unprivilegedUser = "65534:65534"
	tmpPath          = "/tmp"
)

// hostnameLabel matches the ids usable as a container's hostname (an RFC 1123 label).
var hostnameLabel = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$`)

func jobID(id string) string { return jobPrefix + id }

// jobParams is what jobFor needs besides the spec: the driver's configuration and the CPU ratio
// of the cluster.
type jobParams struct {
	datacenters []string
	mhzPerCore  int64
	killTimeout time.Duration
	// auth is the docker task's auth block (registry credentials), or nil.
	auth map[string]any
}

// jobFor translates a spec into the service job "hearth-<id>":
//   - a service job, because an instance serves until it is stopped; with no restarts, no
//     rescheduling and no replacement of a lost allocation, because hearth replaces a failed
//     instance itself (a new instance, a new endpoint): a job that Nomad restarted elsewhere
//     would change its endpoint behind the pool's back;
//   - no update block (max_parallel 0), so no deployment and no health timer: Start returns
//     when the task runs, and readiness is the node's (GET /_/ready);
//   - one dynamic port, "http", mapped to spec.Port in the container, which is also $PORT;
//   - the spec's labels as the job's meta: Nomad's jobs carry no labels, and List reads them
//     back from there;
//   - the hardening of spec.Security in the docker task's config (see hardenTask).
func jobFor(spec instance.Spec, p jobParams) (*api.Job, error) {
	if spec.ID == "" {
		return nil, errors.New("empty instance id")
	}
	if err := checkImageRef(spec.Image); err != nil {
		return nil, err
	}
	if spec.Security.Network == instance.NetworkNone {
		// Fail closed: a function that asked to reach nothing must not run with a network.
		return nil, fmt.Errorf("network %q (no outbound connections) cannot be had on Nomad: its docker driver publishes the port only on a bridged network: %w",
			instance.NetworkNone, driver.ErrNotSupported)
	}
	if spec.Port == 0 {
		spec.Port = defaultPort
	}

	env := maps.Clone(spec.Env)
	if env == nil {
		env = map[string]string{}
	}
	env["PORT"] = strconv.Itoa(spec.Port) // set last: the contract's PORT wins over spec.Env

	mem := spec.Resources.MemoryMB
	if mem <= 0 {
		mem = defaultMemoryMB
	}
	memInt := int(mem)
	cpu, hardCPU := cpuMHz(spec.Resources.CPUMilli, p.mhzPerCore)

	cfg := map[string]any{
		"image": spec.Image,
		"ports": []string{portLabel},
		// Never pull an image the node has: tags are content hashes, so what is there is
		// what was asked for; and a node without a registry could not pull anyway.
		"force_pull": false,
	}
	if hardCPU {
		// The Docker driver limits CPU (NanoCPUs); Nomad's cpu is only a share weight unless
		// this is set.
		cfg["cpu_hard_limit"] = true
	}
	if p.auth != nil {
		cfg["auth"] = p.auth
	}
	if hostnameLabel.MatchString(spec.ID) {
		cfg["hostname"] = spec.ID // the instance can tell which one it is
	}
	hardenTask(cfg, spec.Security)

	task := &api.Task{
		Name:   taskName,
		Driver: "docker",
		User:   runAs(spec.Security.User),
		Config: cfg,
		Env:    env,
		Resources: &api.Resources{
			CPU:      &cpu,
			MemoryMB: &memInt,
		},
		KillTimeout: &p.killTimeout,
		LogConfig:   &api.LogConfig{MaxFiles: new(logFiles), MaxFileSizeMB: new(logFileMB)},
	}
	if err := addSecrets(task, cfg, spec, task.User); err != nil {
		return nil, err
	}
	group := &api.TaskGroup{
		Name:  new(taskName),
		Count: new(1),
		Tasks: []*api.Task{task},
		Networks: []*api.NetworkResource{{
			DynamicPorts: []api.Port{{Label: portLabel, To: spec.Port}},
		}},
		RestartPolicy:    &api.RestartPolicy{Attempts: new(0), Mode: new(api.RestartPolicyModeFail)},
		ReschedulePolicy: &api.ReschedulePolicy{Attempts: new(0), Unlimited: new(false)},
		Disconnect:       &api.DisconnectStrategy{Replace: new(false)},
		Update:           &api.UpdateStrategy{MaxParallel: new(0)},
		EphemeralDisk:    &api.EphemeralDisk{SizeMB: new(ephemeralDiskMB)},
	}
	id := jobID(spec.ID)
	job := &api.Job{
		ID:          &id,
		Name:        &id,
		Type:        new(api.JobTypeService),
		Datacenters: p.datacenters,
		Meta:        jobMeta(spec),
		TaskGroups:  []*api.TaskGroup{group},
	}
	return job, nil
}

// jobMeta is the job's meta: the spec's labels, plus those every instance carries.
func jobMeta(spec instance.Spec) map[string]string {
	meta := maps.Clone(spec.Labels)
	if meta == nil {
		meta = map[string]string{}
	}
	meta[instance.LabelOwner] = instance.OwnerValue
	meta[instance.LabelInstance] = spec.ID
	if _, ok := meta[instance.LabelFunction]; !ok && spec.Function != "" {
		meta[instance.LabelFunction] = spec.Function
	}
	if _, ok := meta[instance.LabelVersion]; !ok && spec.Version != 0 {
		meta[instance.LabelVersion] = strconv.Itoa(spec.Version)
	}
	return meta
}

// cpuMHz converts millicores to the MHz Nomad reserves, and says whether to make it a hard
// limit: a spec's CPU is a limit, as on Docker; none gets Nomad's default weight, unlimited.
func cpuMHz(milli, mhzPerCore int64) (int, bool) {
	if milli <= 0 {
		return defaultCPUMHz, false
	}
	mhz := (milli*mhzPerCore + 999) / 1000 // rounded up: never less than asked for
	return int(max(mhz, 1)), true
}

// hardenTask sets the confinement of sec in the docker task's config, as the Docker driver's
// harden does on a container (see its comment for what each setting stops):
//   - every capability dropped but sec.CapAdd, and no-new-privileges;
//   - a read-only root filesystem (unless WritableRoot) and a bounded tmpfs at /tmp;
//   - a PID limit, a limit on open files (soft and hard alike) and an init as PID 1.
//
// Nomad itself bind-mounts the allocation's alloc/, local/ and secrets/ directories, writable,
// into every task: those are the only other writable paths. Swap is already bounded: Nomad's
// docker driver sets swap equal to the memory limit.
func hardenTask(cfg map[string]any, sec instance.Security) {
	cfg["cap_drop"] = []string{"all"}
	if len(sec.CapAdd) > 0 {
		add := make([]string, 0, len(sec.CapAdd))
		for _, c := range sec.CapAdd {
			add = append(add, strings.ToLower(strings.TrimPrefix(strings.ToUpper(c), "CAP_")))
		}
		cfg["cap_add"] = add
	}
	cfg["security_opt"] = []string{"no-new-privileges"}
	cfg["readonly_rootfs"] = !sec.WritableRoot
	tmp := orDefault(sec.TmpSizeMB, defaultTmpSizeMB)
	cfg["mount"] = []map[string]any{{
		"type":   "tmpfs",
		"target": tmpPath,
		"tmpfs_options": map[string]any{
			"size": tmp << 20,
			"mode": 0o1777,
		},
	}}
	cfg["pids_limit"] = orDefault(sec.PidsLimit, defaultPidsLimit)
	nofile := orDefault(sec.NoFile, defaultNoFile)
	cfg["ulimit"] = []map[string]string{{"nofile": fmt.Sprintf("%d:%d", nofile, nofile)}}
	cfg["init"] = true
}

// runAs is the task's user. Nomad's clients have the image, not the driver, so an image's own
// USER cannot be looked at as the Docker driver does: without a user from the function, the
// instance runs as the unprivileged user, whatever the image says. A numeric uid with no group
// gets the group of the same number (Docker would give it root's group).
func runAs(u string) string {
	switch {
	case u == "":
		return unprivilegedUser
	case u == "root":
		return "0:0" // numeric: an image FROM scratch has no /etc/passwd
	case !strings.Contains(u, ":"):
		return u + ":" + u
	}
	return u
}

// checkImageRef refuses references Nomad's docker driver would always pull: no tag, or
// ":latest". Function images are tagged with a content hash, so such a reference is a mistake
// somewhere upstream, and a node without a registry would fail the pull anyway.
func checkImageRef(ref string) error {
	if ref == "" {
		return errors.New("empty image reference")
	}
	name := ref
	if i := strings.Index(name, "@"); i >= 0 {
		return nil // pinned by digest: never re-pulled
	}
	// The tag is after the last colon that follows the last slash (a registry may have a port).
	last := name[strings.LastIndex(name, "/")+1:]
	tag := ""
	if i := strings.LastIndex(last, ":"); i >= 0 {
		tag = last[i+1:]
	}
	if tag == "" || tag == "latest" {
		return fmt.Errorf("image %s has no tag but latest: Nomad always pulls such an image; function images are tagged with a content hash", ref)
	}
	return nil
}

func orDefault[T int | int64](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}
