package placer

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/hearthfn/hearth/agent/instance"
)

const img = "registry.local/fn/hello@sha256:abc"

// nd is a ready node with 8 GB and 4 CPUs to allocate, nothing reserved and no image; opts
// change it.
func nd(id string, opts ...func(*Node)) Node {
	n := Node{ID: id, State: StateReady, Allocatable: instance.Resources{MemoryMB: 8192, CPUMilli: 4000}}
	for _, o := range opts {
		o(&n)
	}
	return n
}

func state(s State) func(*Node) { return func(n *Node) { n.State = s } }
func image(n *Node)             { n.Images = map[string]bool{img: true} }
func pause(n *Node)             { n.Pause = true }
func labels(kv ...string) func(*Node) {
	return func(n *Node) {
		n.Labels = map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			n.Labels[kv[i]] = kv[i+1]
		}
	}
}
func alloc(mem, cpu int64) func(*Node) {
	return func(n *Node) { n.Allocatable = instance.Resources{MemoryMB: mem, CPUMilli: cpu} }
}
func reserved(mem, cpu int64) func(*Node) {
	return func(n *Node) { n.Reserved = instance.Resources{MemoryMB: mem, CPUMilli: cpu} }
}
func evictable(mem, cpu int64) func(*Node) {
	return func(n *Node) { n.Evictable = instance.Resources{MemoryMB: mem, CPUMilli: cpu} }
}
func fnInstances(c int) func(*Node) { return func(n *Node) { n.FunctionInstances = c } }
func instances(c int) func(*Node)   { return func(n *Node) { n.Instances = c } }

// dm is a demand for 512 MB and half a CPU of img.
func dm(opts ...func(*Demand)) Demand {
	d := Demand{Function: "hello", Image: img, Resources: instance.Resources{MemoryMB: 512, CPUMilli: 500}}
	for _, o := range opts {
		o(&d)
	}
	return d
}

func needs(mem, cpu int64) func(*Demand) {
	return func(d *Demand) { d.Resources = instance.Resources{MemoryMB: mem, CPUMilli: cpu} }
}
func constraint(kv ...string) func(*Demand) {
	return func(d *Demand) {
		d.Constraints = map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			d.Constraints[kv[i]] = kv[i+1]
		}
	}
}
func needPause(d *Demand) { d.NeedPause = true }

type placeCase struct {
	name  string
	nodes []Node
	d     Demand
	// want is the chosen node; wantErr, when set, is the whole error message instead.
	want      string
	wantEvict bool
	wantErr   string
}

func runPlace(t *testing.T, cases []placeCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Place(tc.nodes, tc.d)
			if tc.wantErr != "" {
				if err == nil {
					t.Fatalf("want error %q, got node %s (%s)", tc.wantErr, got.Node, got.Reason)
				}
				if !errors.Is(err, ErrNoNode) {
					t.Errorf("error does not wrap ErrNoNode: %v", err)
				}
				if err.Error() != tc.wantErr {
					t.Errorf("error\n got %q\nwant %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("want node %s, got error %v", tc.want, err)
			}
			if got.Node != tc.want || got.Evict != tc.wantEvict {
				t.Errorf("got node %s evict=%v (%s), want %s evict=%v", got.Node, got.Evict, got.Reason, tc.want, tc.wantEvict)
			}
		})
	}
}

func TestPlaceFilters(t *testing.T) {
	runPlace(t, []placeCase{
		{name: "only ready nodes take instances", d: dm(), want: "e",
			nodes: []Node{nd("a", state(StateDraining)), nd("b", state(StateDisconnected)), nd("c", state(StateDown)), nd("d", state("")), nd("e")}},
		{name: "a constraint needs the label with that value", d: dm(constraint("zone", "b")), want: "c",
			nodes: []Node{nd("a"), nd("b", labels("zone", "a")), nd("c", labels("zone", "b", "gpu", "no"))}},
		{name: "every constraint must hold", d: dm(constraint("zone", "b", "gpu", "yes")), want: "c",
			nodes: []Node{nd("a", labels("zone", "b")), nd("b", labels("gpu", "yes")), nd("c", labels("zone", "b", "gpu", "yes"))}},
		{name: "a label's empty value still has to match", d: dm(constraint("edge", "")), want: "b",
			nodes: []Node{nd("a"), nd("b", labels("edge", ""))}},
		{name: "no constraints: labels do not matter", d: dm(), want: "a",
			nodes: []Node{nd("a", labels("zone", "x")), nd("b")}},
		{name: "need pause passes over nodes that cannot", d: dm(needPause), want: "b",
			nodes: []Node{nd("a", image), nd("b", pause)}},
		{name: "pause not needed: any node", d: dm(), want: "a",
			nodes: []Node{nd("a", image), nd("b", pause)}},
		{name: "memory: exact fit is a fit", d: dm(), want: "b",
			nodes: []Node{nd("a", image, reserved(7681, 0)), nd("b", reserved(7680, 0))}},
		{name: "cpu: short is passed over", d: dm(), want: "b",
			nodes: []Node{nd("a", image, reserved(0, 3600)), nd("b", reserved(0, 3500))}},
		{name: "zero allocatable memory is unlimited", d: dm(needs(1<<20, 0)), want: "b",
			nodes: []Node{nd("a"), nd("b", alloc(0, 4000))}},
		{name: "zero allocatable cpu is unlimited", d: dm(needs(0, 64000)), want: "b",
			nodes: []Node{nd("a"), nd("b", alloc(8192, 0))}},
		{name: "zero demand needs nothing of a full node", d: dm(needs(0, 0)), want: "a",
			nodes: []Node{nd("a", image, reserved(8192, 4000)), nd("b", state(StateDown))}},
		{name: "reserved above allocatable (adopted instances) fits nothing", d: dm(needs(1, 0)), want: "b",
			nodes: []Node{nd("a", image, reserved(9000, 0)), nd("b")}},
	})
}

func TestPlaceScore(t *testing.T) {
	runPlace(t, []placeCase{
		{name: "the image beats load", d: dm(), want: "b",
			nodes: []Node{nd("a"), nd("b", image, reserved(7000, 3400), instances(40))}},
		{name: "spread beats the image", d: dm(), want: "b",
			nodes: []Node{nd("a", image, fnInstances(1)), nd("b")}},
		{name: "spread beats the image and load together", d: dm(), want: "b",
			nodes: []Node{nd("a", image, fnInstances(1)), nd("b", reserved(7680, 3500), instances(1000))}},
		{name: "fewer of the function's instances wins", d: dm(), want: "c",
			nodes: []Node{nd("a", image, fnInstances(3)), nd("b", image, fnInstances(2)), nd("c", image, fnInstances(1))}},
		{name: "lower memory share wins", d: dm(), want: "b",
			nodes: []Node{nd("a", reserved(4096, 0)), nd("b", reserved(2048, 0))}},
		{name: "lower cpu share wins", d: dm(), want: "a",
			nodes: []Node{nd("a", reserved(0, 1000)), nd("b", reserved(0, 2000))}},
		{name: "share is relative to the node's size", d: dm(), want: "big",
			nodes: []Node{nd("small", alloc(4096, 2000), reserved(1024, 500)), nd("big", alloc(32768, 16000), reserved(4096, 2000))}},
		{name: "memory weighs more than cpu", d: dm(), want: "b",
			nodes: []Node{nd("a", reserved(4096, 0)), nd("b", reserved(0, 2000))}},
		{name: "fewer instances wins on unlimited nodes", d: dm(), want: "b",
			nodes: []Node{nd("a", alloc(0, 0), instances(5)), nd("b", alloc(0, 0), instances(4))}},
		{name: "fewer instances breaks an equal share", d: dm(), want: "b",
			nodes: []Node{nd("a", reserved(1024, 0), instances(8)), nd("b", reserved(1024, 0), instances(2))}},
		{name: "equal scores go to the smallest id", d: dm(), want: "n1",
			nodes: []Node{nd("n3"), nd("n1"), nd("n2")}},
		{name: "no image in the demand: no image term", d: dm(func(d *Demand) { d.Image = "" }), want: "a",
			nodes: []Node{nd("a"), nd("b", image)}},
	})
}

func TestPlaceEvict(t *testing.T) {
	runPlace(t, []placeCase{
		{name: "fits only after eviction", d: dm(), want: "b", wantEvict: true,
			nodes: []Node{nd("a", reserved(8000, 0), evictable(100, 0)), nd("b", reserved(8000, 0), evictable(400, 0))}},
		{name: "cpu after eviction", d: dm(), want: "a", wantEvict: true,
			nodes: []Node{nd("a", reserved(0, 4000), evictable(0, 500))}},
		{name: "room now beats a better score after eviction", d: dm(), want: "b",
			nodes: []Node{nd("a", image, reserved(8000, 0), evictable(8000, 0)), nd("b", fnInstances(4), reserved(7000, 3000), instances(90))}},
		{name: "room now beats eviction whatever the order", d: dm(), want: "a",
			nodes: []Node{nd("a", fnInstances(4)), nd("b", image, reserved(8000, 0), evictable(8000, 0))}},
		{name: "among eviction nodes the score decides", d: dm(), want: "c", wantEvict: true,
			nodes: []Node{nd("a", reserved(8000, 0), evictable(1000, 0), fnInstances(1)), nd("b", reserved(8000, 0), evictable(1000, 0)),
				nd("c", image, reserved(8000, 0), evictable(1000, 0))}},
		{name: "memory now, cpu after eviction", d: dm(), want: "a", wantEvict: true,
			nodes: []Node{nd("a", reserved(0, 3800), evictable(0, 300))}},
		{name: "eviction not enough", d: dm(),
			nodes:   []Node{nd("a", reserved(8000, 0), evictable(200, 0))},
			wantErr: "no node can run the instance: 1 node: 1 short of memory (needs 512 MB; most free 392 MB)"},
	})
}

func TestPlaceErrors(t *testing.T) {
	runPlace(t, []placeCase{
		{name: "no nodes", d: dm(), wantErr: "no node can run the instance: no nodes"},
		{name: "states and a label", d: dm(constraint("zone", "b")),
			nodes:   []Node{nd("a", state(StateDown)), nd("b", state(StateDraining)), nd("c", labels("zone", "a"))},
			wantErr: "no node can run the instance: 3 nodes: 1 down, 1 draining, 1 lacks label zone=b"},
		{name: "states in a fixed order, unknown ones last", d: dm(),
			nodes: []Node{nd("a", state(StateDraining)), nd("b", state(StateDisconnected)), nd("c", state(StateDown)),
				nd("d", state(StateDown)), nd("e", state("")), nd("f", state("joining"))},
			wantErr: "no node can run the instance: 6 nodes: 2 down, 1 disconnected, 1 draining, 1 in state unknown, 1 in state joining"},
		{name: "labels grouped by the first missing constraint, by key", d: dm(constraint("zone", "b", "gpu", "yes")),
			nodes:   []Node{nd("a"), nd("b", labels("zone", "b")), nd("c", labels("gpu", "yes")), nd("d", labels("gpu", "no", "zone", "b"))},
			wantErr: "no node can run the instance: 4 nodes: 3 lack label gpu=yes, 1 lacks label zone=b"},
		{name: "pause", d: dm(needPause), nodes: []Node{nd("a"), nd("b")},
			wantErr: "no node can run the instance: 2 nodes: 2 cannot pause instances"},
		{name: "short of memory: the most free counts eviction", d: dm(),
			nodes:   []Node{nd("a", reserved(8092, 0)), nd("b", reserved(8000, 0), evictable(50, 0))},
			wantErr: "no node can run the instance: 2 nodes: 2 short of memory (needs 512 MB; most free 242 MB)"},
		{name: "short of cpu", d: dm(),
			nodes:   []Node{nd("a", reserved(0, 3900))},
			wantErr: "no node can run the instance: 1 node: 1 short of CPU (needs 500m CPU; most free 100m)"},
		{name: "short of both", d: dm(),
			nodes:   []Node{nd("a", reserved(8192, 3950)), nd("b", reserved(9000, 3000), alloc(8192, 3200))},
			wantErr: "no node can run the instance: 2 nodes: 2 short of memory and CPU (needs 512 MB and 500m CPU; most free 0 MB and 200m)"},
		{name: "every kind at once, each node counted once", d: dm(constraint("zone", "b"), needPause),
			nodes: []Node{nd("a", state(StateDown)), nd("b", labels("zone", "a"), pause), nd("c", labels("zone", "b")),
				nd("d", labels("zone", "b"), pause, reserved(8000, 0)), nd("e", labels("zone", "b"), pause, reserved(0, 4000))},
			wantErr: "no node can run the instance: 5 nodes: 1 down, 1 lacks label zone=b, 1 cannot pause instances, " +
				"1 short of memory (needs 512 MB; most free 192 MB), 1 short of CPU (needs 500m CPU; most free 0m)"},
	})
}

func TestPlaceReason(t *testing.T) {
	cases := []struct {
		name  string
		nodes []Node
		d     Demand
		want  Decision
	}{
		{name: "image, spread and load", d: dm(),
			nodes: []Node{nd("a", image, reserved(512, 0), instances(7)), nd("b", fnInstances(2), instances(2)), nd("c", state(StateDown))},
			want: Decision{Node: "a", Score: weightImage - weightMemory*0.125 - weightCPU*0.125 - weightInstances*7.0/17,
				Reason: "has the image; 0 of the function's 2 instances here; 13% of memory and 13% of CPU reserved; 7 instances on the node; best of 2 nodes with room"}},
		{name: "a pull, memory only", d: dm(),
			nodes: []Node{nd("a", alloc(1024, 0), fnInstances(1), instances(1))},
			want: Decision{Node: "a", Score: -weightSpread - weightMemory*0.5 - weightInstances*1.0/11,
				Reason: "must pull the image; 1 of the function's 1 instance here; 50% of memory reserved; 1 instance on the node; best of 1 node with room"}},
		{name: "cpu only", d: dm(),
			nodes: []Node{nd("a", image, alloc(0, 1000))},
			want: Decision{Node: "a", Score: weightImage - weightCPU*0.5,
				Reason: "has the image; 0 of the function's 0 instances here; 50% of CPU reserved; 0 instances on the node; best of 1 node with room"}},
		{name: "unlimited", d: dm(func(d *Demand) { d.Image = "" }),
			nodes: []Node{nd("a", alloc(0, 0))},
			want: Decision{Node: "a", Score: 0,
				Reason: "0 of the function's 0 instances here; no memory or CPU limit; 0 instances on the node; best of 1 node with room"}},
		{name: "eviction", d: dm(),
			nodes: []Node{nd("a", image, reserved(8192, 0), evictable(1024, 0), instances(3)), nd("b", reserved(8192, 0), evictable(512, 0))},
			want: Decision{Node: "a", Evict: true, Score: weightImage - weightMemory - weightCPU*0.125 - weightInstances*3.0/13,
				Reason: "fits once idle instances of other functions are stopped; has the image; 0 of the function's 0 instances here; 3 instances on the node; best of 2 nodes with room after eviction"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Place(tc.nodes, tc.d)
			if err != nil {
				t.Fatal(err)
			}
			if got.Node != tc.want.Node || got.Evict != tc.want.Evict || got.Reason != tc.want.Reason {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
			if diff := got.Score - tc.want.Score; diff > 1e-9 || diff < -1e-9 {
				t.Errorf("score %v, want %v", got.Score, tc.want.Score)
			}
		})
	}
}

// TestPlaceDeterministic: the order of the nodes never changes the decision, also among equal
// scores, and the same input always gives the same output.
func TestPlaceDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	nodes := randomNodes(rng, 60)
	// Clones of one node under other IDs: equal scores everywhere.
	for i := range 10 {
		c := nodes[0]
		c.ID = fmt.Sprintf("clone-%02d", 9-i)
		nodes = append(nodes, c)
	}
	for _, d := range []Demand{dm(), dm(needs(2048, 1000)), dm(constraint("zone", "b")), dm(needs(7000, 0))} {
		first, err := Place(nodes, d)
		for range 50 {
			shuffled := append([]Node(nil), nodes...)
			rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			got, err2 := Place(shuffled, d)
			if got != first || fmt.Sprint(err) != fmt.Sprint(err2) {
				t.Fatalf("order changed the decision: %+v (%v) then %+v (%v)", first, err, got, err2)
			}
		}
	}
	clones := make([]Node, 0, 10)
	for _, n := range nodes {
		if strings.HasPrefix(n.ID, "clone-") {
			clones = append(clones, n)
		}
	}
	got, err := Place(clones, dm(needs(0, 0)))
	if err != nil || got.Node != "clone-00" {
		t.Fatalf("equal scores: got %+v, %v; want clone-00", got, err)
	}
}

func TestPlaceAllocations(t *testing.T) {
	nodes := randomNodes(rand.New(rand.NewPCG(3, 4)), 100)
	d := dm(constraint("zone", "b"))
	if _, err := Place(nodes, d); err != nil {
		t.Fatal(err)
	}
	// The reason string, and nothing per node.
	if n := testing.AllocsPerRun(100, func() { _, _ = Place(nodes, d) }); n > 2 {
		t.Errorf("Place allocates %v times per call, want at most 2", n)
	}
}

func TestNeverFits(t *testing.T) {
	cases := []struct {
		name  string
		nodes []Node
		d     Demand
		want  string
	}{
		{name: "no nodes", d: dm(), want: ""},
		{name: "fits on an empty node though all are full", d: dm(), want: "",
			nodes: []Node{nd("a", reserved(8192, 4000))}},
		{name: "a down node that is large enough still counts", d: dm(needs(16384, 0)), want: "",
			nodes: []Node{nd("a"), nd("b", state(StateDown), alloc(32768, 4000))}},
		{name: "unlimited memory fits anything", d: dm(needs(1<<30, 0)), want: "",
			nodes: []Node{nd("a", alloc(0, 4000))}},
		{name: "zero demand fits", d: dm(needs(0, 0)), want: "",
			nodes: []Node{nd("a", alloc(1, 1))}},
		{name: "nothing matches the constraints: Place says why", d: dm(constraint("zone", "b")), want: "",
			nodes: []Node{nd("a", alloc(16, 16))}},
		{name: "memory", d: dm(needs(16384, 500)),
			nodes: []Node{nd("a"), nd("b", alloc(12288, 8000), state(StateDraining))},
			want:  "needs 16384 MB of memory per instance; of 2 nodes, the largest offers 12288 MB"},
		{name: "cpu, among the nodes matching constraints", d: dm(needs(512, 8000), constraint("zone", "b")),
			nodes: []Node{nd("a", labels("zone", "b")), nd("b", alloc(64000, 64000))},
			want:  "needs 8000m CPU per instance; of the 1 node that matches its constraints, the largest offers 4000m"},
		{name: "pause narrows too", d: dm(needs(16384, 0), needPause),
			nodes: []Node{nd("a", pause), nd("b", alloc(65536, 0))},
			want:  "needs 16384 MB of memory per instance; of the 1 node that matches its constraints, the largest offers 8192 MB"},
		{name: "both on every node", d: dm(needs(16384, 8000)),
			nodes: []Node{nd("a"), nd("b", alloc(4096, 6000))},
			want:  "needs 16384 MB of memory and 8000m CPU per instance; of 2 nodes, the most any offers is 8192 MB and 6000m"},
		{name: "each node short of one", d: dm(needs(16384, 8000)),
			nodes: []Node{nd("a", alloc(32768, 4000)), nd("b", alloc(8192, 0))},
			want:  "needs 16384 MB of memory and 8000m CPU per instance; of 2 nodes, none offers both (the most any offers is 32768 MB and unlimited CPU)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := NeverFits(tc.nodes, tc.d); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

// randomNodes makes n nodes of mixed size, load, state, labels and images.
func randomNodes(rng *rand.Rand, n int) []Node {
	zones := []string{"a", "b", "c"}
	nodes := make([]Node, n)
	for i := range nodes {
		mem := int64(4096 << rng.IntN(4))
		cpu := int64(2000 << rng.IntN(4))
		nodes[i] = Node{
			ID:                fmt.Sprintf("node-%03d", i),
			State:             StateReady,
			Allocatable:       instance.Resources{MemoryMB: mem, CPUMilli: cpu},
			Reserved:          instance.Resources{MemoryMB: rng.Int64N(mem), CPUMilli: rng.Int64N(cpu)},
			Evictable:         instance.Resources{MemoryMB: rng.Int64N(mem / 4), CPUMilli: rng.Int64N(cpu / 4)},
			Pause:             rng.IntN(2) == 0,
			Labels:            map[string]string{"zone": zones[rng.IntN(len(zones))]},
			Images:            map[string]bool{},
			FunctionInstances: rng.IntN(3),
			Instances:         rng.IntN(50),
		}
		if rng.IntN(3) == 0 {
			nodes[i].Images[img] = true
		}
		if rng.IntN(10) == 0 {
			nodes[i].State = []State{StateDraining, StateDisconnected, StateDown}[rng.IntN(3)]
		}
	}
	return nodes
}

func BenchmarkPlace100Nodes(b *testing.B) {
	nodes := randomNodes(rand.New(rand.NewPCG(5, 6)), 100)
	d := dm(constraint("zone", "b"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Place(nodes, d); err != nil {
			b.Fatal(err)
		}
	}
}
