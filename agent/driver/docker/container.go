package docker

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"net"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/go-connections/nat"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
)

const (
	// namePrefix makes an instance's container name: "hearth-<id>". Besides marking the
	// container as hearth's, it keeps a name lookup from ever matching a container ID prefix
	// (IDs are hex; "h" is not).
	namePrefix = "hearth-"
	// labelPort records the instance's port on its container, because the list API does not
	// return a container's environment and List must report endpoints too.
	labelPort = "hearth.port"
	// labelPublish records the host address an instance's port is published on
	// (Config.PublishAddr when it started), so that its endpoint is read back from the same
	// binding by every Inspect and List, whatever the driver's configuration is by then.
	labelPublish = "hearth.publish"
	// defaultPort is the function contract's default $PORT (runtimes/contract.DefaultPort);
	// drivers do not import the runtimes tree.
	defaultPort = 8080
)

// hostnameLabel matches the ids usable as a container's hostname (an RFC 1123 label).
var hostnameLabel = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$`)

func containerName(id string) string { return namePrefix + id }

// Start creates and starts the container "hearth-<id>", hardened as spec.Security says (see
// harden), on the instance network (network.go), and returns its endpoint: its IP there, or
// with Config.PublishAddr the host port its port is published on. It removes the container
// again if anything after the create fails, and also when the create itself ran out of time,
// because Docker may have created it anyway.
func (d *Driver) Start(ctx context.Context, spec instance.Spec) (instance.Instance, error) {
	if spec.ID == "" {
		return instance.Instance{}, errors.New("start: empty instance id")
	}
	if d.cfg.PublishAddr != "" && spec.Security.Network == instance.NetworkNone {
		// Docker publishes no port of a container that is only on an internal network, and
		// the container IP is no endpoint for a node that publishes: it is not routed to.
		return instance.Instance{}, fmt.Errorf("start %s: a function with network: none cannot run on a node that publishes instance ports on %s (Docker publishes no port on an internal network): %w",
			spec.ID, d.cfg.PublishAddr, driver.ErrNotSupported)
	}
	if spec.Port == 0 {
		spec.Port = defaultPort
	}
	user, err := d.runAs(ctx, spec)
	if err != nil {
		return instance.Instance{}, fmt.Errorf("start %s: %w", spec.ID, err)
	}
	// A container made ahead by Prepare for these options only needs starting (prepare.go).
	if d.prep.take(spec.ID) {
		if inst, ok := d.startPrepared(ctx, spec, user); ok {
			return inst, nil
		}
	}
	// Twice at most: a network removed behind the driver's back is made again.
	for attempt := 0; ; attempt++ {
		netw, err := d.instanceNetwork(ctx, spec.Security)
		if err != nil {
			return instance.Instance{}, fmt.Errorf("start %s: %w", spec.ID, err)
		}
		inst, err := d.createAndStart(ctx, spec, netw, user)
		if err != nil && attempt == 0 && netw.managed && errors.Is(err, errNetworkGone) {
			d.forgetNetwork(netw.name)
			continue
		}
		if err != nil && attempt == 0 && d.preparedInTheWay(ctx, spec.ID, err) {
			continue // prepare.go: one an earlier driver process prepared
		}
		return inst, err
	}
}

// createAndStart creates the container and starts it; on error nothing is left behind.
func (d *Driver) createAndStart(ctx context.Context, spec instance.Spec, netw netInfo, user string) (_ instance.Instance, err error) {
	name := containerName(spec.ID)
	cfg, hostCfg := d.containerConfig(spec, netw, user)
	if secretsFiles(spec) {
		m, werr := d.writeSecrets(spec, user)
		if werr != nil {
			return instance.Instance{}, fmt.Errorf("start %s: %w", spec.ID, werr)
		}
		hostCfg.Mounts = append(hostCfg.Mounts, m)
		defer func() {
			if err != nil {
				d.removeSecrets(spec.ID)
			}
		}()
	}
	octx, cancel := d.opCtx(ctx)
	created, err := d.api.ContainerCreate(octx, cfg, hostCfg, nil, nil, name)
	cancel()
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			d.removeQuietly(ctx, name)
		}
		return instance.Instance{}, d.createErr(ctx, err, spec)
	}
	for _, w := range created.Warnings {
		d.cfg.Logger.Warn("docker create warning", "instance", spec.ID, "warning", w)
	}
	inst, err := d.startCreated(ctx, spec, created.ID)
	if err != nil {
		d.removeQuietly(ctx, created.ID)
		return instance.Instance{}, err
	}
	return inst, nil
}

// errNetworkGone marks a create or start that failed for want of the container's network.
var errNetworkGone = errors.New("network not found")

// createErr explains a failed create. Docker answers "not found" for a missing image and for a
// missing network alike, so the image is looked up to tell ErrImageNotFound (which says to
// deploy again) from a network that is gone.
func (d *Driver) createErr(ctx context.Context, err error, spec instance.Spec) error {
	if !isNotFound(err) {
		return d.wrapErr(ctx, err, nil, "start %s: create container from %s", spec.ID, spec.Image)
	}
	octx, cancel := d.opCtx(ctx)
	_, ierr := d.api.ImageInspect(octx, spec.Image)
	cancel()
	if isNotFound(ierr) {
		return fmt.Errorf("start %s: %w", spec.ID, d.imageMissing(spec.Image))
	}
	return fmt.Errorf("start %s: create container from %s: %w: %w", spec.ID, spec.Image, errNetworkGone, err)
}

// maxBindingWait bounds how long startCreated waits for a running container's published port
// to show in its inspect. Docker binds it before the start returns; this is for an engine that
// would report it late.
const maxBindingWait = 500 * time.Millisecond

// startCreated starts a created container and reads back its endpoint and start time.
func (d *Driver) startCreated(ctx context.Context, spec instance.Spec, containerID string) (instance.Instance, error) {
	octx, cancel := d.opCtx(ctx)
	defer cancel()
	if err := d.api.ContainerStart(octx, containerID, container.StartOptions{}); err != nil {
		if isNotFound(err) {
			// The container was just made: what is missing is its network, which Docker
			// looks up by ID only when the container starts.
			return instance.Instance{}, fmt.Errorf("start %s: %w: %w", spec.ID, errNetworkGone, err)
		}
		return instance.Instance{}, d.wrapErr(ctx, err, nil, "start %s", spec.ID)
	}
	var st instance.Status
	for begin, wait := time.Now(), 5*time.Millisecond; ; wait *= 2 {
		info, err := d.api.ContainerInspect(octx, containerID)
		if err != nil {
			return instance.Instance{}, d.wrapErr(ctx, err, nil, "start %s: inspect", spec.ID)
		}
		st = d.statusFromInspect(spec.ID, info)
		if st.Instance.Endpoint != "" || st.Labels[labelPublish] == "" || st.State != instance.StateRunning ||
			time.Since(begin) >= maxBindingWait {
			break
		}
		select {
		case <-octx.Done():
			return instance.Instance{}, d.wrapErr(ctx, octx.Err(), nil, "start %s: wait for its published port", spec.ID)
		case <-time.After(wait):
		}
	}
	if st.Instance.Endpoint == "" {
		where := fmt.Sprintf("no address on network %q", st.Labels[labelNetwork])
		if addr := st.Labels[labelPublish]; addr != "" {
			where = fmt.Sprintf("no port %s/tcp published on %s", st.Labels[labelPort], addr)
		}
		return instance.Instance{}, fmt.Errorf("start %s: container has %s (state %s, exit code %d)",
			spec.ID, where, st.State, st.ExitCode)
	}
	return st.Instance, nil
}

// instanceLogConfig is how the engine keeps an instance's output: Docker's "local" log driver,
// bounded to 3 files of 10 MB. The engine's default, json-file, keeps everything: an instance
// that stays warm and logs each call would fill the disk. hearth keeps its own copy of recent
// output (scheduler/logs), so the engine's only has to be readable (Logs) and bounded. Setting it
// per container also keeps Logs working when the daemon's default driver cannot be read back
// (syslog, fluentd, ...); "local" costs dockerd a little less CPU per followed line than
// json-file as well.
func instanceLogConfig() container.LogConfig {
	return container.LogConfig{Type: "local", Config: map[string]string{"max-size": "10m", "max-file": "3"}}
}

// containerConfig translates a spec into Docker's create options, for the network and user
// Start chose.
func (d *Driver) containerConfig(spec instance.Spec, netw netInfo, user string) (*container.Config, *container.HostConfig) {
	labels := maps.Clone(spec.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[instance.LabelOwner] = instance.OwnerValue
	labels[instance.LabelInstance] = spec.ID
	labels[labelPort] = strconv.Itoa(spec.Port)
	labels[labelNetwork] = netw.name
	if d.cfg.PublishAddr != "" {
		labels[labelPublish] = d.cfg.PublishAddr
	}
	if _, ok := labels[instance.LabelFunction]; !ok && spec.Function != "" {
		labels[instance.LabelFunction] = spec.Function
	}
	if _, ok := labels[instance.LabelVersion]; !ok && spec.Version != 0 {
		labels[instance.LabelVersion] = strconv.Itoa(spec.Version)
	}

	env := maps.Clone(spec.Env)
	if env == nil {
		env = map[string]string{}
	}
	secretEnv(env, spec)                  // secrets: env wins over an env entry of the same name
	env["PORT"] = strconv.Itoa(spec.Port) // set last: the contract's PORT wins over spec.Env
	envList := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		envList = append(envList, k+"="+env[k])
	}

	cfg := &container.Config{Image: spec.Image, Env: envList, Labels: labels, User: user}
	if hostnameLabel.MatchString(spec.ID) && netw.name != "host" {
		// The instance can tell which one it is (and tests which one answered).
		cfg.Hostname = spec.ID
	}
	hostCfg := &container.HostConfig{NetworkMode: container.NetworkMode(netw.mode)}
	if d.cfg.PublishAddr != "" {
		// An empty host port: Docker picks a free one (and tries others if binding it fails).
		p := nat.Port(strconv.Itoa(spec.Port) + "/tcp")
		cfg.ExposedPorts = nat.PortSet{p: {}}
		hostCfg.PortBindings = nat.PortMap{p: {{HostIP: d.cfg.PublishAddr}}}
	}
	hostCfg.Memory = spec.Resources.MemoryMB << 20
	hostCfg.NanoCPUs = spec.Resources.CPUMilli * 1_000_000
	hostCfg.LogConfig = instanceLogConfig()
	harden(hostCfg, spec.Security)
	return cfg, hostCfg
}

// removeQuietly force-removes a container that must not be left behind, on a ctx of its own:
// the caller's may be what just ended. Failures are logged, not returned: the node's
// reconciliation removes whatever carries the owner label and is unknown to it.
func (d *Driver) removeQuietly(ctx context.Context, nameOrID string) {
	rctx, cancel := d.opCtx(context.WithoutCancel(ctx))
	defer cancel()
	err := d.api.ContainerRemove(rctx, nameOrID, container.RemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !isNotFound(err) {
		d.cfg.Logger.Warn("cannot remove container after a failed start", "container", nameOrID, "error", err)
	}
}

// Pause freezes the instance's container: through its cgroup freezer where the driver can
// (freezer.go), else with docker pause.
func (d *Driver) Pause(ctx context.Context, id string) error {
	if done, err := d.freezePause(ctx, id); done {
		return err
	}
	octx, cancel := d.opCtx(ctx)
	defer cancel()
	if err := d.api.ContainerPause(octx, containerName(id)); err != nil {
		return d.wrapErr(ctx, err, driver.ErrInstanceNotFound, "pause %s", id)
	}
	return nil
}

// Resume thaws the instance's container: through its cgroup freezer when it was frozen there
// (freezer.go), else with docker unpause.
func (d *Driver) Resume(ctx context.Context, id string) error {
	if done, err := d.thawResume(ctx, id); done {
		return err
	}
	octx, cancel := d.opCtx(ctx)
	defer cancel()
	if err := d.api.ContainerUnpause(octx, containerName(id)); err != nil {
		return d.wrapErr(ctx, err, driver.ErrInstanceNotFound, "resume %s", id)
	}
	return nil
}

// Stop sends SIGTERM, gives the container grace (Config.StopGrace when grace is 0) before
// SIGKILL, and removes it. A paused container is thawed first: frozen, it could not act on
// SIGTERM and would always use up the whole grace.
func (d *Driver) Stop(ctx context.Context, id string, grace time.Duration) error {
	if grace == 0 {
		grace = d.cfg.StopGrace
	}
	name := containerName(id)
	octx, cancel := d.opCtx(ctx)
	info, err := d.api.ContainerInspect(octx, name)
	if err == nil && info.State != nil && info.State.Paused {
		err = d.api.ContainerUnpause(octx, name)
	} else if err == nil {
		d.thawForStop(id, info) // frozen through the freezer: Docker does not know
	}
	cancel()
	d.frz.forget(id, "")
	if err != nil {
		if isNotFound(err) {
			d.removeSecrets(id)
		}
		return d.wrapErr(ctx, err, driver.ErrInstanceNotFound, "stop %s", id)
	}

	secs := int(math.Ceil(grace.Seconds()))
	sctx, cancel := context.WithTimeout(ctx, grace+d.cfg.OpTimeout)
	err = d.api.ContainerStop(sctx, name, container.StopOptions{Timeout: &secs})
	cancel()
	if err != nil {
		return d.wrapErr(ctx, err, driver.ErrInstanceNotFound, "stop %s", id)
	}

	octx, cancel = d.opCtx(ctx)
	defer cancel()
	err = d.api.ContainerRemove(octx, name, container.RemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !isNotFound(err) { // not found: a concurrent Stop removed it; same outcome
		return d.wrapErr(ctx, err, nil, "stop %s: remove", id)
	}
	d.forgetPrepared(ctx, id, info) // prepare.go: its sandbox, if it was made ahead
	d.removeSecrets(id)
	return nil
}

// Inspect reports the container's state.
func (d *Driver) Inspect(ctx context.Context, id string) (instance.Status, error) {
	octx, cancel := d.opCtx(ctx)
	defer cancel()
	info, err := d.api.ContainerInspect(octx, containerName(id))
	if err != nil {
		return instance.Status{}, d.wrapErr(ctx, err, driver.ErrInstanceNotFound, "inspect %s", id)
	}
	st := d.statusFromInspect(id, info)
	d.pausedByFreezer(&st, info)
	return st, nil
}

// List reports every instance container carrying the hearth owner label, running or not. Its
// StartedAt is the container's creation time: the list API has no start time.
//
// It also requires the instance label, which Start always sets: labels of an image reach the
// containers made from it, so the builder's intermediate build containers carry the owner label
// too, and must not be mistaken for (and reconciled away as) unknown instances.
func (d *Driver) List(ctx context.Context) ([]instance.Status, error) {
	octx, cancel := d.opCtx(ctx)
	defer cancel()
	containers, err := d.api.ContainerList(octx, container.ListOptions{
		All: true,
		Filters: filters.NewArgs(
			filters.Arg("label", instance.LabelOwner+"="+instance.OwnerValue),
			filters.Arg("label", instance.LabelInstance),
		),
	})
	if err != nil {
		return nil, d.wrapErr(ctx, err, nil, "list")
	}
	list := make([]instance.Status, 0, len(containers))
	for _, c := range containers {
		list = append(list, d.statusFromSummary(c))
	}
	d.pausedInList(ctx, list)
	d.sweepSecrets(list)
	return list, nil
}

func (d *Driver) statusFromInspect(id string, info container.InspectResponse) instance.Status {
	st := instance.Status{Instance: instance.Instance{ID: id, DriverRef: info.ID}, State: instance.StateUnknown}
	if info.Config != nil {
		st.Labels = info.Config.Labels
		st.Function = st.Labels[instance.LabelFunction]
	}
	if s := info.State; s != nil {
		st.State = stateOf(s.Status, s.Paused)
		st.ExitCode = s.ExitCode
		st.OOMKilled = s.OOMKilled
		st.Reason = s.Error
		if st.Reason == "" && s.OOMKilled {
			st.Reason = "killed: out of memory"
		}
		if t, err := time.Parse(time.RFC3339Nano, s.StartedAt); err == nil && t.Year() > 1 {
			st.Instance.StartedAt = t
		}
	}
	var ip string
	var bound []binding
	if ns := info.NetworkSettings; ns != nil {
		if ep := ns.Networks[d.networkOf(st.Labels)]; ep != nil {
			ip = ep.IPAddress
		}
		for p, bs := range ns.Ports {
			for _, b := range bs {
				bound = append(bound, binding{port: p.Port(), proto: p.Proto(), hostIP: b.HostIP, hostPort: b.HostPort})
			}
		}
	}
	st.Instance.Endpoint = d.endpoint(ip, bound, st.Labels)
	return st
}

// networkOf is the network a container's endpoint is on: the one Start recorded, or the
// configured one for a container of an earlier version that recorded none.
func (d *Driver) networkOf(labels map[string]string) string {
	if n := labels[labelNetwork]; n != "" {
		return n
	}
	return d.cfg.Network
}

func (d *Driver) statusFromSummary(c container.Summary) instance.Status {
	st := instance.Status{
		Instance: instance.Instance{ID: c.Labels[instance.LabelInstance], DriverRef: c.ID, StartedAt: time.Unix(c.Created, 0)},
		Function: c.Labels[instance.LabelFunction],
		State:    stateOf(c.State, false),
		Labels:   c.Labels,
	}
	if st.State == instance.StateExited {
		st.ExitCode = exitCodeFromStatus(c.Status)
	}
	var ip string
	if c.NetworkSettings != nil {
		if ep := c.NetworkSettings.Networks[d.networkOf(c.Labels)]; ep != nil {
			ip = ep.IPAddress
		}
	}
	bound := make([]binding, 0, len(c.Ports))
	for _, p := range c.Ports {
		if p.PublicPort != 0 {
			bound = append(bound, binding{port: strconv.Itoa(int(p.PrivatePort)), proto: p.Type, hostIP: p.IP,
				hostPort: strconv.Itoa(int(p.PublicPort))})
		}
	}
	st.Instance.Endpoint = d.endpoint(ip, bound, c.Labels)
	return st
}

// binding is one published port of a container, as inspect and list both report it.
type binding struct {
	port, proto      string // the container's
	hostIP, hostPort string
}

// endpoint is where the container answers, from its labels: with a published port (label
// hearth.publish), the host address and port bound to its port; else its IP (ip; 127.0.0.1 on
// the host network) and its port. It is empty while there is none (created, exited).
func (d *Driver) endpoint(ip string, bound []binding, labels map[string]string) string {
	port := labels[labelPort]
	if port == "" {
		return ""
	}
	if addr := labels[labelPublish]; addr != "" {
		return publishedEndpoint(addr, port, bound)
	}
	if d.networkOf(labels) == "host" {
		ip = "127.0.0.1"
	}
	if ip == "" {
		ip = labels[labelIP] // a prepared instance's, on its sandbox's network (prepare.go)
	}
	if ip == "" {
		return ""
	}
	return net.JoinHostPort(ip, port)
}

// publishedEndpoint is addr and the host port bound there to port/tcp, or "" when there is
// none. Addresses are compared parsed: the engine may spell an IPv6 one otherwise.
func publishedEndpoint(addr, port string, bound []binding) string {
	want, err := netip.ParseAddr(addr)
	if err != nil {
		return ""
	}
	for _, b := range bound {
		if b.port != port || b.proto != "tcp" || b.hostPort == "" || b.hostPort == "0" {
			continue
		}
		if got, err := netip.ParseAddr(b.hostIP); err == nil && got.Unmap() == want.Unmap() {
			return net.JoinHostPort(addr, b.hostPort)
		}
	}
	return ""
}

// stateOf maps Docker's container states to the driver's.
func stateOf(status string, paused bool) instance.State {
	switch status {
	case container.StateCreated, container.StateRestarting:
		return instance.StateStarting
	case container.StateRunning:
		if paused {
			return instance.StatePaused
		}
		return instance.StateRunning
	case container.StatePaused:
		return instance.StatePaused
	case container.StateExited, container.StateDead, container.StateRemoving:
		return instance.StateExited
	}
	return instance.StateUnknown
}

// exitCodeFromStatus reads the code from a list entry's status text, "Exited (137) 5 seconds
// ago": the list API carries no exit code field, and an inspect per container would make List
// cost one call per instance.
func exitCodeFromStatus(status string) int {
	rest, ok := strings.CutPrefix(status, "Exited (")
	if !ok {
		return 0
	}
	code, _, ok := strings.Cut(rest, ")")
	if !ok {
		return 0
	}
	n, _ := strconv.Atoi(code)
	return n
}
