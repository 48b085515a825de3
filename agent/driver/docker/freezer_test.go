package docker

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
)

const (
	hybridMountinfo = `25 30 0:23 / /sys rw,nosuid - sysfs sysfs rw
33 25 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755
34 33 0:29 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
35 33 0:30 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu
36 33 0:31 / /sys/fs/cgroup/freezer rw - cgroup cgroup rw,freezer
`
	v2Mountinfo = `25 30 0:23 / /sys rw,nosuid - sysfs sysfs rw
26 25 0:24 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate
`
	// A container's view: its cgroup file system is a bind of a sub-tree.
	nestedMountinfo = `40 30 0:31 /docker/abc /sys/fs/cgroup/freezer ro - cgroup cgroup rw,freezer
`
)

func TestFreezerMount(t *testing.T) {
	for _, c := range []struct {
		name, mountinfo string
		version         cgroupVersion
		mount           string
	}{
		{"hybrid: v1 freezer wins", hybridMountinfo, cgroupV1, "/sys/fs/cgroup/freezer"},
		{"unified", v2Mountinfo, cgroupV2, "/sys/fs/cgroup"},
		{"sub-tree only", nestedMountinfo, 0, ""},
		{"none", "25 30 0:23 / /sys rw - sysfs sysfs rw\n", 0, ""},
		{"escaped path", `26 25 0:24 / /cg\040root rw - cgroup2 cgroup2 rw` + "\n", cgroupV2, "/cg root"},
	} {
		v, m := freezerMount([]byte(c.mountinfo))
		if v != c.version || m != c.mount {
			t.Errorf("%s: freezerMount = %d %q, want %d %q", c.name, v, m, c.version, c.mount)
		}
	}
}

func TestCgroupPath(t *testing.T) {
	v1 := "12:pids:/docker/abc\n6:freezer:/docker/abc\n4:cpu,cpuacct:/docker/abc\n0::/docker/abc\n"
	if p, ok := cgroupPath([]byte(v1), cgroupV1); !ok || p != "/docker/abc" {
		t.Errorf("v1 = %q %v", p, ok)
	}
	v2 := "0::/system.slice/docker-abc.scope\n"
	if p, ok := cgroupPath([]byte(v2), cgroupV2); !ok || p != "/system.slice/docker-abc.scope" {
		t.Errorf("v2 = %q %v", p, ok)
	}
	if _, ok := cgroupPath([]byte(v2), cgroupV1); ok {
		t.Error("v1 freezer found in a v2-only file")
	}
}

// fakeCgroups is a cgroup hierarchy and a /proc in temporary directories: containers are
// directories with a freezer file, and processes /proc/PID/cgroup files.
type fakeCgroups struct {
	t           *testing.T
	f           *freezer
	mount, proc string
}

func newFakeCgroups(t *testing.T, version cgroupVersion) *fakeCgroups {
	root := t.TempDir()
	fc := &fakeCgroups{t: t, mount: filepath.Join(root, "cgroup"), proc: filepath.Join(root, "proc")}
	fc.f = newFreezer(version, fc.mount, fc.proc)
	fc.f.wait = 0 // a freeze that is not done at once times out: no test waits
	return fc
}

// container makes the cgroup of container cid at rel (under the mount) with init process pid.
func (fc *fakeCgroups) container(cid, rel string, pid int) string {
	dir := filepath.Join(fc.mount, rel)
	fc.write(filepath.Join(fc.proc, strconv.Itoa(pid), "cgroup"), "6:freezer:/"+rel+"\n0::/"+rel+"\n")
	if fc.f.version == cgroupV1 {
		fc.write(filepath.Join(dir, "freezer.state"), "THAWED\n")
	} else {
		fc.write(filepath.Join(dir, "cgroup.freeze"), "0\n")
		// The fake kernel freezes at once.
		fc.write(filepath.Join(dir, "cgroup.events"), "populated 1\nfrozen 1\n")
	}
	return dir
}

func (fc *fakeCgroups) write(name, s string) {
	fc.t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		fc.t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(s), 0o644); err != nil {
		fc.t.Fatal(err)
	}
}

func (fc *fakeCgroups) read(name string) string {
	fc.t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		fc.t.Fatal(err)
	}
	return strings.TrimSpace(string(data))
}

func TestFreezeThaw(t *testing.T) {
	for _, c := range []struct {
		version        cgroupVersion
		file, on, off  string
		rel            string
		guessable      bool
		frozenByEvents bool
	}{
		{cgroupV1, "freezer.state", "FROZEN", "THAWED", "docker/c1", true, false},
		{cgroupV2, "cgroup.freeze", "1", "0", "system.slice/docker-c1.scope", true, true},
		{cgroupV2, "cgroup.freeze", "1", "0", "custom/c1", false, true},
	} {
		fc := newFakeCgroups(t, c.version)
		dir := fc.container("c1", c.rel, 42)
		if got, known := fc.f.guessDir("c1"); known != c.guessable || (known && got != dir) {
			t.Errorf("v%d %s: guessDir = %q %v", c.version, c.rel, got, known)
		}
		got, err := fc.f.dirOf("c1", 42)
		if err != nil || got != dir {
			t.Fatalf("v%d: dirOf = %q, %v; want %q", c.version, got, err, dir)
		}
		if err := fc.f.freeze(t.Context(), dir); err != nil {
			t.Fatalf("v%d: freeze: %v", c.version, err)
		}
		if s := fc.read(filepath.Join(dir, c.file)); s != c.on {
			t.Errorf("v%d: %s = %q after freeze, want %q", c.version, c.file, s, c.on)
		}
		if frozen, err := fc.f.isFrozen(dir); err != nil || !frozen {
			t.Errorf("v%d: isFrozen = %v, %v after freeze", c.version, frozen, err)
		}
		if err := fc.f.thaw(dir); err != nil {
			t.Fatal(err)
		}
		if s := fc.read(filepath.Join(dir, c.file)); s != c.off {
			t.Errorf("v%d: %s = %q after thaw, want %q", c.version, c.file, s, c.off)
		}
		if frozen, _ := fc.f.isFrozen(dir); frozen {
			t.Errorf("v%d: frozen after thaw", c.version)
		}
	}
}

// A v2 freeze that does not complete (a task that cannot be frozen) is undone and reported.
func TestFreezeTimeoutThaws(t *testing.T) {
	fc := newFakeCgroups(t, cgroupV2)
	dir := fc.container("c1", "docker/c1", 42)
	fc.write(filepath.Join(dir, "cgroup.events"), "populated 1\nfrozen 0\n")
	if err := fc.f.freeze(t.Context(), dir); !errors.Is(err, errFreezeTimeout) {
		t.Fatalf("freeze = %v, want errFreezeTimeout", err)
	}
	if s := fc.read(filepath.Join(dir, "cgroup.freeze")); s != "0" {
		t.Errorf("cgroup.freeze = %q after a failed freeze, want it thawed (0)", s)
	}
}

// A PID whose cgroup is not the container's (another PID or cgroup namespace) is refused, and
// the refusal is remembered.
func TestDirOfRefusesAnotherCgroup(t *testing.T) {
	fc := newFakeCgroups(t, cgroupV1)
	fc.container("other", "docker/other", 42)
	if _, err := fc.f.dirOf("c1", 42); !errors.Is(err, errNoFreezer) {
		t.Fatalf("dirOf = %v, want errNoFreezer", err)
	}
	if _, err := fc.f.dirOf("c1", 0); !errors.Is(err, errNoFreezer) {
		t.Errorf("dirOf without a pid = %v, want errNoFreezer", err)
	}
	if dir, known := fc.f.guessDir("c1"); !known || dir != "" {
		t.Errorf("guessDir after a refusal = %q %v, want a known \"\"", dir, known)
	}
	fc.f.prune(map[string]bool{})
	if _, known := fc.f.cached("c1"); known {
		t.Error("prune kept a container that is gone")
	}
}

// freezeAPI is an engine with one running container "hearth-a1" (ID c1, init PID 42), whose
// pause state Docker tracks itself.
type freezeAPI struct {
	stubAPI
	paused            bool
	pauses, unpauses  int
	inspects, removed int
}

func (s *freezeAPI) ContainerInspect(_ context.Context, id string) (container.InspectResponse, error) {
	s.inspects++
	if id != "hearth-a1" && id != "c1" {
		return container.InspectResponse{}, notFound("container")
	}
	return container.InspectResponse{ContainerJSONBase: &container.ContainerJSONBase{
		ID:    "c1",
		State: &container.State{Status: container.StateRunning, Running: true, Paused: s.paused, Pid: 42},
	}, Config: &container.Config{Labels: map[string]string{}}}, nil
}

func (s *freezeAPI) ContainerPause(context.Context, string) error {
	s.pauses++
	s.paused = true
	return nil
}

func (s *freezeAPI) ContainerUnpause(context.Context, string) error {
	s.unpauses++
	s.paused = false
	return nil
}

func (s *freezeAPI) ContainerStop(context.Context, string, container.StopOptions) error { return nil }

func (s *freezeAPI) ContainerList(context.Context, container.ListOptions) ([]container.Summary, error) {
	return []container.Summary{{ID: "c1", State: container.StateRunning,
		Labels: map[string]string{instance.LabelInstance: "a1", instance.LabelOwner: instance.OwnerValue}}}, nil
}

func newFreezeDriver(t *testing.T, version cgroupVersion) (*Driver, *freezeAPI, *fakeCgroups, string) {
	fc := newFakeCgroups(t, version)
	dir := fc.container("c1", "docker/c1", 42)
	api := &freezeAPI{}
	d := newStubbed(Config{SecretsDir: t.TempDir()}, api)
	d.frz = fc.f
	return d, api, fc, dir
}

func TestPauseResumeThroughFreezer(t *testing.T) {
	for _, v := range []cgroupVersion{cgroupV1, cgroupV2} {
		d, api, fc, dir := newFreezeDriver(t, v)
		ctx := t.Context()
		if err := d.Pause(ctx, "a1"); err != nil {
			t.Fatalf("v%d: Pause: %v", v, err)
		}
		if api.pauses != 0 {
			t.Errorf("v%d: Pause went through docker pause", v)
		}
		if st, err := d.Inspect(ctx, "a1"); err != nil || st.State != instance.StatePaused {
			t.Errorf("v%d: Inspect = %q, %v; want paused", v, st.State, err)
		}
		if l, err := d.List(ctx); err != nil || len(l) != 1 || l[0].State != instance.StatePaused {
			t.Errorf("v%d: List = %+v, %v; want one paused", v, l, err)
		}
		before := api.inspects
		if err := d.Resume(ctx, "a1"); err != nil {
			t.Fatalf("v%d: Resume: %v", v, err)
		}
		if api.unpauses != 0 || api.inspects != before {
			t.Errorf("v%d: Resume made Docker calls (%d unpauses, %d inspects)", v, api.unpauses, api.inspects-before)
		}
		if frozen, _ := fc.f.isFrozen(dir); frozen {
			t.Errorf("v%d: still frozen after Resume", v)
		}
		if st, _ := d.Inspect(ctx, "a1"); st.State != instance.StateRunning {
			t.Errorf("v%d: Inspect after Resume = %q", v, st.State)
		}
	}
}

// A driver that restarts finds the container frozen by its predecessor: paused, and resumed
// through the freezer (Docker would refuse: to it the container is not paused).
func TestFrozenFoundAfterRestart(t *testing.T) {
	d, api, fc, dir := newFreezeDriver(t, cgroupV1)
	fc.write(filepath.Join(dir, "freezer.state"), "FROZEN\n")
	if l, _ := d.List(t.Context()); len(l) != 1 || l[0].State != instance.StatePaused {
		t.Errorf("List = %+v, want paused", l)
	}
	if err := d.Resume(t.Context(), "a1"); err != nil || api.unpauses != 0 {
		t.Fatalf("Resume = %v (%d docker unpauses)", err, api.unpauses)
	}
	if fc.read(filepath.Join(dir, "freezer.state")) != "THAWED" {
		t.Error("not thawed")
	}
}

// A container Docker paused is resumed by Docker, so that its record stays true.
func TestDockerPausedGoesThroughDocker(t *testing.T) {
	d, api, fc, dir := newFreezeDriver(t, cgroupV1)
	api.paused = true
	fc.write(filepath.Join(dir, "freezer.state"), "FROZEN\n")
	if err := d.Resume(t.Context(), "a1"); err != nil {
		t.Fatal(err)
	}
	if api.unpauses != 1 {
		t.Errorf("%d docker unpauses, want 1", api.unpauses)
	}
}

// Without a usable freezer (here: the container's cgroup is not where the driver looks) the
// driver pauses and resumes through Docker.
func TestPauseFallsBackToDocker(t *testing.T) {
	d, api, _, dir := newFreezeDriver(t, cgroupV1)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := d.Pause(t.Context(), "a1"); err != nil {
		t.Fatal(err)
	}
	if api.pauses != 1 {
		t.Errorf("%d docker pauses, want 1", api.pauses)
	}
	if err := d.Resume(t.Context(), "a1"); err != nil || api.unpauses != 1 {
		t.Errorf("Resume = %v, %d docker unpauses; want 1", err, api.unpauses)
	}
}

func TestStopThawsFirst(t *testing.T) {
	d, _, fc, dir := newFreezeDriver(t, cgroupV1)
	if err := d.Pause(t.Context(), "a1"); err != nil {
		t.Fatal(err)
	}
	if err := d.Stop(t.Context(), "a1", 0); err != nil {
		t.Fatal(err)
	}
	if s := fc.read(filepath.Join(dir, "freezer.state")); s != "THAWED" {
		t.Errorf("freezer.state = %q when stopped, want THAWED", s)
	}
	if _, ok := fc.f.frozenDir("a1"); ok {
		t.Error("Stop left the instance in the freezer's cache")
	}
}

func TestPauseUnknownInstance(t *testing.T) {
	d, api, _, _ := newFreezeDriver(t, cgroupV1)
	for name, err := range map[string]error{"Pause": d.Pause(t.Context(), "nope"), "Resume": d.Resume(t.Context(), "nope")} {
		if !errors.Is(err, driver.ErrInstanceNotFound) {
			t.Errorf("%s = %v, want ErrInstanceNotFound", name, err)
		}
	}
	if api.pauses+api.unpauses != 0 {
		t.Error("Docker was asked to pause an unknown container")
	}
}
