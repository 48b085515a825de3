package docker

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/docker/docker/api/types/network"
)

// stubNetworks is an engine's networks in memory. onCreate, when set, runs before a create is
// answered (to script a rival server's create).
type stubNetworks struct {
	networks []network.Summary
	creates  []network.CreateOptions
	lists    int
	onCreate func(name string)
	netSeq   int
}

func (s *stubNetworks) NetworkList(_ context.Context, _ network.ListOptions) ([]network.Summary, error) {
	s.lists++
	return slices.Clone(s.networks), nil
}

func (s *stubNetworks) NetworkCreate(_ context.Context, name string, opts network.CreateOptions) (network.CreateResponse, error) {
	if s.onCreate != nil {
		s.onCreate(name)
	}
	s.creates = append(s.creates, opts)
	id := s.addNetwork(name, opts.Labels, opts.Options, opts.Internal)
	return network.CreateResponse{ID: id}, nil
}

func (s *stubNetworks) NetworkRemove(_ context.Context, id string) error {
	s.networks = slices.DeleteFunc(s.networks, func(n network.Summary) bool { return n.ID == id })
	return nil
}

func (s *stubNetworks) addNetwork(name string, labels, opts map[string]string, internal bool) string {
	s.netSeq++
	id := fmt.Sprintf("%012d%052d", s.netSeq, 0)
	s.networks = append(s.networks, network.Summary{ID: id, Name: name, Labels: labels, Options: opts,
		Internal: internal, Created: time.Date(2026, 1, 1, 0, 0, s.netSeq, 0, time.UTC)})
	return id
}

// stubFirewall records what the driver asked of the host's firewall.
type stubFirewall struct {
	mu       sync.Mutex
	isolated []string
	opened   []string
	err      error
}

func (f *stubFirewall) isolate(_ context.Context, bridge string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.isolated = append(f.isolated, bridge)
	return f.err
}

func (f *stubFirewall) open(_ context.Context, bridge string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.opened = append(f.opened, bridge)
	return nil
}

// newStubbed is a driver on a scripted engine, whose firewall is a stubFirewall.
func newStubbed(cfg Config, api dockerAPI) *Driver {
	d := newWithAPI(cfg, api)
	d.fw = &stubFirewall{}
	return d
}

// stubAPI's network calls go to its stubNetworks (both embedded types have them).

func (s *stubAPI) NetworkList(ctx context.Context, opts network.ListOptions) ([]network.Summary, error) {
	return s.stubNetworks.NetworkList(ctx, opts)
}

func (s *stubAPI) NetworkCreate(ctx context.Context, name string, opts network.CreateOptions) (network.CreateResponse, error) {
	return s.stubNetworks.NetworkCreate(ctx, name, opts)
}

func (s *stubAPI) NetworkRemove(ctx context.Context, id string) error {
	return s.stubNetworks.NetworkRemove(ctx, id)
}
