package placer

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// reason is the one-line account of why n won. It runs once per decision, so it may allocate.
func reason(n *Node, d *Demand, evict bool, total, considered int) string {
	b := make([]byte, 0, 160)
	sep := func() {
		if len(b) > 0 {
			b = append(b, "; "...)
		}
	}
	if evict {
		b = append(b, "fits once idle instances of other functions are stopped"...)
	}
	if d.Image != "" {
		sep()
		if n.Images[d.Image] {
			b = append(b, "has the image"...)
		} else {
			b = append(b, "must pull the image"...)
		}
	}
	sep()
	b = strconv.AppendInt(b, int64(n.FunctionInstances), 10)
	b = append(b, " of the function's "...)
	b = strconv.AppendInt(b, int64(total), 10)
	b = append(b, plural(total, " instance", " instances")...)
	b = append(b, " here"...)
	// After eviction, what the node will reserve depends on which instances the pool stops.
	if !evict {
		memLimited, cpuLimited := n.Allocatable.MemoryMB > 0, n.Allocatable.CPUMilli > 0
		sep()
		if memLimited {
			b = appendPercent(b, n.Reserved.MemoryMB+max(d.Resources.MemoryMB, 0), n.Allocatable.MemoryMB)
			b = append(b, " of memory"...)
		}
		if memLimited && cpuLimited {
			b = append(b, " and "...)
		}
		if cpuLimited {
			b = appendPercent(b, n.Reserved.CPUMilli+max(d.Resources.CPUMilli, 0), n.Allocatable.CPUMilli)
			b = append(b, " of CPU"...)
		}
		if memLimited || cpuLimited {
			b = append(b, " reserved"...)
		} else {
			b = append(b, "no memory or CPU limit"...)
		}
	}
	sep()
	b = strconv.AppendInt(b, int64(n.Instances), 10)
	b = append(b, plural(n.Instances, " instance", " instances")...)
	b = append(b, " on the node; best of "...)
	b = strconv.AppendInt(b, int64(considered), 10)
	if evict {
		b = append(b, plural(considered, " node", " nodes")...)
		b = append(b, " with room after eviction"...)
	} else {
		b = append(b, plural(considered, " node", " nodes")...)
		b = append(b, " with room"...)
	}
	return string(b)
}

// appendPercent appends used/alloc as a rounded percentage.
func appendPercent(b []byte, used, alloc int64) []byte {
	b = strconv.AppendInt(b, (used*100+alloc/2)/alloc, 10)
	return append(b, '%')
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// noNodeError says why every node was passed over, grouped by reason in a fixed order: state,
// constraints, capabilities, resources. A node is counted once, for the first filter it fails.
func noNodeError(nodes []Node, d *Demand) error {
	if len(nodes) == 0 {
		return fmt.Errorf("%w: no nodes", ErrNoNode)
	}
	var (
		states  = map[State]int{}
		labels  = map[string]int{}
		pause   int
		lowMem  shortGroup
		lowCPU  shortGroup
		lowBoth shortGroup
	)
	keys := make([]string, 0, len(d.Constraints))
	for k := range d.Constraints {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i := range nodes {
		n := &nodes[i]
		switch check(n, d) {
		case passedState:
			states[n.State]++
		case passedLabel:
			for _, k := range keys {
				if got, ok := n.Labels[k]; !ok || got != d.Constraints[k] {
					labels[k]++
					break
				}
			}
		case passedPause:
			pause++
		case shortMemory:
			lowMem.add(n)
		case shortCPU:
			lowCPU.add(n)
		case shortBoth:
			lowBoth.add(n)
		}
	}

	var parts []string
	for _, s := range []State{StateDown, StateDisconnected, StateDraining} {
		if c := states[s]; c > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c, s))
			delete(states, s)
		}
	}
	others := make([]string, 0, len(states))
	for s := range states {
		others = append(others, string(s))
	}
	sort.Strings(others)
	for _, s := range others {
		name := s
		if name == "" {
			name = "unknown"
		}
		parts = append(parts, fmt.Sprintf("%d in state %s", states[State(s)], name))
	}
	for _, k := range keys {
		if c := labels[k]; c > 0 {
			parts = append(parts, fmt.Sprintf("%d %s label %s=%s", c, plural(c, "lacks", "lack"), k, d.Constraints[k]))
		}
	}
	if pause > 0 {
		parts = append(parts, fmt.Sprintf("%d cannot pause instances", pause))
	}
	need := d.Resources
	if lowMem.n > 0 {
		parts = append(parts, fmt.Sprintf("%d short of memory (needs %d MB; most free %d MB)", lowMem.n, need.MemoryMB, lowMem.mem))
	}
	if lowCPU.n > 0 {
		parts = append(parts, fmt.Sprintf("%d short of CPU (needs %dm CPU; most free %dm)", lowCPU.n, need.CPUMilli, lowCPU.cpu))
	}
	if lowBoth.n > 0 {
		parts = append(parts, fmt.Sprintf("%d short of memory and CPU (needs %d MB and %dm CPU; most free %d MB and %dm)",
			lowBoth.n, need.MemoryMB, need.CPUMilli, lowBoth.mem, lowBoth.cpu))
	}
	return fmt.Errorf("%w: %d %s: %s", ErrNoNode, len(nodes), plural(len(nodes), "node", "nodes"), strings.Join(parts, ", "))
}

// shortGroup counts the nodes short of a resource and the most any of them could free: what is
// not reserved plus what eviction would give back.
type shortGroup struct {
	n        int
	mem, cpu int64
}

func (g *shortGroup) add(n *Node) {
	mem := max(n.Allocatable.MemoryMB-n.Reserved.MemoryMB+n.Evictable.MemoryMB, 0)
	cpu := max(n.Allocatable.CPUMilli-n.Reserved.CPUMilli+n.Evictable.CPUMilli, 0)
	if g.n == 0 || mem > g.mem {
		g.mem = mem
	}
	if g.n == 0 || cpu > g.cpu {
		g.cpu = cpu
	}
	g.n++
}

// NeverFits returns why one instance of d fits on no node even with the node empty, or "" when
// some node could take it once it has room. It looks at every node that matches d's
// constraints and capabilities, whatever its state: a node that is down or draining may come
// back, so its size still counts. With no such node it returns "" (Place's error says why).
// The pool uses it to fail a call at once (no_capacity) instead of waiting for room that can
// never come.
func NeverFits(nodes []Node, d Demand) string {
	need := d.Resources
	matched := 0
	memShortAll, cpuShortAll := true, true
	var mostMem, mostCPU int64
	memUnlimited, cpuUnlimited := false, false
	for i := range nodes {
		n := &nodes[i]
		if !hasLabels(n, &d) || (d.NeedPause && !n.Pause) {
			continue
		}
		matched++
		memFits := room(n.Allocatable.MemoryMB, 0, need.MemoryMB)
		cpuFits := room(n.Allocatable.CPUMilli, 0, need.CPUMilli)
		if memFits && cpuFits {
			return ""
		}
		memShortAll = memShortAll && !memFits
		cpuShortAll = cpuShortAll && !cpuFits
		mostMem = max(mostMem, n.Allocatable.MemoryMB)
		mostCPU = max(mostCPU, n.Allocatable.CPUMilli)
		memUnlimited = memUnlimited || n.Allocatable.MemoryMB <= 0
		cpuUnlimited = cpuUnlimited || n.Allocatable.CPUMilli <= 0
	}
	if matched == 0 {
		return ""
	}
	of := fmt.Sprintf("of %d %s", matched, plural(matched, "node", "nodes"))
	if matched < len(nodes) {
		of = fmt.Sprintf("of the %d %s that %s its constraints", matched, plural(matched, "node", "nodes"), plural(matched, "matches", "match"))
	}
	switch {
	case memShortAll && !cpuShortAll:
		return fmt.Sprintf("needs %d MB of memory per instance; %s, the largest offers %d MB", need.MemoryMB, of, mostMem)
	case cpuShortAll && !memShortAll:
		return fmt.Sprintf("needs %dm CPU per instance; %s, the largest offers %dm", need.CPUMilli, of, mostCPU)
	case memShortAll && cpuShortAll:
		return fmt.Sprintf("needs %d MB of memory and %dm CPU per instance; %s, the most any offers is %d MB and %dm",
			need.MemoryMB, need.CPUMilli, of, mostMem, mostCPU)
	default:
		mem, cpu := fmt.Sprintf("%d MB", mostMem), fmt.Sprintf("%dm", mostCPU)
		if memUnlimited {
			mem = "unlimited memory"
		}
		if cpuUnlimited {
			cpu = "unlimited CPU"
		}
		return fmt.Sprintf("needs %d MB of memory and %dm CPU per instance; %s, none offers both (the most any offers is %s and %s)",
			need.MemoryMB, need.CPUMilli, of, mem, cpu)
	}
}
