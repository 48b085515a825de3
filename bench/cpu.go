package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// The warm rows count the CPU every process spends per call, on each side: hearth's server, its
// driver plugin (a child process, `hearth __driver docker`) and dockerd, which reads the
// instance's output back for hearth's log collector; the bare proxy and dockerd; dockerd alone
// for the direct calls. The direct calls and the bare proxy go to a container the bench started
// itself, whose output nobody follows, so that nothing hearth does for its own instance (the log
// follows) is paid while the floor is measured. /proc/PID/stat's utime and stime sum all the
// threads of a process; a plugin is a process of its own and is read apart.

// Process names in cpuPerCall.
const (
	procServer = "server"
	procPlugin = "driver plugin"
	procDocker = "dockerd"
	procProxy  = "bare proxy"
)

// errNoPlugin is returned when the server has no driver plugin child (a server whose driver
// runs in its own process).
var errNoPlugin = errors.New("no driver plugin process under the server")

// meteredProc is a process whose CPU time is read around a side's calls.
type meteredProc struct {
	name string
	pid  int
}

// cpuMeter reads the CPU time of a few processes and adds up what they used between reads.
type cpuMeter struct {
	procs []meteredProc
	used  []time.Duration
}

func newCPUMeter(procs ...meteredProc) *cpuMeter {
	var kept []meteredProc
	for _, p := range procs {
		if p.pid > 0 {
			kept = append(kept, p)
		}
	}
	return &cpuMeter{procs: kept, used: make([]time.Duration, len(kept))}
}

// read returns each process's CPU time so far.
func (m *cpuMeter) read() ([]time.Duration, error) {
	out := make([]time.Duration, len(m.procs))
	for i, p := range m.procs {
		t, err := cpuTime(p.pid)
		if err != nil {
			return nil, fmt.Errorf("CPU time of the %s: %w", p.name, err)
		}
		out[i] = t
	}
	return out, nil
}

// add counts what each process used since before.
func (m *cpuMeter) add(before, after []time.Duration) {
	for i := range m.used {
		m.used[i] += after[i] - before[i]
	}
}

// perCall returns each process's CPU per call in µs, in the meter's order.
func (m *cpuMeter) perCall(calls int) []procCPU {
	if calls == 0 {
		return nil
	}
	out := make([]procCPU, len(m.procs))
	for i, p := range m.procs {
		out[i] = procCPU{Process: p.name, US: float64(m.used[i].Microseconds()) / float64(calls)}
	}
	return out
}

// procCPU is one process's CPU time per call.
type procCPU struct {
	Process string  `json:"process"`
	US      float64 `json:"us"`
}

// cpuPerCall is the CPU each side's processes spent per warm call, in µs.
type cpuPerCall struct {
	Hearth    []procCPU `json:"hearth"`
	BareProxy []procCPU `json:"bare_proxy"`
	Floor     []procCPU `json:"floor"`
	// HearthTotal is what hearth costs per call: its server and driver plugin, and dockerd's
	// CPU per call beyond what it spends per direct call to the container nobody follows (the
	// instance's output written to its log, which is paid with or without hearth).
	HearthTotal float64 `json:"hearth_total_us"`
}

func newCPUPerCall(hearth, proxy, floor []procCPU) *cpuPerCall {
	c := &cpuPerCall{Hearth: hearth, BareProxy: proxy, Floor: floor}
	for _, p := range hearth {
		c.HearthTotal += p.US
	}
	c.HearthTotal -= of(floor, procDocker)
	return c
}

// of returns the named process's figure, 0 when it was not measured.
func of(ps []procCPU, name string) float64 {
	for _, p := range ps {
		if p.Process == name {
			return p.US
		}
	}
	return 0
}

// pluginPID finds the driver plugin the server at pid launched: the child whose command line
// holds "__driver" (plugin.Loader runs `hearth __driver NAME`).
func pluginPID(pid int) (int, error) {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	if err != nil {
		return 0, err
	}
	for _, t := range tasks {
		data, err := os.ReadFile(t)
		if err != nil {
			continue // the thread ended
		}
		for _, f := range strings.Fields(string(data)) {
			child, err := strconv.Atoi(f)
			if err != nil {
				continue
			}
			cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", child))
			if err == nil && strings.Contains(string(cmd), "__driver") {
				return child, nil
			}
		}
	}
	return 0, errNoPlugin
}

// dockerdPID returns the pid of the engine at host when it is the local default one (its pid
// file), else 0: an engine elsewhere is not measured.
func dockerdPID(host string) int {
	if host != defaultDockerHost {
		return 0
	}
	data, err := os.ReadFile(defaultDockerPIDFile)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return 0
	}
	return pid
}

// printCPU shows the warm rows' CPU per call, process by process, on each side.
func printCPU(w io.Writer, rows []row) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	header := false
	for _, r := range rows {
		if r.CPU == nil {
			continue
		}
		if !header {
			fmt.Fprintf(w, "\nCPU per warm call, µs (user + system from /proc; the floor and the bare proxy call a container\n")
			fmt.Fprintf(w, "the bench started, whose output nobody follows)\n\n")
			fmt.Fprintln(tw, "FUNCTION\tMEASUREMENT\tHEARTH: SERVER + PLUGIN + DOCKERD\tBARE PROXY: PROXY + DOCKERD\tDIRECT: DOCKERD\tHEARTH'S OWN (dockerd beyond direct)")
			header = true
		}
		fmt.Fprintf(tw, "%s\t%s\t%.0f + %.0f + %.0f\t%.0f + %.0f\t%.0f\t%.0f\n", functionCell(r), r.Name,
			of(r.CPU.Hearth, procServer), of(r.CPU.Hearth, procPlugin), of(r.CPU.Hearth, procDocker),
			of(r.CPU.BareProxy, procProxy), of(r.CPU.BareProxy, procDocker), of(r.CPU.Floor, procDocker), r.CPU.HearthTotal)
	}
	tw.Flush()
}

// proxyShare measures hearth's throughput as a share of the bare proxy's.
func proxyShare(r row) (float64, bool) {
	if r.BareProxy == nil || r.BareProxy.RPS == 0 || r.Hearth.RPS == 0 {
		return 0, false
	}
	return r.Hearth.RPS / r.BareProxy.RPS, true
}

// hearthCPU measures all of hearth's CPU per call (cpuPerCall.HearthTotal), in µs.
func hearthCPU(r row) (float64, bool) {
	if r.CPU == nil {
		return 0, false
	}
	return r.CPU.HearthTotal, true
}

func micros(v float64) string { return fmt.Sprintf("%.0f µs", v) }
