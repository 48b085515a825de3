package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/hearthfn/hearth/agent"
	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/runtimes/contract"
)

var _ agent.Agent = (*Node)(nil)

// Config configures a node.
type Config struct {
	// ID names the node; it is put on every instance (label hearth.node) so that several nodes,
	// or several servers, can share one engine without touching each other's instances.
	ID string
	// StopGrace is how long an instance may take to exit after SIGTERM.
	StopGrace time.Duration
	// ReadyPoll is the first wait between readiness probes; it doubles up to maxReadyPoll.
	ReadyPoll time.Duration
}

// maxReadyPoll caps the wait between readiness probes. A probe of a port nobody listens on yet
// costs well under a millisecond, while every millisecond of wait after the instance is ready is
// added to the cold start; so probe often.
const maxReadyPoll = 8 * time.Millisecond

// Node runs instances through one driver.
type Node struct {
	cfg    Config
	driver driver.Driver
	log    *slog.Logger
	// probe is the HTTP client of readiness checks: no keep-alive, since each instance is probed
	// until it answers once, and a short per-probe timeout.
	probe *http.Client
}

// New returns a node that runs instances through d.
func New(cfg Config, d driver.Driver, log *slog.Logger) *Node {
	if cfg.StopGrace <= 0 {
		cfg.StopGrace = 5 * time.Second
	}
	if cfg.ReadyPoll <= 0 {
		cfg.ReadyPoll = 2 * time.Millisecond
	}
	return &Node{cfg: cfg, driver: d, log: log, probe: &http.Client{
		Timeout:   2 * time.Second,
		Transport: &http.Transport{DisableKeepAlives: true},
	}}
}

// Info implements agent.Agent.
func (n *Node) Info(ctx context.Context) (agent.NodeInfo, error) {
	fp, err := n.driver.Fingerprint(ctx)
	if err != nil {
		return agent.NodeInfo{ID: n.cfg.ID}, err
	}
	return agent.NodeInfo{ID: n.cfg.ID, Driver: fp}, nil
}

// Reconcile removes every instance that carries this node's label: at start the node knows of
// no instance, so anything labelled as its own is a leftover of an earlier run (a crash, a kill).
// It returns how many it removed.
func (n *Node) Reconcile(ctx context.Context) (int, error) {
	all, err := n.driver.List(ctx)
	if err != nil {
		return 0, fmt.Errorf("list instances: %w", err)
	}
	removed := 0
	for _, st := range all {
		if st.Labels[instance.LabelNode] != n.cfg.ID {
			continue
		}
		if err := n.driver.Stop(ctx, st.Instance.ID, 0); err != nil && !errors.Is(err, driver.ErrInstanceNotFound) {
			return removed, fmt.Errorf("remove leftover instance %s: %w", st.Instance.ID, err)
		}
		n.log.Info("removed leftover instance", "node", n.cfg.ID, "instance", st.Instance.ID, "function", st.Function)
		removed++
	}
	return removed, nil
}

// StartInstance implements agent.Agent.
func (n *Node) StartInstance(ctx context.Context, spec instance.Spec) (instance.Instance, error) {
	labels := make(map[string]string, len(spec.Labels)+5)
	for k, v := range spec.Labels {
		labels[k] = v
	}
	labels[instance.LabelOwner] = instance.OwnerValue
	labels[instance.LabelNode] = n.cfg.ID
	labels[instance.LabelFunction] = spec.Function
	labels[instance.LabelVersion] = fmt.Sprint(spec.Version)
	labels[instance.LabelInstance] = spec.ID
	spec.Labels = labels
	if spec.Port == 0 {
		spec.Port = contract.DefaultPort
	}

	if err := n.driver.EnsureImage(ctx, spec.Image); err != nil {
		return instance.Instance{}, fmt.Errorf("image %s: %w", spec.Image, err)
	}
	in, err := n.driver.Start(ctx, spec)
	if err != nil {
		return instance.Instance{}, fmt.Errorf("start %s: %w", spec.ID, err)
	}
	if err := n.waitReady(ctx, in); err != nil {
		// Remove what we started even though ctx may be done: nothing may be left behind.
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if serr := n.driver.Stop(stopCtx, in.ID, 0); serr != nil && !errors.Is(serr, driver.ErrInstanceNotFound) {
			n.log.Error("could not remove instance that failed to start", "instance", in.ID, "error", serr)
		}
		return instance.Instance{}, err
	}
	return in, nil
}

// waitReady probes GET /_/ready until it answers 200. Between failed probes it checks, now and
// then, that the instance still runs, so that a crashing instance fails in milliseconds rather
// than at the deadline.
func (n *Node) waitReady(ctx context.Context, in instance.Instance) error {
	url := "http://" + in.Endpoint + contract.ReadyPath
	wait := n.cfg.ReadyPoll
	for probes := 1; ; probes++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := n.probe.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body) //nolint:errcheck // draining only
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if probes%10 == 0 {
			st, ierr := n.driver.Inspect(ctx, in.ID)
			if ierr == nil && st.State == instance.StateExited {
				return fmt.Errorf("instance %s exited with code %d before it was ready%s: %w",
					in.ID, st.ExitCode, n.logTail(ctx, in.ID), agent.ErrNotReady)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("instance %s not ready at %s: %v: %w", in.ID, url, ctx.Err(), agent.ErrNotReady)
		case <-time.After(wait):
		}
		wait = min(2*wait, maxReadyPoll)
	}
}

// logTail returns the last lines an instance printed, for an error message.
func (n *Node) logTail(ctx context.Context, id string) string {
	rc, err := n.driver.Logs(ctx, id, driver.LogOptions{Tail: 10})
	if err != nil {
		return ""
	}
	defer rc.Close()
	b, _ := io.ReadAll(io.LimitReader(rc, 4<<10))
	if len(b) == 0 {
		return ""
	}
	return "; its last output:\n" + string(b)
}

// PauseInstance implements agent.Agent.
func (n *Node) PauseInstance(ctx context.Context, id string) error { return n.driver.Pause(ctx, id) }

// ResumeInstance implements agent.Agent.
func (n *Node) ResumeInstance(ctx context.Context, id string) error { return n.driver.Resume(ctx, id) }

// StopInstance implements agent.Agent.
func (n *Node) StopInstance(ctx context.Context, id string) error {
	err := n.driver.Stop(ctx, id, n.cfg.StopGrace)
	if errors.Is(err, driver.ErrInstanceNotFound) {
		return nil
	}
	return err
}

// Instances implements agent.Agent: this node's instances only.
func (n *Node) Instances(ctx context.Context) ([]instance.Status, error) {
	all, err := n.driver.List(ctx)
	if err != nil {
		return nil, err
	}
	mine := all[:0]
	for _, st := range all {
		if st.Labels[instance.LabelNode] == n.cfg.ID {
			mine = append(mine, st)
		}
	}
	return mine, nil
}

// Logs implements agent.Agent.
func (n *Node) Logs(ctx context.Context, id string, opts driver.LogOptions) (io.ReadCloser, error) {
	return n.driver.Logs(ctx, id, opts)
}
