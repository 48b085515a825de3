package docker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"

	"github.com/hearthfn/hearth/agent/instance"
)

// Instances live on networks the driver makes and owns (labelled hearth.owner=hearth):
//   - Config.Network ("hearth"): a bridge with traffic between its containers off
//     (enable_icc=false), so that one instance cannot reach another except through hearth, and
//     with outbound traffic NATed as on any Docker bridge;
//   - "<Config.Network>-internal": the same, made Internal, for instances whose function says
//     network: none. Docker gives an internal network no route out, but the host still reaches
//     its containers directly, which is all hearth needs to call them.
//
// On both, unless Config.ReachHost (and always on the internal one), the firewall refuses
// connections from the bridge to the host's own addresses (firewall.go): hearth's API and
// anything else listening on the node are out of reach through the gateway.
//
// Several servers may share one engine, and a node starts many instances at once: making a
// network is idempotent and race-safe (setupNetwork).

const (
	optICC        = "com.docker.network.bridge.enable_icc"
	optBridgeName = "com.docker.network.bridge.name"
	// labelNetwork records on a container the network its endpoint is on, because the
	// instance's network depends on its function (network: none) and not only on the driver's
	// configuration.
	labelNetwork = "hearth.network"
)

// internalNetwork names the network of a driver whose instance network is base for functions
// that may reach nothing.
func internalNetwork(base string) string {
	if base == "host" || base == "bridge" {
		return DefaultNetwork + "-internal"
	}
	return base + "-internal"
}

// netInfo is a network ready for instances.
type netInfo struct {
	// mode is what a container's NetworkMode names: the ID of a network of hearth's (its name
	// may be ambiguous for a moment, see setupNetwork), the name of any other.
	mode string
	name string
	// managed is set for a network of hearth's, which Start makes again if it is gone.
	managed bool
}

// netCache holds each network once it is set up, so that only the first start on a network
// pays for the lookups and the firewall. An entry is in progress until done is closed; a
// failed one is removed, so that the next start tries again.
type netCache struct {
	mu   sync.Mutex
	nets map[string]*netEntry
}

type netEntry struct {
	done chan struct{}
	info netInfo
	err  error
}

// instanceNetwork returns the network an instance confined by sec joins.
func (d *Driver) instanceNetwork(ctx context.Context, sec instance.Security) (netInfo, error) {
	switch sec.Network {
	case "":
		if d.cfg.Network == "host" {
			return netInfo{mode: "host", name: "host"}, nil
		}
		return d.ensureNetwork(ctx, d.cfg.Network, false)
	case instance.NetworkNone:
		return d.ensureNetwork(ctx, internalNetwork(d.cfg.Network), true)
	}
	return netInfo{}, fmt.Errorf("network %q: the docker driver knows \"\" (the node's network) and %q", sec.Network, instance.NetworkNone)
}

// ensureNetwork sets the named network up once per driver; concurrent callers wait for the
// first, each on its own ctx.
func (d *Driver) ensureNetwork(ctx context.Context, name string, internal bool) (netInfo, error) {
	d.nets.mu.Lock()
	if d.nets.nets == nil {
		d.nets.nets = map[string]*netEntry{}
	}
	e, found := d.nets.nets[name]
	if !found {
		e = &netEntry{done: make(chan struct{})}
		d.nets.nets[name] = e
	}
	d.nets.mu.Unlock()
	if !found {
		e.info, e.err = d.setupNetwork(ctx, name, internal)
		if e.err != nil {
			d.forgetNetwork(name)
		}
		close(e.done)
		return e.info, e.err
	}
	select {
	case <-e.done:
		return e.info, e.err
	case <-ctx.Done():
		return netInfo{}, fmt.Errorf("network %s: %w", name, ctx.Err())
	}
}

// forgetNetwork makes the next start set the network up again: it was removed behind the
// driver's back, or setting it up failed.
func (d *Driver) forgetNetwork(name string) {
	d.nets.mu.Lock()
	delete(d.nets.nets, name)
	d.nets.mu.Unlock()
}

// networkSettle bounds how long a network create may take, for setupNetwork's second look.
const networkSettle = time.Second

// setupNetwork finds or makes the network and closes the host to it. Docker's own check for a
// duplicate name is not atomic: servers that make the network at the same moment can make
// several of one name (seen on 20.10 with six concurrent creates). So every one of them then
// settles on the oldest, removes its own if that lost, and names it by ID from then on.
func (d *Driver) setupNetwork(ctx context.Context, name string, internal bool) (netInfo, error) {
	found, err := d.findNetworks(ctx, name)
	if err != nil {
		return netInfo{}, err
	}
	created := ""
	if len(found) == 0 {
		octx, cancel := d.opCtx(ctx)
		resp, err := d.api.NetworkCreate(octx, name, network.CreateOptions{
			Driver:   "bridge",
			Internal: internal,
			Options:  map[string]string{optICC: "false"},
			Labels:   map[string]string{instance.LabelOwner: instance.OwnerValue},
		})
		cancel()
		if err != nil && !cerrdefs.IsConflict(err) {
			return netInfo{}, d.wrapErr(ctx, err, nil, "create network %s", name)
		}
		created = resp.ID
		if found, err = d.findNetworks(ctx, name); err != nil {
			return netInfo{}, err
		}
	}
	n, err := pickNetwork(name, found)
	if err != nil {
		return netInfo{}, err
	}
	// Docker lists a network once its create has returned but stamps it when the create began,
	// so a create that began before n's and is still under way makes an older network, which
	// every driver that lists after it would pick. Once no such create can still be under way
	// (they take well under networkSettle), list and pick again: every driver then settles on
	// the same one. Only a network made moments ago costs this wait, once per driver.
	if wait := time.Until(n.Created.Add(networkSettle)); wait > 0 {
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return netInfo{}, fmt.Errorf("network %s: %w", name, ctx.Err())
		}
		if found, err = d.findNetworks(ctx, name); err != nil {
			return netInfo{}, err
		}
		if n, err = pickNetwork(name, found); err != nil {
			return netInfo{}, err
		}
	}
	if created != "" && created != n.ID {
		d.removeNetworkQuietly(ctx, created)
	}
	if n.Labels[instance.LabelOwner] != instance.OwnerValue {
		d.cfg.Logger.Warn("instances join a network hearth did not make: traffic between instances and to this host is as that network allows",
			"network", name)
		return netInfo{mode: n.Name, name: n.Name}, nil
	}
	if n.Options[optICC] != "false" || n.Internal != internal {
		return netInfo{}, fmt.Errorf("network %s is hearth's but has other settings (internal %t, enable_icc %q; want internal %t, enable_icc false): remove it (docker network rm %s) and hearth makes it again",
			name, n.Internal, n.Options[optICC], internal, name)
	}
	if err := d.guardHost(ctx, name, bridgeOf(n), internal); err != nil {
		return netInfo{}, err
	}
	return netInfo{mode: n.ID, name: n.Name, managed: true}, nil
}

// guardHost closes the host's addresses to the network's bridge, or opens them again when the
// driver is configured to let instances reach the host (a network that may reach nothing
// stays closed).
func (d *Driver) guardHost(ctx context.Context, name, bridge string, internal bool) error {
	octx, cancel := d.opCtx(ctx)
	defer cancel()
	if d.cfg.ReachHost && !internal {
		if err := d.fw.open(octx, bridge); err != nil {
			return fmt.Errorf("network %s: open this host's ports to instances again (interface %s): %w", name, bridge, err)
		}
		return nil
	}
	if err := d.fw.isolate(octx, bridge); err != nil {
		hint := "hearth needs root and iptables for this"
		if !internal {
			hint += ", or let instances reach the host (hearth server --instances-reach-host)"
		}
		return fmt.Errorf("network %s: close this host's ports to instances (interface %s): %w; %s", name, bridge, err, hint)
	}
	return nil
}

// findNetworks lists the networks named exactly name (Docker's filter matches substrings).
func (d *Driver) findNetworks(ctx context.Context, name string) ([]network.Summary, error) {
	octx, cancel := d.opCtx(ctx)
	defer cancel()
	list, err := d.api.NetworkList(octx, network.ListOptions{Filters: filters.NewArgs(filters.Arg("name", name))})
	if err != nil {
		return nil, d.wrapErr(ctx, err, nil, "find network %s", name)
	}
	return slices.DeleteFunc(list, func(n network.Summary) bool { return n.Name != name }), nil
}

// pickNetwork chooses among the networks of one name: the oldest of hearth's, or the only one.
func pickNetwork(name string, found []network.Summary) (network.Summary, error) {
	var ours []network.Summary
	for _, n := range found {
		if n.Labels[instance.LabelOwner] == instance.OwnerValue {
			ours = append(ours, n)
		}
	}
	switch {
	case len(ours) > 0:
		return slices.MinFunc(ours, func(a, b network.Summary) int {
			if c := a.Created.Compare(b.Created); c != 0 {
				return c
			}
			return strings.Compare(a.ID, b.ID)
		}), nil
	case len(found) == 1:
		return found[0], nil
	case len(found) == 0:
		return network.Summary{}, fmt.Errorf("network %s: made, but not found afterwards", name)
	}
	return network.Summary{}, fmt.Errorf("network %s: %d networks have that name and none is hearth's: name one of them by ID", name, len(found))
}

// bridgeOf is the host's interface of a bridge network: the name it was made with, else the
// one Docker derives from its ID.
func bridgeOf(n network.Summary) string {
	if b := n.Options[optBridgeName]; b != "" {
		return b
	}
	return "br-" + n.ID[:min(12, len(n.ID))]
}

func (d *Driver) removeNetworkQuietly(ctx context.Context, id string) {
	octx, cancel := d.opCtx(context.WithoutCancel(ctx))
	defer cancel()
	if err := d.api.NetworkRemove(octx, id); err != nil && !isNotFound(err) {
		d.cfg.Logger.Warn("cannot remove a duplicate network", "network", id, "error", err)
	}
}

// removeNetwork removes hearth's networks of that name and their firewall rules, for tests that
// made a network of their own. Containers still attached make it fail.
func (d *Driver) removeNetwork(ctx context.Context, name string) error {
	d.forgetNetwork(name)
	found, err := d.findNetworks(ctx, name)
	if err != nil {
		return err
	}
	var errs []error
	for _, n := range found {
		if n.Labels[instance.LabelOwner] != instance.OwnerValue {
			continue
		}
		octx, cancel := d.opCtx(ctx)
		errs = append(errs, d.fw.open(octx, bridgeOf(n)), d.api.NetworkRemove(octx, n.ID))
		cancel()
	}
	return errors.Join(errs...)
}
