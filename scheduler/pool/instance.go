package pool

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/hearthfn/hearth/agent/instance"
)

type state string

const (
	stateStarting state = "starting"
	stateReady    state = "ready" // reported as "busy" while it has calls in flight
	statePausing  state = "pausing"
	statePaused   state = "paused"
	stateResuming state = "resuming"
	stateDraining state = "draining"
)

// inst is one instance. Fields are guarded by Pool.mu.
type inst struct {
	id       string
	version  int
	endpoint string
	state    state
	res      instance.Resources
	inFlight int
	// fresh is how the instance last came to be ready (started or resumed) until a call that
	// waited for it takes it: that call was a cold start of this kind.
	fresh     ColdKind
	readyGen  uint64
	startedAt time.Time
	lastUsed  time.Time
	pausedAt  time.Time
	// nd is the node the instance runs on, and placement why the placer chose it.
	nd        *node
	placement string
	// gone is set when the instance left the pool with its node (NodeLost): whatever is still
	// under way for it settles nothing.
	gone bool
	// acct is the instance's open cost segment (cost.go).
	acct costMark
}

// apiState is the state as the API and metrics name it.
func (in *inst) apiState() string {
	if in.state == stateReady && in.inFlight > 0 {
		return "busy"
	}
	return string(in.state)
}

// pick returns the ready instance of the current version with a free slot and the fewest calls
// in flight (the most recently used among equals, whose caches are warmest), or nil. Instances
// on a node whose engine cannot be reached are passed over: they may well be gone.
func (f *function) pick() *inst {
	var best *inst
	for _, in := range f.instances {
		if in.state != stateReady || in.version != f.version || in.inFlight >= f.spec.Concurrency || !in.nd.serves() {
			continue
		}
		if best == nil || in.inFlight < best.inFlight || (in.inFlight == best.inFlight && in.lastUsed.After(best.lastUsed)) {
			best = in
		}
	}
	return best
}

// views describes the function's instances to the policy.
func (f *function) views() []view {
	vs := make([]view, 0, len(f.instances))
	for _, in := range f.instances {
		vs = append(vs, view{id: in.id, state: in.state, current: in.version == f.version, inFlight: in.inFlight,
			lastUsed: in.lastUsed, pausedAt: in.pausedAt})
	}
	return vs
}

// demandViews describes the instances to planDemand: paused ones on a node the pool cannot
// reach now are left out, since they cannot be resumed there.
func (f *function) demandViews() []view {
	vs := make([]view, 0, len(f.instances))
	for _, in := range f.instances {
		if in.state == statePaused && !in.nd.actionable() {
			continue
		}
		vs = append(vs, view{id: in.id, state: in.state, current: in.version == f.version, inFlight: in.inFlight,
			lastUsed: in.lastUsed, pausedAt: in.pausedAt})
	}
	return vs
}

// servingCount counts current instances on nodes that serve calls that are ready or on their
// way to it: those a slot may free up on, for a call that no node can start an instance for.
func (f *function) servingCount() int {
	n := 0
	for _, in := range f.instances {
		if in.version == f.version && in.nd.serves() &&
			(in.state == stateReady || in.state == stateStarting || in.state == stateResuming) {
			n++
		}
	}
	return n
}

// pendingCount counts current instances on their way to ready: starting or resuming.
func (f *function) pendingCount() int {
	n := 0
	for _, in := range f.instances {
		if in.version == f.version && (in.state == stateStarting || in.state == stateResuming) {
			n++
		}
	}
	return n
}

// newInstanceID makes an id that is unique on a node and readable in `docker ps`:
// <function>-v<version>-<random>.
func newInstanceID(function string, version int) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-v%d-%s", baseName(function), version, hex.EncodeToString(b[:]))
}

func (o Outcome) String() string {
	switch o {
	case OutcomeOK:
		return "ok"
	case OutcomeFailed:
		return "failed"
	case OutcomeTimedOut:
		return "timed_out"
	}
	return fmt.Sprintf("outcome(%d)", int(o))
}
