package main

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

	dockerclient "github.com/docker/docker/client"
)

// This file reads what the density row counts: the memory of processes (PSS, from /proc) and of
// containers (their memory cgroup, v1 or v2). Roots are fields so that the tests can point them
// at a fake /proc and /sys/fs/cgroup.

const (
	procRoot   = "/proc"
	cgroupRoot = "/sys/fs/cgroup"
	// defaultDockerHost and defaultDockerPIDFile are where a packaged dockerd listens and writes
	// its pid.
	defaultDockerHost    = "unix:///var/run/docker.sock"
	defaultDockerPIDFile = "/var/run/docker.pid"
	// containerPrefix is how the docker driver names an instance's container: "hearth-<id>".
	containerPrefix = "hearth-"
)

// errNoCgroup is returned for a process whose memory cgroup cannot be found or read.
var errNoCgroup = errors.New("no readable memory cgroup")

// memReader reads memory figures under a /proc and a cgroup root.
type memReader struct {
	proc, cgroup string
}

func newMemReader(proc, cgroup string) memReader { return memReader{proc: proc, cgroup: cgroup} }

// memSnap is one reading of the shared processes, in KiB of PSS: the hearth server, its children
// (the driver plugin), dockerd and containerd.
type memSnap struct {
	serverKiB, childrenKiB, dockerdKiB, containerdKiB int64
}

func (s memSnap) hearthKiB() int64 { return s.serverKiB + s.childrenKiB }
func (s memSnap) engineKiB() int64 { return s.dockerdKiB + s.containerdKiB }

// snapshot reads the server's tree (none when server is 0) and the engine's processes (dockerd
// first, as enginePIDs returns them). A process that is gone counts 0: a snapshot is a best
// reading, not a check.
func (m memReader) snapshot(server int, engine []int) memSnap {
	var s memSnap
	if server > 0 {
		for i, pid := range m.tree(server) {
			if i == 0 {
				s.serverKiB = m.pss(pid)
			} else {
				s.childrenKiB += m.pss(pid)
			}
		}
	}
	for i, pid := range engine {
		if i == 0 {
			s.dockerdKiB = m.pss(pid)
		} else {
			s.containerdKiB += m.pss(pid)
		}
	}
	return s
}

// pss is a process's proportional set size in KiB: its private pages and its share of the pages
// it shares (a shim's code, shared by every shim, counts once across them all). Kernels without
// smaps_rollup give VmRSS instead; 0 when the process is gone.
func (m memReader) pss(pid int) int64 {
	if v, ok := m.field(filepath.Join(m.proc, strconv.Itoa(pid), "smaps_rollup"), "Pss:"); ok {
		return v
	}
	v, _ := m.field(filepath.Join(m.proc, strconv.Itoa(pid), "status"), "VmRSS:")
	return v
}

// field reads the number after key in a "Key: value kB" file.
func (m memReader) field(path, key string) (int64, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == key {
			v, err := strconv.ParseInt(f[1], 10, 64)
			return v, err == nil
		}
	}
	return 0, false
}

// proc is what the density row needs of one process.
type proc struct {
	pid, ppid int
	comm      string
	args      []string
}

// procs lists every process under the /proc root.
func (m memReader) procs() []proc {
	ents, _ := os.ReadDir(m.proc)
	var out []proc
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join(m.proc, e.Name(), "stat"))
		if err != nil {
			continue
		}
		// "pid (comm) state ppid ...": comm may hold spaces and parentheses.
		open, end := bytes.IndexByte(stat, '('), bytes.LastIndexByte(stat, ')')
		if open < 0 || end < open {
			continue
		}
		rest := strings.Fields(string(stat[end+1:]))
		if len(rest) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(rest[1])
		cmdline, _ := os.ReadFile(filepath.Join(m.proc, e.Name(), "cmdline"))
		args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
		out = append(out, proc{pid: pid, ppid: ppid, comm: string(stat[open+1 : end]), args: args})
	}
	return out
}

// tree returns root and all its descendants.
func (m memReader) tree(root int) []int {
	kids := map[int][]int{}
	for _, p := range m.procs() {
		kids[p.ppid] = append(kids[p.ppid], p.pid)
	}
	out := []int{root}
	for i := 0; i < len(out); i++ {
		out = append(out, kids[out[i]]...)
	}
	return out
}

// enginePIDs finds the engine's long-lived processes behind host: dockerd (its pid file for the
// default socket, else the dockerd whose command line names the socket) and the containerd it
// runs, or the system's containerd when it runs none. Other children of dockerd (an embedded
// DNS resolver's setup, a userland proxy) come and go, and are left out.
func (m memReader) enginePIDs(host string) ([]int, error) {
	all := m.procs()
	dockerd := dockerdPID(host)
	sock := strings.TrimPrefix(host, "unix://")
	for _, p := range all {
		if dockerd == 0 && p.comm == "dockerd" && strings.Contains(strings.Join(p.args, " "), sock) {
			dockerd = p.pid
		}
	}
	if dockerd == 0 {
		return nil, fmt.Errorf("no dockerd process serves %s on this machine", host)
	}
	pids := []int{dockerd}
	var system []int
	for _, p := range all {
		switch {
		case p.comm == "containerd" && p.ppid == dockerd:
			pids = append(pids, p.pid)
		case p.comm == "containerd" && p.ppid == 1:
			system = append(system, p.pid)
		}
	}
	if len(pids) == 1 {
		pids = append(pids, system...)
	}
	return pids, nil
}

// shims maps container ids to the pid of their containerd-shim ("... -id <container id> ...").
func (m memReader) shims() map[string]int {
	out := map[string]int{}
	for _, p := range m.procs() {
		if !strings.HasPrefix(p.comm, "containerd-shim") {
			continue
		}
		for i := 0; i+1 < len(p.args); i++ {
			if p.args[i] == "-id" {
				out[p.args[i+1]] = p.pid
			}
		}
	}
	return out
}

// cgroupMemory reads the memory cgroup of a process: what it uses apart from page cache, and its
// page cache, in KiB. Cgroup v1's memory hierarchy is used where it is mounted (hybrid hosts
// have v2 mounted too, without the memory controller), else v2's unified one.
func (m memReader) cgroupMemory(pid int) (used, cache int64, err error) {
	data, err := os.ReadFile(filepath.Join(m.proc, strconv.Itoa(pid), "cgroup"))
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %w", errNoCgroup, err)
	}
	var v1, v2 string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			v2 = parts[2]
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c == "memory" {
				v1 = parts[2]
			}
		}
	}
	if v1 != "" {
		dir := filepath.Join(m.cgroup, "memory", v1)
		usage, err1 := readInt(filepath.Join(dir, "memory.usage_in_bytes"))
		stat, err2 := m.stat(filepath.Join(dir, "memory.stat"))
		if err := errors.Join(err1, err2); err != nil {
			return 0, 0, fmt.Errorf("%w: %w", errNoCgroup, err)
		}
		return (usage - stat["total_cache"]) / 1024, stat["total_cache"] / 1024, nil
	}
	if v2 != "" {
		dir := filepath.Join(m.cgroup, v2)
		current, err1 := readInt(filepath.Join(dir, "memory.current"))
		stat, err2 := m.stat(filepath.Join(dir, "memory.stat"))
		if err := errors.Join(err1, err2); err != nil {
			return 0, 0, fmt.Errorf("%w: %w", errNoCgroup, err)
		}
		return (current - stat["file"]) / 1024, stat["file"] / 1024, nil
	}
	return 0, 0, fmt.Errorf("pid %d: %w", pid, errNoCgroup)
}

// stat reads a memory.stat file: "key value" lines.
func (m memReader) stat(path string) (map[string]int64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) == 2 {
			if v, err := strconv.ParseInt(f[1], 10, 64); err == nil {
				out[f[0]] = v
			}
		}
	}
	return out, nil
}

func readInt(path string) (int64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
}

// side reads the containers of the instances ids (their cgroups and shims) and the growth of the
// shared processes from before to after, and returns the means per instance.
func (m memReader) side(ctx context.Context, api dockerclient.APIClient, ids []string, before, after memSnap, hearth bool) (densitySide, error) {
	s := densitySide{Instances: len(ids)}
	if len(ids) == 0 {
		return s, errors.New("no instances to measure")
	}
	shims := m.shims()
	var used, cache, shim int64
	for _, id := range ids {
		info, err := api.ContainerInspect(ctx, containerPrefix+id)
		if err != nil {
			return s, fmt.Errorf("inspect %s: %w", id, err)
		}
		if info.State == nil || info.State.Pid == 0 {
			return s, fmt.Errorf("%s has no running process", id)
		}
		u, c, err := m.cgroupMemory(info.State.Pid)
		if err != nil {
			return s, fmt.Errorf("%s: %w", id, err)
		}
		used, cache = used+u, cache+c
		if pid, ok := shims[info.ID]; ok {
			shim += m.pss(pid)
		}
	}
	n := float64(len(ids))
	s.ContainerKiB, s.PageCacheKiB, s.ShimKiB = float64(used)/n, float64(cache)/n, float64(shim)/n
	s.EngineKiB = growth(before.engineKiB(), after.engineKiB(), n)
	s.Growth = map[string]float64{"dockerd": delta(before.dockerdKiB, after.dockerdKiB, n),
		"containerd": delta(before.containerdKiB, after.containerdKiB, n)}
	if hearth {
		s.HearthKiB = growth(before.hearthKiB(), after.hearthKiB(), n)
		s.Growth["server"] = delta(before.serverKiB, after.serverKiB, n)
		s.Growth["plugin"] = delta(before.childrenKiB, after.childrenKiB, n)
	}
	return s, nil
}

// delta is a process's change per instance, shrinks included: the breakdown shows them as they
// were read.
func delta(before, after int64, n float64) float64 { return float64(after-before) / n }

// growth is a shared process's growth per instance. A shrink (a collection of its heap between
// the readings) counts as none: an instance never makes the node's memory smaller.
func growth(before, after int64, n float64) float64 {
	if after <= before {
		return 0
	}
	return float64(after-before) / n
}
