package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/hearthfn/hearth/agent"
)

// ErrNodeRemoved: the server does not know the node any more (it was removed, or the data
// directory belongs to another cluster). Only a new join brings it back.
var ErrNodeRemoved = errors.New("node removed")

// removedError carries the server's message and is ErrNodeRemoved.
type removedError struct{ msg string }

func (e *removedError) Error() string        { return e.msg }
func (e *removedError) Is(target error) bool { return target == ErrNodeRemoved }

type daemon struct {
	cfg    Config
	cred   *Credentials
	srv    server
	log    *slog.Logger
	expect *expectations
	// watcher is the agent's event stream (events.go), nil when it has none.
	watcher agent.Watcher
}

// Run keeps a session with the server and serves cfg.Agent on it, reconnecting whenever it
// breaks, until ctx ends (then it returns nil) or the server refuses the node as unknown
// (ErrNodeRemoved). It leaves the node's instances running either way.
func Run(ctx context.Context, cfg Config, cred *Credentials) error {
	cfg.withDefaults()
	if cfg.Agent == nil {
		return errors.New("daemon: Config.Agent is nil")
	}
	srv, err := parseServerURL(cfg.ServerURL)
	if err != nil {
		return err
	}
	x := newExpectations()
	w := watcherOf(cfg.Agent) // before the wrapping, which hides it
	cfg.Agent = expecting{Agent: cfg.Agent, x: x}
	d := &daemon{cfg: cfg, cred: cred, srv: srv, log: cfg.Log.With("node", cred.NodeID), expect: x, watcher: w}
	return d.run(ctx)
}

func (d *daemon) run(ctx context.Context) error {
	wait := d.cfg.MinBackoff
	for {
		began := time.Now()
		established, err := d.session(ctx)
		if ctx.Err() != nil {
			d.log.Info("agent stopped; the node's instances keep running")
			return nil
		}
		if errors.Is(err, ErrNodeRemoved) {
			return err
		}
		// A session that lasted starts the backoff over; one that broke at once (a server
		// that welcomes and then drops the node) does not, or the agent would hammer it.
		if established && time.Since(began) >= d.cfg.MaxBackoff {
			wait = d.cfg.MinBackoff
		}
		// Jitter spreads the agents of a restarted server over the wait.
		sleep := wait/2 + rand.N(wait/2+1)
		d.log.Warn("no session with the server; trying again", "server", d.srv.url, "error", err,
			"retry_in", sleep.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			d.log.Info("agent stopped; the node's instances keep running")
			return nil
		case <-time.After(sleep):
		}
		wait = min(2*wait, d.cfg.MaxBackoff)
	}
}

// sessionError names what ended a session.
func sessionError(what string, err error) error {
	if err == nil {
		return errors.New(what)
	}
	return fmt.Errorf("%s: %w", what, err)
}
