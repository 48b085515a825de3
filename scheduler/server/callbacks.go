package server

import (
	"context"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/hearthfn/hearth/scheduler/outbound"
)

// callbackTimeout bounds one try of an async callback, redirects included.
const callbackTimeout = 10 * time.Second

// callbackGuard returns the policy async callbacks are held to: by default no loopback,
// link-local, private or own address, where "own" covers the machine's interfaces and what the
// names the server is reached by (its public URL's host, the listen address, --allowed-host)
// resolve to at start; with CallbackAllowPrivate, anything.
func callbackGuard(ctx context.Context, cfg Config, listen net.Addr, log *slog.Logger) *outbound.Guard {
	if cfg.CallbackAllowPrivate {
		log.Info("async callbacks may go to loopback, link-local, private and this server's own addresses (--callback-allow-private)")
		return outbound.New(outbound.Config{AllowPrivate: true})
	}
	var hosts []string
	if u, err := url.Parse(cfg.PublicURL); err == nil {
		hosts = append(hosts, u.Hostname())
	}
	if tcp, ok := listen.(*net.TCPAddr); ok {
		hosts = append(hosts, tcp.IP.String())
	}
	for _, h := range cfg.AllowedHosts {
		if !strings.Contains(h, "*") {
			hosts = append(hosts, h)
		}
	}
	lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	self, err := outbound.LookupHosts(lctx, nil, hosts...)
	if err != nil {
		// The interfaces' addresses and the address classes still hold; only the names'
		// addresses (a load balancer's, say) are not known to be ours.
		log.Warn("could not resolve every name of this server: async callbacks to their addresses are not refused as the server's own", "error", err)
	}
	return outbound.New(outbound.Config{Self: self})
}
