package main

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// fakeProc writes a process into a fake /proc: its stat, cmdline, and PSS in KiB (a negative
// pss writes no smaps_rollup, only status with VmRSS -pss).
func fakeProc(t *testing.T, root string, pid, ppid int, comm string, args []string, pss int64) {
	t.Helper()
	dir := filepath.Join(root, strconv.Itoa(pid))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "stat"), strconv.Itoa(pid)+" ("+comm+") S "+strconv.Itoa(ppid)+" 1 1 0 -1")
	write(t, filepath.Join(dir, "cmdline"), strings.Join(args, "\x00")+"\x00")
	if pss >= 0 {
		write(t, filepath.Join(dir, "smaps_rollup"), "00400000-7fff [rollup]\nRss:  999 kB\nPss:  "+strconv.FormatInt(pss, 10)+" kB\n")
	} else {
		write(t, filepath.Join(dir, "status"), "Name: x\nVmRSS:\t"+strconv.FormatInt(-pss, 10)+" kB\n")
	}
}

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestTreeAndSnapshot(t *testing.T) {
	root := t.TempDir()
	fakeProc(t, root, 10, 1, "hearth", []string{"hearth", "server"}, 30000)
	fakeProc(t, root, 11, 10, "hearth", []string{"hearth", "__driver", "docker"}, 20000)
	fakeProc(t, root, 12, 11, "odd) name (x", nil, 5) // a grandchild, with parentheses in its name
	fakeProc(t, root, 20, 1, "dockerd", []string{"dockerd"}, -70000)
	fakeProc(t, root, 21, 20, "containerd", []string{"containerd"}, 10000)
	m := newMemReader(root, t.TempDir())
	s := m.snapshot(10, []int{20, 21})
	if s.hearthKiB() != 50005 || s.engineKiB() != 80000 || s.childrenKiB != 20005 {
		t.Errorf("snapshot %+v, want hearth 50005 (tree; 20005 in children) and engine 80000 (VmRSS fallback for dockerd)", s)
	}
	if s := m.snapshot(0, []int{99}); s != (memSnap{}) {
		t.Errorf("no server and a gone engine process: %+v, want zeros", s)
	}
}

func TestEnginePIDs(t *testing.T) {
	root := t.TempDir()
	fakeProc(t, root, 100, 1, "dockerd", []string{"dockerd", "-H", "unix:///tmp/eng/docker.sock"}, 1)
	fakeProc(t, root, 101, 100, "containerd", []string{"containerd"}, 1)
	fakeProc(t, root, 102, 100, "setup-resolver", []string{"setup-resolver"}, 1)
	fakeProc(t, root, 200, 1, "dockerd", []string{"dockerd", "-H", "unix:///tmp/other/docker.sock"}, 1)
	fakeProc(t, root, 300, 1, "containerd", []string{"containerd"}, 1)
	m := newMemReader(root, t.TempDir())
	got, err := m.enginePIDs("unix:///tmp/eng/docker.sock")
	if err != nil || len(got) != 2 || got[0] != 100 || got[1] != 101 {
		t.Errorf("engine of its own containerd: %v %v, want [100 101]", got, err)
	}
	got, err = m.enginePIDs("unix:///tmp/other/docker.sock")
	if err != nil || len(got) != 2 || got[0] != 200 || got[1] != 300 {
		t.Errorf("engine on the system's containerd: %v %v, want [200 300]", got, err)
	}
	if _, err := m.enginePIDs("unix:///tmp/none.sock"); err == nil {
		t.Error("no dockerd serves the socket: want an error")
	}
}

func TestShims(t *testing.T) {
	root := t.TempDir()
	fakeProc(t, root, 7, 1, "containerd-shim", []string{"/usr/bin/containerd-shim-runc-v2", "-namespace", "moby", "-id", "abc", "-address", "x"}, 4000)
	fakeProc(t, root, 8, 1, "sh", []string{"sh", "-id", "zzz"}, 1)
	got := newMemReader(root, t.TempDir()).shims()
	if len(got) != 1 || got["abc"] != 7 {
		t.Errorf("shims %v, want abc -> 7 only", got)
	}
}

func TestCgroupMemory(t *testing.T) {
	proc, cg := t.TempDir(), t.TempDir()
	m := newMemReader(proc, cg)
	// cgroup v1 (hybrid: v2 is mounted too, without the memory controller).
	write(t, filepath.Join(proc, "1", "cgroup"), "12:freezer:/docker/c1\n4:memory:/docker/c1\n0::/\n")
	write(t, filepath.Join(cg, "memory", "docker", "c1", "memory.usage_in_bytes"), "3145728\n")
	write(t, filepath.Join(cg, "memory", "docker", "c1", "memory.stat"), "cache 1\nrss 2\ntotal_cache 1048576\ntotal_rss 2097152\n")
	used, cache, err := m.cgroupMemory(1)
	if err != nil || used != 2048 || cache != 1024 {
		t.Errorf("v1: used %d cache %d err %v, want 2048 and 1024 KiB", used, cache, err)
	}
	// cgroup v2.
	write(t, filepath.Join(proc, "2", "cgroup"), "0::/system.slice/docker-c2.scope\n")
	write(t, filepath.Join(cg, "system.slice", "docker-c2.scope", "memory.current"), "5242880\n")
	write(t, filepath.Join(cg, "system.slice", "docker-c2.scope", "memory.stat"), "anon 3145728\nfile 2097152\n")
	used, cache, err = m.cgroupMemory(2)
	if err != nil || used != 3072 || cache != 2048 {
		t.Errorf("v2: used %d cache %d err %v, want 3072 and 2048 KiB", used, cache, err)
	}
	// A process without a readable cgroup.
	write(t, filepath.Join(proc, "3", "cgroup"), "4:memory:/docker/gone\n")
	if _, _, err := m.cgroupMemory(3); !errors.Is(err, errNoCgroup) {
		t.Errorf("missing cgroup files: %v, want errNoCgroup", err)
	}
	if _, _, err := m.cgroupMemory(4); !errors.Is(err, errNoCgroup) {
		t.Errorf("gone process: %v, want errNoCgroup", err)
	}
}

func TestDensityShare(t *testing.T) {
	raw := densitySide{Instances: 40, ContainerKiB: 2048, ShimKiB: 1024, EngineKiB: 0}
	h := densitySide{Instances: 40, ContainerKiB: 2048, ShimKiB: 1024, EngineKiB: 256, HearthKiB: 768}
	if got := raw.perGiB(); got != 1024*1024/3072.0 {
		t.Errorf("raw per GiB %v", got)
	}
	v, ok := densityShare(row{Density: &densityFigures{Hearth: h, Raw: raw}})
	if !ok || math.Abs(v-0.75) > 1e-9 {
		t.Errorf("share %v %v, want 0.75 (3072 / 4096 KiB)", v, ok)
	}
	if _, ok := densityShare(row{}); ok {
		t.Error("a row without density figures: want not measured")
	}
	if _, ok := densityShare(row{Density: &densityFigures{Hearth: h}}); ok {
		t.Error("no raw side: want not measured")
	}
	res := evaluate(row{Kind: kindDensity, Density: &densityFigures{Hearth: h, Raw: raw}})
	if len(res) != 1 || res[0].Met == nil || *res[0].Met {
		t.Errorf("goal at 0.75x: %+v, want one goal, not met", res)
	}
}

func TestGrowth(t *testing.T) {
	if g := growth(1000, 5000, 40); g != 100 {
		t.Errorf("growth %v, want 100 KiB per instance", g)
	}
	if g := growth(5000, 1000, 40); g != 0 {
		t.Errorf("a shrink: %v, want 0", g)
	}
}
