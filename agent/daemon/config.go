package daemon

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"time"

	"github.com/hearthfn/hearth/agent"
)

// Config configures the agent process.
type Config struct {
	// ServerURL is the server's cluster listener: https://HOST:PORT.
	ServerURL string
	// JoinToken is only read when DataDir holds no credential yet.
	JoinToken string
	// DataDir keeps the node's credential.
	DataDir string
	// Name is the node's name (the host name by default, chosen by cmd); the server derives the
	// node id from it.
	Name string
	// AdvertiseAddr is the address the server reaches instances at, sent in hello ("" when
	// endpoints are container addresses).
	AdvertiseAddr string
	// Labels are the node's labels, sent in hello.
	Labels map[string]string
	// HeartbeatInterval overrides the interval the server asks for in welcome when > 0.
	HeartbeatInterval time.Duration
	// Version is hearth's version, sent in hello.
	Version string
	// Agent is what the server's calls are served with (a node.Node on the Docker driver). Run
	// needs it; Join does not.
	Agent agent.Agent
	Log   *slog.Logger

	// EventPoll is how often the agent lists its instances to find state changes when its
	// driver does not report them as they happen (500 ms); with a driver that does, how long
	// it waits before watching again after the driver's event stream broke off.
	EventPoll time.Duration
	// MinBackoff and MaxBackoff bound the wait between connection attempts (200 ms, 5 s).
	MinBackoff, MaxBackoff time.Duration
}

// Defaults of Config.
const (
	DefaultEventPoll  = 500 * time.Millisecond
	DefaultMinBackoff = 200 * time.Millisecond
	DefaultMaxBackoff = 5 * time.Second
	// defaultHeartbeat is the interval when neither the server nor Config says one.
	defaultHeartbeat = 5 * time.Second
	// infoRefresh is how often a heartbeat carries the node's info even when it did not change.
	infoRefresh = 10 * time.Second
)

func (c *Config) withDefaults() {
	if c.EventPoll <= 0 {
		c.EventPoll = DefaultEventPoll
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = DefaultMinBackoff
	}
	if c.MaxBackoff < c.MinBackoff {
		c.MaxBackoff = max(DefaultMaxBackoff, c.MinBackoff)
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
}

// server is the parsed ServerURL.
type server struct {
	url      string // as given, for messages
	hostport string // to dial
	host     string // to verify the server's certificate against
}

// ErrBadServerURL: ServerURL is not https://HOST:PORT.
var ErrBadServerURL = errors.New("the server's URL must be https://HOST:PORT (the server's --cluster-addr)")

// CheckServerURL checks that s is https://HOST:PORT, as Join and Run need it.
func CheckServerURL(s string) error {
	_, err := parseServerURL(s)
	return err
}

// parseServerURL checks ServerURL before anything touches the network.
func parseServerURL(s string) (server, error) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") ||
		u.RawQuery != "" || u.Fragment != "" {
		return server{}, fmt.Errorf("%q: %w", s, ErrBadServerURL)
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil || host == "" || port == "" {
		return server{}, fmt.Errorf("%q has no port: %w", s, ErrBadServerURL)
	}
	return server{url: s, hostport: u.Host, host: host}, nil
}
