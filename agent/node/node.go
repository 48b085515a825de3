package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/hearthfn/hearth/agent"
	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/runtimes/contract"
)

var (
	_ agent.Agent   = (*Node)(nil)
	_ agent.Watcher = (*Node)(nil)
)

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

	pullMu sync.Mutex
	// pulls are the EnsureImage calls in progress, by image: starts that need the same image
	// at once share one (see ensureImage).
	pulls map[string]*pull
}

// pull is one EnsureImage call that several starts may wait for.
type pull struct {
	done chan struct{}
	err  error // set before done is closed
	// waiters is how many starts wait for it (guarded by Node.pullMu); the last to give up
	// cancels it.
	waiters int
	cancel  context.CancelFunc
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
	}, pulls: map[string]*pull{}}
}

// Info implements agent.Agent.
func (n *Node) Info(ctx context.Context) (agent.NodeInfo, error) {
	fp, err := n.driver.Fingerprint(ctx)
	if err != nil {
		return agent.NodeInfo{ID: n.cfg.ID}, err
	}
	return agent.NodeInfo{ID: n.cfg.ID, Driver: fp}, nil
}

// StartInstance implements agent.Agent.
func (n *Node) StartInstance(ctx context.Context, spec instance.Spec) (instance.Instance, error) {
	spec = n.labelled(spec)
	if err := n.ensureImage(ctx, spec.Image); err != nil {
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

// ensureImage has the driver ensure the image is on the node, once for all the starts that ask
// for it at the same time: a function scaling up from zero on a node without its image would
// otherwise pull it once per instance. Each caller waits as long as its own ctx allows; the
// call runs on a ctx of its own (the first caller's values, not its deadline), cancelled when
// every caller has given up. A call that ended is not remembered: the next start asks again,
// which is cheap once the image is there.
func (n *Node) ensureImage(ctx context.Context, ref string) error {
	n.pullMu.Lock()
	p := n.pulls[ref]
	if p == nil {
		pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		p = &pull{done: make(chan struct{}), cancel: cancel}
		n.pulls[ref] = p
		go func() {
			err := n.driver.EnsureImage(pctx, ref)
			n.pullMu.Lock()
			if n.pulls[ref] == p {
				delete(n.pulls, ref)
			}
			n.pullMu.Unlock()
			p.err = err
			cancel()
			close(p.done)
		}()
	}
	p.waiters++
	n.pullMu.Unlock()

	select {
	case <-p.done:
		return p.err
	case <-ctx.Done():
		n.pullMu.Lock()
		if p.waiters--; p.waiters == 0 {
			// Nobody waits for it any more: stop it, and let the next start begin afresh
			// rather than join a cancelled call.
			p.cancel()
			if n.pulls[ref] == p {
				delete(n.pulls, ref)
			}
		}
		n.pullMu.Unlock()
		return ctx.Err()
	}
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

// labelled is spec with the node's labels and the contract's default port: what the driver is
// given, by StartInstance and by PrepareInstance alike (a prepared instance is used only when
// both specs are the same).
func (n *Node) labelled(spec instance.Spec) instance.Spec {
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
	return spec
}

// PrepareInstance implements agent.Preparer: it makes sure the image is present and has the
// driver make the instance ahead of its start (driver.Preparer). driver.ErrNotSupported when the
// driver cannot.
func (n *Node) PrepareInstance(ctx context.Context, spec instance.Spec) error {
	p, ok := n.driver.(driver.Preparer)
	if !ok {
		return fmt.Errorf("prepare %s: %w", spec.ID, driver.ErrNotSupported)
	}
	spec = n.labelled(spec)
	if err := n.ensureImage(ctx, spec.Image); err != nil {
		return fmt.Errorf("image %s: %w", spec.Image, err)
	}
	return p.Prepare(ctx, spec)
}

// WatchInstances implements agent.Watcher through the driver's driver.Watcher:
// driver.ErrNotSupported when the driver is none (or, behind a plugin, cannot watch after all).
//
// Events are not narrowed to this node's instances as Instances is: an event carries no labels.
// On an engine that several nodes share, the others' events come through too; they name
// instances this node's owner does not know (ids are unique on an engine, since they name its
// containers), and events about unknown instances change nothing in the pool.
func (n *Node) WatchInstances(ctx context.Context, fn func(instance.Event)) error {
	w, ok := n.driver.(driver.Watcher)
	if !ok {
		return fmt.Errorf("watch instances: %w", driver.ErrNotSupported)
	}
	return w.Watch(ctx, fn)
}
