package docker

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/docker/docker/api/types/container"

	"github.com/hearthfn/hearth/agent/instance"
)

// The hardening every instance gets, whatever its image (docs/operator/security.md says what
// each setting stops). A function relaxes some of them through instance.Security; the zero
// Security is the strictest.
const (
	// The bounds used when Security leaves one at zero: the same as api's defaults (drivers
	// do not import the API's types).
	defaultTmpSizeMB = 64
	defaultPidsLimit = 512
	defaultNoFile    = 4096
	// unprivilegedUser is nobody:nogroup on Debian: a uid that owns nothing in any image.
	unprivilegedUser = "65534:65534"
	// tmpPath is the one writable path of a read-only instance.
	tmpPath = "/tmp"
)

// harden sets the confinement of sec on an instance's create options. What it sets:
//   - every capability dropped but sec.CapAdd, and no-new-privileges, so that no setuid
//     binary or file capability gives any back;
//   - a read-only root filesystem (unless WritableRoot) and a tmpfs at /tmp, bounded, sticky,
//     without setuid or devices; exec stays allowed because runtimes unpack native libraries
//     there (the JVM does), and memfd_create would get round noexec anyway;
//   - a PID limit (a fork bomb stops at it, not at the node's), and swap equal to the memory
//     limit, so that the limit is one of RAM, not RAM plus as much swap again;
//   - an init as PID 1 (docker-init), which reaps the zombies a function's children leave and
//     passes SIGTERM on;
//   - a limit on open files, the same soft and hard, so that the process cannot raise it.
//
// It mounts nothing of the host's (no Docker socket) but, for a function that takes its
// secrets as files, the instance's own secrets directory, read-only (secrets.go).
func harden(hc *container.HostConfig, sec instance.Security) {
	hc.CapDrop = []string{"ALL"}
	hc.CapAdd = nil
	for _, c := range sec.CapAdd {
		hc.CapAdd = append(hc.CapAdd, "CAP_"+strings.TrimPrefix(strings.ToUpper(c), "CAP_"))
	}
	hc.SecurityOpt = []string{"no-new-privileges"}

	hc.ReadonlyRootfs = !sec.WritableRoot
	tmp := orDefault(sec.TmpSizeMB, defaultTmpSizeMB)
	hc.Tmpfs = map[string]string{tmpPath: fmt.Sprintf("rw,exec,nosuid,nodev,size=%dm,mode=1777", tmp)}

	pids := int64(orDefault(sec.PidsLimit, defaultPidsLimit))
	hc.PidsLimit = &pids
	if hc.Memory > 0 {
		hc.MemorySwap = hc.Memory
	}
	init := true
	hc.Init = &init
	nofile := int64(orDefault(sec.NoFile, defaultNoFile))
	hc.Ulimits = []*container.Ulimit{{Name: "nofile", Soft: nofile, Hard: nofile}}
}

func orDefault[T int | int64](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

// userCache remembers each image's configured USER. Function images are tagged with a hash of
// their content, so what a reference's USER is never changes; runtime images are not, but a
// rebuilt one keeps its USER line.
type userCache struct {
	mu    sync.Mutex
	users map[string]string
}

// runAs returns the user an instance's process runs as (container.Config.User): the one the
// function asked for, else the image's own unless that is root, else unprivilegedUser. A
// numeric uid with no group gets the group of the same number: Docker would give it group 0
// (root's) when the image has no passwd entry for it, and files group-owned by root are common.
func (d *Driver) runAs(ctx context.Context, spec instance.Spec) (string, error) {
	switch u := spec.Security.User; {
	case u == "root":
		// Numeric: an image FROM scratch has no /etc/passwd to look "root" up in.
		return "0:0", nil
	case u != "" && !strings.Contains(u, ":"):
		return u + ":" + u, nil
	case u != "":
		return u, nil
	}
	u, err := d.imageUser(ctx, spec.Image)
	if err != nil {
		return "", err
	}
	if isRootUser(u) {
		return unprivilegedUser, nil
	}
	return u, nil
}

// imageUser reads an image's configured USER, once per reference.
func (d *Driver) imageUser(ctx context.Context, ref string) (string, error) {
	d.users.mu.Lock()
	u, ok := d.users.users[ref]
	d.users.mu.Unlock()
	if ok {
		return u, nil
	}
	octx, cancel := d.opCtx(ctx)
	info, err := d.api.ImageInspect(octx, ref)
	cancel()
	if isNotFound(err) {
		return "", d.imageMissing(ref)
	}
	if err != nil {
		return "", d.wrapErr(ctx, err, nil, "inspect image %s", ref)
	}
	if info.Config != nil {
		u = info.Config.User
	}
	d.users.mu.Lock()
	if d.users.users == nil {
		d.users.users = map[string]string{}
	}
	d.users.users[ref] = u
	d.users.mu.Unlock()
	return u, nil
}

// isRootUser reports whether an image's USER runs as root: empty (Docker's default), "root" or
// uid 0, with any group. Another name is taken as not root: telling would need the image's
// /etc/passwd, and an image author who names uid 0 otherwise does so on purpose.
func isRootUser(u string) bool {
	name, _, _ := strings.Cut(strings.TrimSpace(u), ":")
	if name == "" || name == "root" {
		return true
	}
	n, err := strconv.ParseUint(name, 10, 32)
	return err == nil && n == 0
}
