package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
)

// This file makes instances ahead of their start (driver.Preparer). Measured on the bench
// machine (docs/performance.md, "Containers created ahead"), a cold start's engine time is
// almost all in the start, not the create: create ~15-50 ms, start ~250-450 ms, of which the
// network sandbox (namespace, veth pair, bridge port, IP) is most; a start that joins the
// namespace of a running container takes ~100 ms. So Prepare does both ahead:
//
//   - a sandbox container, "hearth-sb-<id>": a static 9-byte program that calls pause(2)
//     forever, on the instance network, with the instance's hostname. It holds the network
//     namespace (and so the IP) and almost no memory (no heap; ~100 KB of kernel pages);
//   - the instance container, created (not started) with network mode container:<sandbox>,
//     labelled with a hash of the create options Start would use (labelConfig) and the
//     sandbox's IP (labelIP: Docker reports no network of a container that joins another's).
//
// Start then only starts the container when its hash matches; any mismatch or failure
// removes both and falls back to create + start. Stop removes the sandbox with the instance.
// Where a sandbox cannot be made (published ports, another architecture), Prepare creates the
// container alone on the instance network, which saves the create only.

const (
	// labelConfig is the hash of the create options a prepared container was made with.
	labelConfig = "hearth.config"
	// labelIP is the instance's IP on its network, on a container that joins its sandbox's.
	labelIP = "hearth.ip"
	// labelSandbox names the sandbox container on a prepared instance's container, and the
	// instance id on the sandbox itself. A sandbox carries no instance label: List must not
	// report it as an instance.
	labelSandbox = "hearth.sandbox"
	// sandboxImage is the image of sandboxes, imported by the driver from sandboxProgram.
	sandboxImage = "hearth/sandbox:1"
	// sandboxPrefix makes a sandbox's container name: "hearth-sb-<id>".
	sandboxPrefix = "hearth-sb-"
	// sweepEvery bounds how often Prepare looks for sandboxes whose instance is gone.
	sweepEvery = time.Minute
)

// ErrNotPrepared is returned by Prepare for a spec it does not make ahead (secrets as files:
// their values are written at start).
var ErrNotPrepared = errors.New("instance not prepared")

var _ driver.Preparer = (*Driver)(nil)

// prepState is the driver's memory of what it prepared: the ids (so that a Start of any other
// instance costs no extra inspect), whether the sandbox image is there, when the last sweep ran.
// The rest is on the engine (labels). A driver restarted between a Prepare and its Start does not
// know the prepared container: that Start's create fails on the name, and the pool's start
// failure path and health check remove it (an unknown container carrying the owner label).
type prepState struct {
	mu        sync.Mutex
	ids       map[string]bool
	imageOK   bool
	imageErr  error
	sweptAt   time.Time
	sweepOnce sync.Mutex
}

func sandboxName(id string) string { return sandboxPrefix + id }

// remember records that id was prepared.
func (p *prepState) remember(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ids == nil {
		p.ids = map[string]bool{}
	}
	p.ids[id] = true
}

// take reports whether id was prepared, and forgets it: a prepared container is started once.
func (p *prepState) take(id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	ok := p.ids[id]
	delete(p.ids, id)
	return ok
}

// forgetPrepared is Stop's part: it forgets id and removes its sandbox, if it has one (info is
// the inspect of its container, as Stop read it).
func (d *Driver) forgetPrepared(ctx context.Context, id string, info container.InspectResponse) {
	d.prep.take(id)
	if info.Config != nil && info.Config.Labels[labelSandbox] != "" {
		d.removeSandbox(ctx, id)
	}
}

// Prepare implements driver.Preparer: it creates spec's instance (and its sandbox) without
// starting it. A container of the id left from an earlier Prepare is replaced.
func (d *Driver) Prepare(ctx context.Context, spec instance.Spec) (err error) {
	if spec.ID == "" {
		return errors.New("prepare: empty instance id")
	}
	if secretsFiles(spec) {
		return fmt.Errorf("prepare %s: secrets as files are written at start: %w", spec.ID, ErrNotPrepared)
	}
	if d.cfg.PublishAddr != "" && spec.Security.Network == instance.NetworkNone {
		return fmt.Errorf("prepare %s: %w", spec.ID, driver.ErrNotSupported)
	}
	if spec.Port == 0 {
		spec.Port = defaultPort
	}
	d.sweepSandboxes(ctx)
	d.removePrepared(ctx, spec.ID)
	user, err := d.runAs(ctx, spec)
	if err != nil {
		return fmt.Errorf("prepare %s: %w", spec.ID, err)
	}
	netw, err := d.instanceNetwork(ctx, spec.Security)
	if err != nil {
		return fmt.Errorf("prepare %s: %w", spec.ID, err)
	}
	cfg, hostCfg := d.containerConfig(spec, netw, user)
	cfg.Labels[labelConfig] = configHash(cfg, hostCfg)
	defer func() {
		if err != nil {
			d.removePrepared(ctx, spec.ID)
		}
	}()
	if d.cfg.PublishAddr == "" && netw.name != "host" && d.ensureSandboxImage(ctx) == nil {
		ip, err := d.startSandbox(ctx, spec, netw, cfg.Hostname)
		if err != nil {
			return fmt.Errorf("prepare %s: sandbox: %w", spec.ID, err)
		}
		cfg.Labels[labelIP] = ip
		cfg.Labels[labelSandbox] = sandboxName(spec.ID)
		cfg.Hostname = "" // Docker takes the sandbox's; it refuses one of its own here
		hostCfg.NetworkMode = container.NetworkMode("container:" + sandboxName(spec.ID))
	}
	octx, cancel := d.opCtx(ctx)
	defer cancel()
	created, err := d.api.ContainerCreate(octx, cfg, hostCfg, nil, nil, containerName(spec.ID))
	if err != nil {
		return d.wrapErr(ctx, err, nil, "prepare %s: create container from %s", spec.ID, spec.Image)
	}
	for _, w := range created.Warnings {
		d.cfg.Logger.Warn("docker create warning", "instance", spec.ID, "warning", w)
	}
	d.prep.remember(spec.ID)
	return nil
}

// startPrepared starts spec's prepared container when there is one made for the same create
// options. ok is false when there is none, or it did not start: then nothing of it is left and
// the caller creates the instance as usual.
func (d *Driver) startPrepared(ctx context.Context, spec instance.Spec, user string) (_ instance.Instance, ok bool) {
	octx, cancel := d.opCtx(ctx)
	info, err := d.api.ContainerInspect(octx, containerName(spec.ID))
	cancel()
	if err != nil {
		if !isNotFound(err) {
			d.removePrepared(ctx, spec.ID)
		}
		return instance.Instance{}, false
	}
	if info.Config == nil || info.State == nil || info.State.Status != container.StateCreated ||
		info.Config.Labels[labelConfig] == "" {
		d.removePrepared(ctx, spec.ID)
		return instance.Instance{}, false
	}
	netw, err := d.instanceNetwork(ctx, spec.Security)
	if err != nil {
		d.removePrepared(ctx, spec.ID)
		return instance.Instance{}, false
	}
	cfg, hostCfg := d.containerConfig(spec, netw, user)
	if info.Config.Labels[labelConfig] != configHash(cfg, hostCfg) {
		d.cfg.Logger.Info("prepared instance does not match its start; creating it afresh", "instance", spec.ID)
		d.removePrepared(ctx, spec.ID)
		return instance.Instance{}, false
	}
	inst, err := d.startCreated(ctx, spec, info.ID)
	if err != nil {
		d.cfg.Logger.Warn("prepared instance did not start; creating it afresh", "instance", spec.ID, "error", err)
		d.removePrepared(ctx, spec.ID)
		return instance.Instance{}, false
	}
	return inst, true
}

// preparedInTheWay reports whether a create of id failed because a container prepared by an
// earlier driver process (which this one does not remember: prepState) holds its name, and if
// so removes it and its sandbox, so that the create can be tried again.
func (d *Driver) preparedInTheWay(ctx context.Context, id string, err error) bool {
	if !cerrdefs.IsConflict(err) {
		return false
	}
	octx, cancel := d.opCtx(ctx)
	info, ierr := d.api.ContainerInspect(octx, containerName(id))
	cancel()
	if ierr != nil || info.Config == nil || info.Config.Labels[labelConfig] == "" || info.State == nil ||
		info.State.Status != container.StateCreated {
		return false
	}
	d.removePrepared(ctx, id)
	return true
}

// configHash identifies create options: two specs that would make the same container hash the
// same. It is taken before the sandbox changes the network mode and hostname.
func configHash(cfg *container.Config, hostCfg *container.HostConfig) string {
	h := sha256.New()
	_ = json.NewEncoder(h).Encode(cfg) // maps are encoded with sorted keys
	_ = json.NewEncoder(h).Encode(hostCfg)
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// removePrepared force-removes an instance's container and its sandbox, if any; not found is
// fine. It runs on a ctx of its own: the caller's may be what ended.
func (d *Driver) removePrepared(ctx context.Context, id string) {
	d.prep.take(id)
	d.removeQuietly(ctx, containerName(id))
	d.removeSandbox(ctx, id)
}

// removeSandbox force-removes an instance's sandbox, if it has one.
func (d *Driver) removeSandbox(ctx context.Context, id string) {
	d.removeQuietly(ctx, sandboxName(id))
}

// startSandbox creates and starts the sandbox of spec's instance and returns its IP on netw.
func (d *Driver) startSandbox(ctx context.Context, spec instance.Spec, netw netInfo, hostname string) (string, error) {
	labels := map[string]string{instance.LabelOwner: instance.OwnerValue, labelSandbox: spec.ID, labelNetwork: netw.name}
	if n := spec.Labels[instance.LabelNode]; n != "" {
		labels[instance.LabelNode] = n
	}
	cfg := &container.Config{Image: sandboxImage, Entrypoint: []string{"/pause"}, Labels: labels, Hostname: hostname,
		User: unprivilegedUser}
	hostCfg := &container.HostConfig{NetworkMode: container.NetworkMode(netw.mode)}
	hostCfg.Memory = 8 << 20
	harden(hostCfg, instance.Security{PidsLimit: 1, TmpSizeMB: 1})
	hostCfg.Init = nil // nothing to reap: the program never forks
	octx, cancel := d.opCtx(ctx)
	defer cancel()
	created, err := d.api.ContainerCreate(octx, cfg, hostCfg, nil, nil, sandboxName(spec.ID))
	if err != nil {
		return "", d.wrapErr(ctx, err, nil, "create")
	}
	if err := d.api.ContainerStart(octx, created.ID, container.StartOptions{}); err != nil {
		return "", d.wrapErr(ctx, err, nil, "start")
	}
	info, err := d.api.ContainerInspect(octx, created.ID)
	if err != nil {
		return "", d.wrapErr(ctx, err, nil, "inspect")
	}
	if info.NetworkSettings != nil {
		if ep := info.NetworkSettings.Networks[netw.name]; ep != nil && ep.IPAddress != "" {
			return ep.IPAddress, nil
		}
	}
	return "", fmt.Errorf("no address on network %q", netw.name)
}

// imageImporter is the part of the Docker client that imports an image from a tar stream.
type imageImporter interface {
	ImageImport(ctx context.Context, source image.ImportSource, ref string, options image.ImportOptions) (io.ReadCloser, error)
}

// ensureSandboxImage makes sandboxImage present, importing it once from sandboxProgram. An
// error (another architecture, an engine that cannot import) is remembered: sandboxes are an
// optimisation, and Prepare goes on without them.
func (d *Driver) ensureSandboxImage(ctx context.Context) error {
	d.prep.mu.Lock()
	defer d.prep.mu.Unlock()
	if d.prep.imageOK || d.prep.imageErr != nil {
		return d.prep.imageErr
	}
	octx, cancel := d.opCtx(ctx)
	defer cancel()
	if _, err := d.api.ImageInspect(octx, sandboxImage); err == nil {
		d.prep.imageOK = true
		return nil
	} else if !isNotFound(err) {
		return err // transient: ask again next time
	}
	imp, ok := d.api.(imageImporter)
	if runtime.GOARCH != "amd64" || !ok {
		d.prep.imageErr = fmt.Errorf("no sandbox program for %s: %w", runtime.GOARCH, driver.ErrNotSupported)
		return d.prep.imageErr
	}
	rc, err := imp.ImageImport(octx, image.ImportSource{Source: bytes.NewReader(sandboxTar()), SourceName: "-"}, sandboxImage,
		image.ImportOptions{Changes: []string{`ENTRYPOINT ["/pause"]`}})
	if err != nil {
		return d.wrapErr(ctx, err, nil, "import %s", sandboxImage)
	}
	_, err = io.Copy(io.Discard, rc)
	rc.Close()
	if err != nil {
		return err
	}
	d.prep.imageOK = true
	return nil
}

// sandboxTar is the sandbox image's only layer: /pause, a static x86-64 ELF whose code is
// `loop: mov eax, 34 (pause); syscall; jmp loop`. It needs no libc, no heap and no files, and
// as PID 1 ignores signals it has no handler for: it is only ever force-removed.
func sandboxTar() []byte {
	code := []byte{0xb8, 0x22, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xeb, 0xf7}
	const base, hdr = 0x400000, 64 + 56
	var elf bytes.Buffer
	w := func(v any) { _ = binary.Write(&elf, binary.LittleEndian, v) }
	elf.Write([]byte{0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	w(uint16(2))          // e_type: executable
	w(uint16(0x3e))       // e_machine: x86-64
	w(uint32(1))          // e_version
	w(uint64(base + hdr)) // e_entry
	w(uint64(64))         // e_phoff
	w(uint64(0))          // e_shoff
	w(uint32(0))          // e_flags
	w(uint16(64))         // e_ehsize
	w(uint16(56))         // e_phentsize
	w(uint16(1))          // e_phnum
	w(uint16(0))          // e_shentsize
	w(uint16(0))          // e_shnum
	w(uint16(0))          // e_shstrndx
	size := uint64(hdr + len(code))
	w(uint32(1))      // p_type: PT_LOAD
	w(uint32(5))      // p_flags: R+X
	w(uint64(0))      // p_offset
	w(uint64(base))   // p_vaddr
	w(uint64(base))   // p_paddr
	w(size)           // p_filesz
	w(size)           // p_memsz
	w(uint64(0x1000)) // p_align
	elf.Write(code)

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	_ = tw.WriteHeader(&tar.Header{Name: "pause", Mode: 0o555, Size: int64(elf.Len()), ModTime: time.Unix(0, 0)})
	_, _ = tw.Write(elf.Bytes())
	_ = tw.Close()
	return buf.Bytes()
}

// sweepSandboxes removes, at most once per sweepEvery, the sandboxes whose instance container
// is gone: what a driver killed between a sandbox's start and its instance's create, or an
// instance removed behind the driver's back, leaves.
func (d *Driver) sweepSandboxes(ctx context.Context) {
	if !d.prep.sweepOnce.TryLock() {
		return
	}
	defer d.prep.sweepOnce.Unlock()
	d.prep.mu.Lock()
	due := time.Since(d.prep.sweptAt) >= sweepEvery
	if due {
		d.prep.sweptAt = time.Now()
	}
	d.prep.mu.Unlock()
	if !due {
		return
	}
	octx, cancel := d.opCtx(ctx)
	defer cancel()
	sbs, err := d.api.ContainerList(octx, container.ListOptions{All: true,
		Filters: filters.NewArgs(filters.Arg("label", instance.LabelOwner+"="+instance.OwnerValue), filters.Arg("label", labelSandbox))})
	if err != nil {
		return
	}
	for _, sb := range sbs {
		id := sb.Labels[labelSandbox]
		if _, err := d.api.ContainerInspect(octx, containerName(id)); isNotFound(err) {
			// A Prepare in progress has started its sandbox but not yet created the instance:
			// give it the time a create takes.
			if time.Since(time.Unix(sb.Created, 0)) > 2*time.Minute {
				d.removeQuietly(ctx, sb.ID)
			}
		}
	}
}
