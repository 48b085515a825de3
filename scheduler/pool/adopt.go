package pool

import (
	"fmt"
	"strconv"

	"github.com/hearthfn/hearth/agent/instance"
)

// This file adopts instances: a server that restarts (an upgrade) finds its nodes still running
// the instances the last one left (Shutdown(true)), and takes them over warm rather than
// starting them again.

// adoptPlacement is the placement reason of an adopted instance.
const adoptPlacement = "adopted: running on this node when the pool started"

// adoptLocked takes over the containers listed on nd, at the node's first listing that worked
// since the pool was made, that run a known function's current version: running ones become
// ready (last used now), paused ones paused (since now); each reserves its function's
// resources. It skips the pool's own instances (known before the listing or now), and returns,
// for every other container it passes over, why; the health check then removes those as
// orphans. A drained node adopts nothing: its instances would only be drained.
//
// It needs the functions applied first (the server restores its registry before it adds nodes):
// a container of a function the pool does not know yet is stopped.
func (p *Pool) adoptLocked(nd *node, listed []instance.Status, knownBefore map[string]struct{}) map[string]string {
	why := map[string]string{}
	type adopted struct {
		function, id string
		in           *inst
	}
	var took []adopted
	now := p.cfg.Now()
	for _, st := range listed {
		id := st.Instance.ID
		if _, ok := knownBefore[id]; ok {
			continue
		}
		if _, ok := p.known[id]; ok {
			continue
		}
		f, reason := p.adoptableLocked(nd, st)
		if f == nil {
			why[id] = reason
			continue
		}
		in := &inst{id: id, version: f.version, endpoint: st.Instance.Endpoint, res: f.resources(), nd: nd,
			placement: adoptPlacement, startedAt: st.Instance.StartedAt, lastUsed: now}
		if in.startedAt.IsZero() {
			in.startedAt = now
		}
		if st.State == instance.StatePaused {
			in.state, in.pausedAt = statePaused, now
			p.costMarkLocked(f, in, costPaused, now)
		} else {
			p.becomeReadyLocked(in, Warm)
			p.costMarkLocked(f, in, costWarm, now)
		}
		p.addInstanceLocked(f, in)
		p.known[id] = struct{}{}
		nd.reserve(in.res)
		nd.started[f.image], nd.images[f.image] = true, true
		took = append(took, adopted{f.name, id, in})
		p.log.Info("adopted instance", "function", f.name, "instance", id, "version", f.version, "node", nd.id,
			"state", in.state, "endpoint", in.endpoint)
	}
	if len(took) > 0 {
		p.log.Info("adopted the instances a node still ran", "node", nd.id, "adopted", len(took), "not_adopted", len(why))
		if p.cfg.OnStarted != nil {
			// Their output is followed again, as for an instance the pool started; a paused
			// one's only from its resume.
			p.background(func() {
				for _, a := range took {
					p.cfg.OnStarted(a.function, a.id)
					p.mu.Lock()
					paused := a.in.state == statePaused
					p.mu.Unlock()
					if paused && p.cfg.OnPaused != nil {
						p.cfg.OnPaused(a.id)
					}
				}
			})
		}
	}
	return why
}

// adoptableLocked returns the function whose instance the listed container st is, or nil and
// why it is not adopted.
func (p *Pool) adoptableLocked(nd *node, st instance.Status) (*function, string) {
	name := st.Labels[instance.LabelFunction]
	if name == "" {
		name = st.Function
	}
	f := p.fns[name]
	switch {
	case nd.drained:
		return nil, "the node is drained"
	case f == nil:
		return nil, fmt.Sprintf("function %q is unknown", name)
	case st.Labels[instance.LabelInstance] != "" && st.Labels[instance.LabelInstance] != st.Instance.ID:
		return nil, "its instance label does not match its id"
	}
	version, err := strconv.Atoi(st.Labels[instance.LabelVersion])
	switch {
	case err != nil:
		return nil, fmt.Sprintf("its version label %q is not a number", st.Labels[instance.LabelVersion])
	case version != f.version:
		return nil, fmt.Sprintf("it runs version %d, not the current %d", version, f.version)
	case st.State != instance.StateRunning && st.State != instance.StatePaused:
		return nil, fmt.Sprintf("it is %s", st.State)
	case st.Instance.Endpoint == "":
		return nil, "it has no endpoint"
	case !labelsMatch(nd.labels, constraintsOf(f.spec)):
		return nil, "the node does not carry the function's constraints"
	case f.liveCount() >= f.spec.MaxInstances:
		return nil, fmt.Sprintf("the function has max_instances (%d) already", f.spec.MaxInstances)
	}
	return f, ""
}
