package testengine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// killLeftovers kills what an engine that did not stop cleanly may leave running: its
// containerd and containerd's shims, which name the engine's folder on their command line, and
// the shims' containers.
func (e *Engine) killLeftovers() {
	for _, pid := range e.pids() {
		e.logf("killing a leftover of the engine: %d %s", pid, strings.ReplaceAll(readCmdline(pid), "\x00", " "))
		killTree(pid)
	}
}

// KillLeakedTasks kills the tasks that the running engine no longer counts as its containers'.
// Docker 20.10 leaks the task of a container start that races its own shutdown: its containerd
// shim and the container's process live on, outside the engine. Such a task holds a copy of the
// mounts made meanwhile, and so keeps another container's root file system busy: the engine
// cannot remove that container ("device or resource busy") while the task lives. Killing it is
// the operator's cleanup after such a stop. It returns the ids of the containers whose task it
// killed.
func (e *Engine) KillLeakedTasks(ctx context.Context) ([]string, error) {
	out, err := e.Docker(ctx, "ps", "-q", "--no-trunc")
	if err != nil {
		return nil, fmt.Errorf("docker ps: %v: %s", err, out)
	}
	running := map[string]bool{}
	for _, id := range strings.Fields(out) {
		running[id] = true
	}
	var killed []string
	for _, pid := range e.pids() {
		args := strings.Split(readCmdline(pid), "\x00")
		if len(args) == 0 || !strings.HasSuffix(args[0], "containerd-shim-runc-v2") {
			continue
		}
		id := ""
		for i, a := range args[:len(args)-1] {
			if a == "-id" {
				id = args[i+1]
			}
		}
		if id == "" || running[id] {
			continue
		}
		killTree(pid)
		killed = append(killed, id)
	}
	return killed, nil
}

// killTree kills pid's children, then pid: a shim and its container.
func killTree(pid int) {
	for _, child := range childrenOf(pid) {
		_ = syscall.Kill(child, syscall.SIGKILL)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
}

// pids lists the processes whose command line names the engine's folder: its containerd and
// the shims.
func (e *Engine) pids() []int {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	var pids []int
	for _, p := range procs {
		var pid int
		if _, err := fmt.Sscanf(p, "/proc/%d/cmdline", &pid); err != nil || pid == os.Getpid() {
			continue
		}
		if strings.Contains(readCmdline(pid), e.dir+"/") {
			pids = append(pids, pid)
		}
	}
	return pids
}

func readCmdline(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return strings.TrimRight(string(b), "\x00")
}

// childrenOf lists the processes whose parent is pid.
func childrenOf(pid int) []int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var kids []int
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if child, ppid, ok := parseStat(string(b)); ok && ppid == pid {
			kids = append(kids, child)
		}
	}
	return kids
}

// parseStat reads a process's id and its parent's from its /proc/PID/stat line,
// "pid (comm) state ppid ...", where comm may hold spaces and parentheses.
func parseStat(line string) (pid, ppid int, ok bool) {
	rest := line
	if i := strings.LastIndexByte(rest, ')'); i >= 0 {
		rest = rest[i+1:]
	}
	var state string
	if _, err := fmt.Sscanf(line, "%d", &pid); err != nil {
		return 0, 0, false
	}
	if _, err := fmt.Sscanf(rest, " %s %d", &state, &ppid); err != nil {
		return 0, 0, false
	}
	return pid, ppid, true
}
