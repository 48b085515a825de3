package placer

import (
	"errors"

	"github.com/hearthfn/hearth/agent/instance"
)

// State is a node's state as the registry (scheduler/nodes) sees it. Only ready nodes take new
// instances.
type State string

const (
	// StateReady: connected and heartbeating; takes new instances.
	StateReady State = "ready"
	// StateDraining: an admin asked it to take no new instances; its busy ones finish.
	StateDraining State = "draining"
	// StateDisconnected: its session is gone but the timeout has not passed; its instances keep
	// serving, no new ones go there.
	StateDisconnected State = "disconnected"
	// StateDown: no heartbeat for the node timeout; its instances have left the pool.
	StateDown State = "down"
)

// Node is the placer's view of one node for one demand. The caller (the pool) builds it from
// its own bookkeeping; FunctionInstances and Evictable depend on the demanded function.
type Node struct {
	ID    string
	State State
	// Allocatable is what instances may reserve on the node in all; a zero field is unlimited.
	Allocatable instance.Resources
	// Reserved is what its instances reserve now, including ones still stopping.
	Reserved instance.Resources
	// Evictable is what idle instances of other functions hold on the node and could be stopped
	// to make room for this one, and what stops under way there will free that no other start
	// has claimed.
	Evictable instance.Resources
	// Pause says the node's driver can pause instances.
	Pause bool
	// Labels are the node's labels (`hearth agent --label k=v`), matched by Demand.Constraints.
	Labels map[string]string
	// Images are the image references present on the node.
	Images map[string]bool
	// FunctionInstances is how many instances of the demanded function are on the node.
	FunctionInstances int
	// Instances is how many instances of any function are on the node.
	Instances int
}

// Demand is one new instance of a function to place.
type Demand struct {
	Function string
	Image    string
	// Resources is what the instance reserves; a zero field needs none of that resource.
	Resources instance.Resources
	// Constraints must all hold: every key is a node label with exactly that value.
	Constraints map[string]string
	// NeedPause passes over nodes whose driver cannot pause.
	NeedPause bool
}

// Decision is where the instance goes, and why.
type Decision struct {
	Node string
	// Evict: the instance fits on Node only after idle instances of other functions there are
	// stopped; no node had room for it as it is.
	Evict bool
	// Reason is one line for people (`hearth inspect`), e.g. "has the image; 0 of the
	// function's 2 instances here; 12% of memory reserved; 7 instances on the node; best of 40
	// nodes with room".
	Reason string
	// Score is the node's score (higher is better); doc.go explains its terms.
	Score float64
}

// ErrNoNode is wrapped by Place's error when every node was passed over; the message says why,
// grouped by reason.
var ErrNoNode = errors.New("no node can run the instance")

// The score's weights. They make the terms strict tiers (doc.go says why this order):
// one instance of the function fewer on a node (weightSpread) outweighs the image and the whole
// load term together (weightImage + loadMax), and the image outweighs the whole load term.
const (
	weightSpread = 10.0
	weightImage  = 6.0
	// The load term: the share of the node's memory and CPU reserved once the instance runs
	// (each at most 1), and the number of instances on it, as n/(n+instancesHalf).
	weightMemory    = 1.5
	weightCPU       = 1.0
	weightInstances = 0.5
	loadMax         = weightMemory + weightCPU + weightInstances
	// instancesHalf is the instance count at which the instance term is half its weight.
	instancesHalf = 10
)

// verdict is what the filters made of one node, in the order they run.
type verdict uint8

const (
	fitsNow verdict = iota
	fitsAfterEvict
	passedState
	passedLabel
	passedPause
	shortMemory
	shortCPU
	shortBoth
)

// Place returns the best node for d: among the ready nodes that match d's constraints and
// capabilities and have room for it now, the one with the highest score; when none has room,
// the best of those where it fits after evicting idle instances of other functions
// (Decision.Evict). Ties go to the smallest node ID, so a decision depends only on its input.
// When every node is passed over, the error wraps ErrNoNode and says why, grouped by reason.
//
// Place allocates nothing per node; only the winner's reason string is built.
func Place(nodes []Node, d Demand) (Decision, error) {
	best := -1
	var bestScore float64
	bestEvict := false
	nowCount, evictCount, total := 0, 0, 0
	for i := range nodes {
		n := &nodes[i]
		total += n.FunctionInstances
		v := check(n, &d)
		if v > fitsAfterEvict {
			continue
		}
		evict := v == fitsAfterEvict
		if evict {
			evictCount++
		} else {
			nowCount++
		}
		// A node with room now always beats one that needs eviction.
		if best >= 0 && evict && !bestEvict {
			continue
		}
		s := score(n, &d)
		if best < 0 || (bestEvict && !evict) || s > bestScore || (s == bestScore && n.ID < nodes[best].ID) {
			best, bestScore, bestEvict = i, s, evict
		}
	}
	if best < 0 {
		return Decision{}, noNodeError(nodes, &d)
	}
	considered := nowCount
	if bestEvict {
		considered = evictCount
	}
	n := &nodes[best]
	return Decision{Node: n.ID, Evict: bestEvict, Score: bestScore, Reason: reason(n, &d, bestEvict, total, considered)}, nil
}

// check runs the filters on one node: state, constraints, capabilities, then resources.
func check(n *Node, d *Demand) verdict {
	if n.State != StateReady {
		return passedState
	}
	if !hasLabels(n, d) {
		return passedLabel
	}
	if d.NeedPause && !n.Pause {
		return passedPause
	}
	need, alloc, res, ev := d.Resources, n.Allocatable, n.Reserved, n.Evictable
	memNow := room(alloc.MemoryMB, res.MemoryMB, need.MemoryMB)
	cpuNow := room(alloc.CPUMilli, res.CPUMilli, need.CPUMilli)
	if memNow && cpuNow {
		return fitsNow
	}
	memLater := memNow || room(alloc.MemoryMB, res.MemoryMB-ev.MemoryMB, need.MemoryMB)
	cpuLater := cpuNow || room(alloc.CPUMilli, res.CPUMilli-ev.CPUMilli, need.CPUMilli)
	switch {
	case memLater && cpuLater:
		return fitsAfterEvict
	case !memLater && !cpuLater:
		return shortBoth
	case !memLater:
		return shortMemory
	default:
		return shortCPU
	}
}

// hasLabels reports whether every constraint of d is a label of n with that value.
func hasLabels(n *Node, d *Demand) bool {
	for k, want := range d.Constraints {
		if got, ok := n.Labels[k]; !ok || got != want {
			return false
		}
	}
	return true
}

// room reports whether need fits in alloc with reserved taken. A zero (or negative) alloc is
// unlimited, a zero need needs nothing.
func room(alloc, reserved, need int64) bool {
	return need <= 0 || alloc <= 0 || reserved+need <= alloc
}

// score rates a node that passed the filters; higher is better. doc.go explains the terms.
func score(n *Node, d *Demand) float64 {
	s := -weightSpread * float64(n.FunctionInstances)
	if d.Image != "" && n.Images[d.Image] {
		s += weightImage
	}
	return s - load(n, d)
}

// load is the node's load term once the instance runs there, from 0 to loadMax.
func load(n *Node, d *Demand) float64 {
	l := weightMemory * share(n.Reserved.MemoryMB+max(d.Resources.MemoryMB, 0), n.Allocatable.MemoryMB)
	l += weightCPU * share(n.Reserved.CPUMilli+max(d.Resources.CPUMilli, 0), n.Allocatable.CPUMilli)
	if n.Instances > 0 {
		l += weightInstances * float64(n.Instances) / float64(n.Instances+instancesHalf)
	}
	return l
}

// share is used/alloc between 0 and 1, and 0 when alloc is unlimited. It is capped at 1 because
// a node that fits only after eviction would otherwise be rated by how much it must stop, and
// the load term would no longer stay below the image's weight.
func share(used, alloc int64) float64 {
	if alloc <= 0 || used <= 0 {
		return 0
	}
	if used >= alloc {
		return 1
	}
	return float64(used) / float64(alloc)
}
