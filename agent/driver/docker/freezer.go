package docker

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The cgroup freezer, driven directly.
//
// `docker unpause` costs a round trip through dockerd, containerd and a runc process: tens of
// milliseconds, paid by the call that finds its instance paused. Thawing is one write to the
// container's cgroup freezer file (cgroup v1 freezer.state, v2 cgroup.freeze), which is all runc
// does in the end; written by the driver itself it takes microseconds. So when the driver runs
// on the engine's own machine (a unix:// socket) it pauses and resumes through that file, and
// through `docker pause/unpause` otherwise, or when the file cannot be used.
//
// Docker does not know about a freeze it did not make: its inspect still says running. The
// driver's Inspect and List therefore read the freezer file of every running container (a
// file read, no Docker call) and report a frozen one as paused, Stop thaws one before it stops
// it, and Resume thaws one whatever froze it, also after a restart of the driver. A container
// Docker itself paused keeps going through `docker unpause`, so that Docker's record stays true.

var (
	// errNoFreezer is a container whose cgroup freezer cannot be used from here: no freezer
	// hierarchy is mounted, or the container's cgroup is not where this process sees it (the
	// driver in another cgroup or PID namespace than the engine's containers).
	errNoFreezer = errors.New("no usable cgroup freezer for the container")
	// errFreezeTimeout is a freeze that did not complete in time (a task in uninterruptible
	// sleep, typically); the cgroup has been thawed again.
	errFreezeTimeout = errors.New("cgroup did not freeze in time")
)

// cgroupVersion is which cgroup hierarchy holds the freezer.
type cgroupVersion int

const (
	cgroupV1 cgroupVersion = 1
	cgroupV2 cgroupVersion = 2
)

// freezeWait bounds how long a freeze may take to complete. runc gives it about as long.
const freezeWait = time.Second

// freezer freezes and thaws containers through their cgroup's freezer file. It caches each
// container's cgroup directory (which does not change while the container exists) and which
// instances it froze itself, so that a resume is one write. It is safe for concurrent use.
type freezer struct {
	version cgroupVersion
	// mount is where the hierarchy holding the freezer is mounted: v1's freezer hierarchy, or
	// the unified (v2) one.
	mount string
	// proc is the proc file system's root ("/proc"); tests point it at a directory of theirs.
	proc string
	// wait bounds a freeze; poll is the first pause between two reads of its progress.
	wait, poll time.Duration

	// off is set once a write was refused (no permission, read-only cgroup file system): from
	// then on every pause and resume goes through Docker.
	off atomic.Bool

	mu sync.Mutex
	// dirs maps a container's ID to its cgroup directory, or to "" when it has none usable
	// from here (so that List does not look it up again on every call).
	dirs map[string]string
	// frozen maps an instance id to the ID of its container, for the instances this freezer
	// froze: their resume needs no lookup at all.
	frozen map[string]string
}

func newFreezer(version cgroupVersion, mount, proc string) *freezer {
	return &freezer{version: version, mount: mount, proc: proc, wait: freezeWait, poll: 100 * time.Microsecond,
		dirs: map[string]string{}, frozen: map[string]string{}}
}

// hostFreezer returns the freezer of this machine's cgroups when cfg drives the local engine
// and a freezer hierarchy is mounted, else nil (pause and resume then use Docker's API).
// Whether the files are writable is learned at the first write: a failed one falls back too.
func hostFreezer(cfg Config) *freezer {
	if cfg.DockerPause || !strings.HasPrefix(cfg.Host, "unix://") {
		return nil
	}
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	version, mount := freezerMount(data)
	if version == 0 {
		return nil
	}
	return newFreezer(version, mount, "/proc")
}

// freezerMount finds the freezer in a mountinfo file: v1's freezer hierarchy when one is
// mounted (on a hybrid host Docker freezes there, and so must the driver, or the two would not
// see each other's freezes), else the unified hierarchy. It returns 0 when there is neither.
func freezerMount(mountinfo []byte) (cgroupVersion, string) {
	var v2 string
	sc := bufio.NewScanner(bytes.NewReader(mountinfo))
	for sc.Scan() {
		// 36 35 0:30 / /sys/fs/cgroup/freezer rw,relatime shared:15 - cgroup cgroup rw,freezer
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		f, g := strings.Fields(pre), strings.Fields(post)
		if len(f) < 5 || len(g) < 3 || f[3] != "/" { // a bind mount of a sub-tree sees other paths
			continue
		}
		switch g[0] {
		case "cgroup":
			for _, opt := range strings.Split(g[2], ",") {
				if opt == "freezer" {
					return cgroupV1, unescapeMount(f[4])
				}
			}
		case "cgroup2":
			if v2 == "" {
				v2 = unescapeMount(f[4])
			}
		}
	}
	if v2 != "" {
		return cgroupV2, v2
	}
	return 0, ""
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space) in a path.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// stateFile is the file whose content is the freeze: v1's freezer.state, v2's cgroup.freeze.
func (f *freezer) stateFile(dir string) string {
	if f.version == cgroupV1 {
		return filepath.Join(dir, "freezer.state")
	}
	return filepath.Join(dir, "cgroup.freeze")
}

// dirOf returns the cgroup directory of the container containerID whose init process is pid,
// read from /proc/PID/cgroup and cached. The directory must name the container (Docker's
// cgroupfs and systemd drivers both put its ID in it) and hold the freezer file: a PID seen
// through another PID namespace, or paths relative to another cgroup namespace, fail here
// rather than freeze something else.
func (f *freezer) dirOf(containerID string, pid int) (string, error) {
	if dir, ok := f.cached(containerID); ok {
		if dir == "" {
			return "", errNoFreezer
		}
		return dir, nil
	}
	if pid <= 0 || containerID == "" {
		return "", errNoFreezer
	}
	dir, err := f.lookup(containerID, pid)
	f.remember(containerID, dir) // "" on failure: the reason is the same next time
	return dir, err
}

func (f *freezer) lookup(containerID string, pid int) (string, error) {
	data, err := os.ReadFile(filepath.Join(f.proc, strconv.Itoa(pid), "cgroup"))
	if err != nil {
		return "", fmt.Errorf("%w: %w", errNoFreezer, err)
	}
	rel, ok := cgroupPath(data, f.version)
	if !ok || !strings.Contains(rel, containerID) {
		return "", fmt.Errorf("%w: the cgroup of pid %d (%q) is not the container's", errNoFreezer, pid, rel)
	}
	dir := filepath.Join(f.mount, rel)
	if _, err := os.Stat(f.stateFile(dir)); err != nil {
		return "", fmt.Errorf("%w: %w", errNoFreezer, err)
	}
	return dir, nil
}

// guessDir finds a container's cgroup directory without its PID (List has none), where
// Docker's cgroupfs driver ("docker/<id>") or systemd driver ("system.slice/docker-<id>.scope")
// puts it by default, or the cached one. known is false when it is none of these: the caller
// then looks the PID up. A known "" is a container without a usable freezer.
func (f *freezer) guessDir(containerID string) (dir string, known bool) {
	if dir, ok := f.cached(containerID); ok {
		return dir, true
	}
	if containerID == "" || strings.ContainsAny(containerID, "/.") {
		return "", false
	}
	for _, rel := range []string{"docker/" + containerID, "system.slice/docker-" + containerID + ".scope"} {
		dir := filepath.Join(f.mount, rel)
		if _, err := os.Stat(f.stateFile(dir)); err == nil {
			f.remember(containerID, dir)
			return dir, true
		}
	}
	return "", false
}

// cgroupPath picks the path of the hierarchy holding the freezer from a /proc/PID/cgroup file:
// "N:...freezer...:/path" on v1, "0::/path" on v2.
func cgroupPath(data []byte, version cgroupVersion) (string, bool) {
	for _, line := range strings.Split(string(data), "\n") {
		id, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		controllers, path, ok := strings.Cut(rest, ":")
		if !ok || !strings.HasPrefix(path, "/") {
			continue
		}
		if version == cgroupV2 && id == "0" && controllers == "" {
			return path, true
		}
		if version == cgroupV1 {
			for _, c := range strings.Split(controllers, ",") {
				if c == "freezer" {
					return path, true
				}
			}
		}
	}
	return "", false
}

// isFrozen reports whether the cgroup at dir is frozen or freezing: it does not answer either way.
// On v2 it reads the freeze asked for (cgroup.freeze), which is what a pause sets.
func (f *freezer) isFrozen(dir string) (bool, error) {
	data, err := os.ReadFile(f.stateFile(dir))
	if err != nil {
		return false, err
	}
	s := strings.TrimSpace(string(data))
	if f.version == cgroupV1 {
		return s != "THAWED", nil
	}
	return s == "1", nil
}

// freeze freezes the cgroup at dir and waits until every task is frozen. A freeze that does not
// complete within f.wait is undone, so that the container is never left half frozen.
func (f *freezer) freeze(ctx context.Context, dir string) error {
	on := "1"
	if f.version == cgroupV1 {
		on = "FROZEN"
	}
	if err := writeFile(f.stateFile(dir), on); err != nil {
		return err
	}
	deadline := time.Now().Add(f.wait)
	for wait := f.poll; ; wait = min(2*wait, 10*time.Millisecond) {
		done, err := f.freezeDone(dir)
		if err != nil {
			_ = f.thaw(dir)
			return err
		}
		if done {
			return nil
		}
		if !time.Now().Before(deadline) {
			if err := f.thaw(dir); err != nil {
				return fmt.Errorf("%w; thawing it again: %w", errFreezeTimeout, err)
			}
			return errFreezeTimeout
		}
		select {
		case <-ctx.Done():
			_ = f.thaw(dir)
			return ctx.Err()
		case <-time.After(wait):
		}
		if f.version == cgroupV1 {
			// runc writes FROZEN again while it waits: a task forked during the freeze can
			// leave the cgroup FREEZING otherwise.
			if err := writeFile(f.stateFile(dir), on); err != nil {
				_ = f.thaw(dir)
				return err
			}
		}
	}
}

// freezeDone reports whether a freeze asked for has completed: v1's freezer.state reads FROZEN,
// v2's cgroup.events has "frozen 1".
func (f *freezer) freezeDone(dir string) (bool, error) {
	if f.version == cgroupV1 {
		data, err := os.ReadFile(f.stateFile(dir))
		return strings.TrimSpace(string(data)) == "FROZEN", err
	}
	data, err := os.ReadFile(filepath.Join(dir, "cgroup.events"))
	if err != nil {
		return false, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok && k == "frozen" {
			return strings.TrimSpace(v) == "1", nil
		}
	}
	return false, nil
}

// thaw lets the cgroup at dir run again. Thawing takes effect at once, without a wait: that is
// what makes a resume cheap.
func (f *freezer) thaw(dir string) error {
	off := "0"
	if f.version == cgroupV1 {
		off = "THAWED"
	}
	return writeFile(f.stateFile(dir), off)
}

// usable reports whether the freezer may be tried: it exists and no write was refused.
func (f *freezer) usable() bool { return f != nil && !f.off.Load() }

// refused turns the freezer off after a write the file system refused: it would be refused
// again, and every pause would pay for the attempt before falling back.
func (f *freezer) refused(err error) {
	if errors.Is(err, os.ErrPermission) || errors.Is(err, syscall.EROFS) {
		f.off.Store(true)
	}
}

// writeFile writes s to an existing file (cgroup files are never created).
func writeFile(name, s string) error {
	fh, err := os.OpenFile(name, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	_, err = fh.WriteString(s)
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	return err
}

func (f *freezer) cached(containerID string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	dir, ok := f.dirs[containerID]
	return dir, ok
}

func (f *freezer) remember(containerID, dir string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dirs[containerID] = dir
}

// markFrozen records that this freezer froze instance id's container; frozenDir returns its
// directory for a resume without a lookup.
func (f *freezer) markFrozen(id, containerID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.frozen[id] = containerID
}

func (f *freezer) frozenDir(id string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	dir, ok := f.dirs[f.frozen[id]]
	return dir, ok
}

func (f *freezer) unmarkFrozen(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.frozen, id)
}

// forget drops what is cached of instance id and its container (stopped or gone). The
// container is the one it froze when containerID is "".
func (f *freezer) forget(id, containerID string) {
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if containerID == "" {
		containerID = f.frozen[id]
	}
	delete(f.frozen, id)
	delete(f.dirs, containerID)
}

// prune keeps the cache to the containers in live, so that it does not grow with every
// container ever seen.
func (f *freezer) prune(live map[string]bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for cid := range f.dirs {
		if !live[cid] {
			delete(f.dirs, cid)
		}
	}
	for id, cid := range f.frozen {
		if !live[cid] {
			delete(f.frozen, id)
		}
	}
}
