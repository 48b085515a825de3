package plugin

import (
	"errors"
	"fmt"
	"log/slog"
	"os"

	goplugin "github.com/hashicorp/go-plugin"

	"github.com/hearthfn/hearth/agent/driver"
)

// ErrNotPluginProcess is returned by Serve when the process was not started by a plugin host
// (the handshake cookie is missing from its environment), typically because someone ran
// `hearth __driver docker` by hand.
var ErrNotPluginProcess = errors.New("this command serves a driver plugin to a hearth host and is not meant to be run by hand")

// Serve serves d, under the dispense name name, to the host that started this process, and
// blocks until the host disconnects or kills it; it then returns nil. It returns
// ErrNotPluginProcess at once when the handshake cookie is missing, instead of exiting the
// process as go-plugin would.
//
// Standard output carries the handshake line and nothing else: go-plugin takes os.Stdout over
// once serving starts, and logger must write elsewhere (NewLogger(os.Stderr, ...) does, in the
// form the host's Loader turns back into structured records). A nil logger discards logs.
func Serve(name string, d driver.Driver, logger *slog.Logger) error {
	if d == nil {
		return fmt.Errorf("serve driver %q: nil driver", name)
	}
	if os.Getenv(Handshake.MagicCookieKey) != Handshake.MagicCookieValue {
		return fmt.Errorf("serve driver %q: %w", name, ErrNotPluginProcess)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig: Handshake,
		Plugins:         PluginSet(name, d),
		GRPCServer:      goplugin.DefaultGRPCServer,
		Logger:          newHCLogger(logger), // the host tags the records with the driver name
	})
	return nil
}
