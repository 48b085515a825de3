package plugin

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"time"

	goplugin "github.com/hashicorp/go-plugin"

	"github.com/hearthfn/hearth/agent/driver"
)

// defaultStartTimeout bounds how long a plugin may take to print its handshake when the ctx given
// to Dispense has no earlier deadline.
const defaultStartTimeout = 30 * time.Second

// Loader launches driver plugins and hands back the drivers they serve. The host decides how a
// plugin is launched (command), so the same Loader serves built-in drivers, run as
// `hearth __driver <name>` from the hearth executable itself, and tests that re-execute their own
// binary. A Loader holds no state between Dispense calls and is safe for concurrent use.
type Loader struct {
	command func(name string) *exec.Cmd
	logger  *slog.Logger
}

// NewLoader returns a Loader that starts the plugin for a driver name with the unstarted command
// that command(name) returns. The plugin's own log lines (see NewLogger) and go-plugin's are
// written to logger with a "driver" attribute; a nil logger discards them.
func NewLoader(command func(name string) *exec.Cmd, logger *slog.Logger) *Loader {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Loader{command: command, logger: logger}
}

// Dispense starts the plugin for the driver called name, completes the handshake and returns the
// driver it serves. ctx bounds the start only: once Dispense returns, the plugin lives until the
// returned Closer's Close kills it (the caller must call it). Every driver call made after the
// plugin exited fails with driver.ErrPluginExited; the caller then dispenses again.
func (l *Loader) Dispense(ctx context.Context, name string) (driver.Driver, io.Closer, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("dispense driver %q: %w", name, err)
	}
	cmd := l.command(name)
	if cmd == nil {
		return nil, nil, fmt.Errorf("dispense driver %q: no command to launch it", name)
	}
	setParentDeathSignal(cmd)
	// The plugin listens on a Unix socket. It removes the socket when it stops in order, but
	// not when it crashes or is killed; in a directory of its own, which kill removes, the
	// socket goes with the plugin whatever way it ended.
	sockDir, err := os.MkdirTemp("", "hearth-driver-")
	if err != nil {
		return nil, nil, fmt.Errorf("dispense driver %q: %w", name, err)
	}
	cmd.Env = append(cmd.Environ(), goplugin.EnvUnixSocketDir+"="+sockDir)
	startTimeout := defaultStartTimeout
	if dl, ok := ctx.Deadline(); ok {
		// A little past the deadline, so that ctx, not go-plugin's timer, reports it.
		startTimeout = time.Until(dl) + time.Second
	}
	c := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig:  Handshake,
		Plugins:          PluginSet(name, nil),
		Cmd:              cmd,
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		Logger:           newHCLogger(l.logger.With("driver", name)),
		StartTimeout:     startTimeout,
	})

	// go-plugin's start takes no ctx and holds the client's lock until the handshake is done or
	// StartTimeout passes, so Kill cannot interrupt it. Dispense returns when ctx ends anyway and
	// leaves the kill to the goroutine, which does it as soon as the start gives up.
	type result struct {
		d   driver.Driver
		err error
	}
	kill := sync.OnceFunc(func() {
		c.Kill()
		_ = os.RemoveAll(sockDir)
	})
	done := make(chan result, 1)
	go func() {
		d, err := dispense(c, name)
		done <- result{d, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			kill()
			return nil, nil, fmt.Errorf("dispense driver %q: %w", name, r.err)
		}
		return r.d, closerFunc(kill), nil
	case <-ctx.Done():
		go func() {
			<-done
			kill()
		}()
		return nil, nil, fmt.Errorf("dispense driver %q: %w", name, ctx.Err())
	}
}

// dispense starts the plugin process of c and returns the driver it serves under name.
func dispense(c *goplugin.Client, name string) (driver.Driver, error) {
	rpc, err := c.Client()
	if err != nil {
		return nil, err
	}
	raw, err := rpc.Dispense(name)
	if err != nil {
		return nil, err
	}
	d, ok := raw.(driver.Driver)
	if !ok {
		return nil, fmt.Errorf("plugin served a %T, not a driver", raw)
	}
	return d, nil
}

// closerFunc makes the plugin's kill an io.Closer: go-plugin's Kill asks the plugin to shut
// down and force-kills it after a short grace; then the plugin's socket directory is removed.
// It runs once, however often Close is called.
type closerFunc func()

func (f closerFunc) Close() error {
	f()
	return nil
}
