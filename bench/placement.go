package main

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/scheduler/placer"
)

// kindPlacement is the placer's row: the time of one placement decision, with no floor.
const kindPlacement kind = "placement"

// placementGoalUS is issue 11's goal for one decision over 100 nodes: p99 within 100 µs.
const placementGoalUS = 100

// placementSetup sizes the placement row's simulated cluster.
type placementSetup struct {
	nodes, functions int
	// warmup decisions fill the cluster to its steady state before decisions are timed.
	warmup, decisions int
	// live is how many instances run at once; past it, a random one stops after each start.
	live int
	seed uint64
}

// placementRow is the row of `make bench`: 20,000 decisions over 100 nodes and 1,000 functions
// (issue 11), after 10,000 that bring the cluster to its steady state: 3,600 instances, which
// reserve most of the CPU of the ready nodes, so that a few percent of the decisions need
// eviction.
func placementRow() row {
	return runPlacement(placementSetup{nodes: 100, functions: 1000, warmup: 10000, decisions: 20000, live: 3600, seed: 11})
}

// simFunction is one function of the simulated cluster.
type simFunction struct {
	demand placer.Demand
	// count is how many of its instances run on each node.
	count []int32
}

// simInstance is one running instance: which function, on which node.
type simInstance struct{ fn, node int }

// runPlacement times placer.Place on a simulated cluster (no Docker, no server): nodes of mixed
// size, state, labels and images, and functions of mixed size, some with constraints. Between
// decisions the cluster churns as the pool would make it: the chosen node reserves the instance
// (after evicting idle instances of other functions when the decision says so), and past `live`
// instances a random one stops. Only the Place call is timed; building each demand's view of the
// nodes (FunctionInstances, Evictable) is the caller's work and is not. Decisions per second is
// one goroutine's: decisions over the time spent in Place.
func runPlacement(s placementSetup) row {
	rng := rand.New(rand.NewPCG(s.seed, s.seed))
	nodes := simNodes(rng, s.nodes, s.functions)
	fns := simFunctions(rng, s.functions, s.nodes, nodes)
	var live []simInstance
	times := make([]time.Duration, 0, s.decisions)
	evicted, failed := 0, 0
	for i := range s.warmup + s.decisions {
		// Popular functions start more often: the square skews the choice toward low indexes.
		fi := int(float64(len(fns)) * rng.Float64() * rng.Float64())
		f := &fns[fi]
		for n := range nodes {
			nodes[n].FunctionInstances = int(f.count[n])
			// Idle instances of other functions: a share of what they reserve there.
			own := int64(f.count[n]) * f.demand.Resources.MemoryMB
			ownCPU := int64(f.count[n]) * f.demand.Resources.CPUMilli
			nodes[n].Evictable = instance.Resources{MemoryMB: (nodes[n].Reserved.MemoryMB - own) * 4 / 10,
				CPUMilli: (nodes[n].Reserved.CPUMilli - ownCPU) * 4 / 10}
		}
		start := time.Now()
		dec, err := placer.Place(nodes, f.demand)
		took := time.Since(start)
		if i >= s.warmup {
			times = append(times, took)
			if err != nil {
				failed++
			} else if dec.Evict {
				evicted++
			}
		}
		if err != nil {
			continue
		}
		n := slices.IndexFunc(nodes, func(n placer.Node) bool { return n.ID == dec.Node })
		if dec.Evict {
			live = simEvict(live, fns, nodes, fi, n)
		}
		// The node pulls the image to start the instance, and keeps it.
		nodes[n].Images[f.demand.Image] = true
		live = append(live, simInstance{fn: fi, node: n})
		simReserve(fns, nodes, live[len(live)-1], 1)
		if len(live) > s.live {
			k := rng.IntN(len(live))
			simReserve(fns, nodes, live[k], -1)
			live[k] = live[len(live)-1]
			live = live[:len(live)-1]
		}
	}
	logf("placement: %d decisions over %d nodes and %d functions: %d after eviction, %d found no node",
		s.decisions, s.nodes, s.functions, evicted, failed)
	return placementResult(s, times)
}

// placementResult makes the row from the timed decisions, with its goal.
func placementResult(s placementSetup, times []time.Duration) row {
	r := row{Function: "placer", Kind: kindPlacement,
		Name: fmt.Sprintf("placement, %d nodes and %d functions (per decision)", s.nodes, s.functions)}
	if len(times) == 0 {
		return r
	}
	slices.Sort(times)
	var total time.Duration
	for _, t := range times {
		total += t
	}
	ms := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }
	p99 := times[len(times)*99/100]
	r.Hearth = summary{N: len(times), MinMS: ms(times[0]), P50MS: ms(times[len(times)/2]), P99MS: ms(p99),
		RPS: float64(len(times)) / total.Seconds()}
	us := float64(p99.Nanoseconds()) / 1e3
	met := us <= placementGoalUS
	r.Goals = []goalResult{{Goal: fmt.Sprintf("p99 <= %d µs", placementGoalUS), Value: us, Measured: fmt.Sprintf("%.1f µs", us), Met: &met}}
	return r
}

// simNodes makes the cluster: sizes from 16 GB / 8 CPUs to 128 GB / 64 CPUs, a tenth of the
// nodes not ready, zones and a few GPU nodes, and each node holding the images of some functions.
func simNodes(rng *rand.Rand, count, functions int) []placer.Node {
	zones := []string{"a", "b", "c", "d"}
	nodes := make([]placer.Node, count)
	for i := range nodes {
		size := rng.IntN(4)
		n := placer.Node{
			ID:          fmt.Sprintf("node-%03d", i),
			State:       placer.StateReady,
			Allocatable: instance.Resources{MemoryMB: 16384 << size, CPUMilli: 8000 << size},
			Pause:       rng.IntN(5) != 0,
			Labels:      map[string]string{"zone": zones[rng.IntN(len(zones))]},
			Images:      map[string]bool{},
		}
		if rng.IntN(10) == 0 {
			n.Labels["gpu"] = "yes"
		}
		if rng.IntN(10) == 0 {
			n.State = []placer.State{placer.StateDraining, placer.StateDisconnected, placer.StateDown}[rng.IntN(3)]
		}
		nodes[i] = n
	}
	return nodes
}

// simFunctions makes the functions: sizes from 128 MB / 0.1 CPU to 2 GB / 2 CPUs, 15% bound to a
// zone, 3% to GPU nodes, 10% needing pause; each function's image is on 0 to 20 nodes.
func simFunctions(rng *rand.Rand, count, nodeCount int, nodes []placer.Node) []simFunction {
	mems := []int64{128, 256, 512, 1024, 2048}
	cpus := []int64{100, 250, 500, 1000, 2000}
	fns := make([]simFunction, count)
	for i := range fns {
		d := placer.Demand{
			Function:  fmt.Sprintf("fn-%04d", i),
			Image:     fmt.Sprintf("registry.local/hearth/fn-%04d:%016x", i, rng.Uint64()),
			Resources: instance.Resources{MemoryMB: mems[rng.IntN(len(mems))], CPUMilli: cpus[rng.IntN(len(cpus))]},
		}
		switch r := rng.IntN(100); {
		case r < 15:
			d.Constraints = map[string]string{"zone": []string{"a", "b", "c", "d"}[rng.IntN(4)]}
		case r < 18:
			d.Constraints = map[string]string{"gpu": "yes"}
		}
		d.NeedPause = rng.IntN(10) == 0
		for range rng.IntN(21) {
			nodes[rng.IntN(len(nodes))].Images[d.Image] = true
		}
		fns[i] = simFunction{demand: d, count: make([]int32, nodeCount)}
	}
	return fns
}

// simReserve adds (sign 1) or removes (sign -1) one instance's reservation on its node.
func simReserve(fns []simFunction, nodes []placer.Node, in simInstance, sign int) {
	f, n := &fns[in.fn], &nodes[in.node]
	res := f.demand.Resources
	f.count[in.node] += int32(sign)
	n.Instances += sign
	n.Reserved.MemoryMB += int64(sign) * res.MemoryMB
	n.Reserved.CPUMilli += int64(sign) * res.CPUMilli
}

// simEvict stops instances of other functions on node n until one of fns[fi] fits there, as the
// pool's eviction would.
func simEvict(live []simInstance, fns []simFunction, nodes []placer.Node, fi, n int) []simInstance {
	need := fns[fi].demand.Resources
	fits := func() bool {
		nd := nodes[n]
		return (nd.Reserved.MemoryMB+need.MemoryMB <= nd.Allocatable.MemoryMB) && (nd.Reserved.CPUMilli+need.CPUMilli <= nd.Allocatable.CPUMilli)
	}
	for k := 0; k < len(live) && !fits(); {
		if live[k].node != n || live[k].fn == fi {
			k++
			continue
		}
		simReserve(fns, nodes, live[k], -1)
		live[k] = live[len(live)-1]
		live = live[:len(live)-1]
	}
	return live
}
