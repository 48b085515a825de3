package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/hearthfn/hearth/agent"
	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/httpapi"
	"github.com/hearthfn/hearth/scheduler/nodes"
	"github.com/hearthfn/hearth/scheduler/pool"
)

// This file joins the node registry (scheduler/nodes) to the pool and to the API: the
// registry knows which nodes exist and whether they answer, the pool what runs on them.

// poolNodes is the pool as the node registry tells it about nodes: the registry hands over
// agent.Agents, which the pool drives as its Nodes.
type poolNodes struct{ p *pool.Pool }

func (a poolNodes) AddNode(id string, n agent.Agent, labels map[string]string) {
	a.p.AddNode(id, n, labels)
}
func (a poolNodes) DrainNode(id string, drain bool)  { a.p.DrainNode(id, drain) }
func (a poolNodes) NodeDisconnected(id string)       { a.p.NodeDisconnected(id) }
func (a poolNodes) NodeLost(id string, reason error) { a.p.NodeLost(id, reason) }
func (a poolNodes) RemoveNode(id string)             { a.p.RemoveNode(id) }

// logSource reads an instance's output from the node it runs on.
type logSource struct {
	pool  *pool.Pool
	nodes *nodes.Manager
}

func (s logSource) Logs(ctx context.Context, id string, opts driver.LogOptions) (io.ReadCloser, error) {
	nodeID, ok := s.pool.NodeOf(id)
	if !ok {
		return nil, fmt.Errorf("instance %s: %w", id, driver.ErrInstanceNotFound)
	}
	a, ok := s.nodes.Agent(nodeID)
	if !ok {
		return nil, fmt.Errorf("instance %s: node %s is not connected: %w", id, nodeID, driver.ErrUnavailable)
	}
	return a.Logs(ctx, id, opts)
}

// nodesAPI is the node registry with the pool's view of each node merged in, as the API
// reports it.
type nodesAPI struct {
	pool  *pool.Pool
	nodes *nodes.Manager
}

var _ httpapi.Nodes = nodesAPI{}

func (a nodesAPI) List(ctx context.Context) ([]api.Node, error) {
	use := a.poolUse()
	views := a.nodes.List(ctx)
	out := make([]api.Node, 0, len(views))
	for _, v := range views {
		out = append(out, apiNode(v, use[v.ID]))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (a nodesAPI) Get(ctx context.Context, id string) (api.Node, error) {
	v, err := a.nodes.Get(ctx, id)
	if err != nil {
		return api.Node{}, err
	}
	return apiNode(v, a.poolUse()[id]), nil
}

func (a nodesAPI) Drain(ctx context.Context, id string, drain bool) (api.Node, error) {
	v, err := a.nodes.Drain(ctx, id, drain)
	if err != nil {
		return api.Node{}, err
	}
	return apiNode(v, a.poolUse()[id]), nil
}

func (a nodesAPI) Remove(ctx context.Context, id string) error {
	err := a.nodes.Remove(ctx, id)
	if errors.Is(err, nodes.ErrLocalNode) {
		return fmt.Errorf("%w: %v", httpapi.ErrInvalidRequest, err)
	}
	return err
}

func (a nodesAPI) CreateJoinToken(ctx context.Context, req api.JoinTokenRequest) (api.NewJoinToken, error) {
	t, err := a.nodes.CreateJoinToken(ctx, req)
	if errors.Is(err, nodes.ErrBadJoinRequest) {
		return t, fmt.Errorf("%w: %v", httpapi.ErrInvalidRequest, err)
	}
	return t, err
}

func (a nodesAPI) ListJoinTokens(ctx context.Context) ([]api.JoinToken, error) {
	return a.nodes.ListJoinTokens(ctx)
}

func (a nodesAPI) RevokeJoinToken(ctx context.Context, id string) error {
	return a.nodes.RevokeJoinToken(ctx, id)
}

func (a nodesAPI) poolUse() map[string]pool.NodeStatus {
	use := map[string]pool.NodeStatus{}
	for _, s := range a.pool.Nodes() {
		use[s.ID] = s
	}
	return use
}

// apiNode is a node as the API reports it: the registry's record and state, the pool's
// capacity and use.
func apiNode(v nodes.NodeView, u pool.NodeStatus) api.Node {
	n := api.Node{
		ID: v.ID, Name: v.Name, State: string(v.State), Local: v.Local, Labels: v.Labels, Address: v.AdvertiseAddr,
		CanPause: v.Driver.Capabilities.Pause, JoinedAt: v.JoinedAt, LastSeen: v.LastSeen,
		Capacity:  api.Resources{MemoryMB: v.Driver.Allocatable.MemoryMB, CPUMilli: v.Driver.Allocatable.CPUMilli},
		Reserved:  api.Resources{MemoryMB: u.Reserved.MemoryMB, CPUMilli: u.Reserved.CPUMilli},
		Instances: u.Instances, Images: v.Images, Problem: v.Problem,
	}
	if v.Driver.Name != "" {
		n.Driver = v.Driver.Name + " " + v.Driver.Version
	}
	if u.Known {
		// The pool's capacity is what instances may reserve: the node's, or less when the
		// operator capped it (--pool-memory).
		n.Capacity = api.Resources{MemoryMB: u.Capacity.MemoryMB, CPUMilli: u.Capacity.CPUMilli}
	}
	if n.Instances == nil {
		n.Instances = map[string]int{}
	}
	if n.Problem == "" && !u.Reachable && u.LastError != "" {
		n.Problem = u.LastError
	}
	return n
}
