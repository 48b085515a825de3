package server

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// allowedHosts returns the names and addresses requests to the API and dashboard may name as
// their Host (and their Origin's host): the public URL's host, the listen address (every
// address of the machine when it listens on all of them), the loopback names when it listens
// on loopback or on all addresses, and the operator's extra names.
func allowedHosts(publicURL string, addr net.Addr, extra []string) ([]string, error) {
	u, err := url.Parse(publicURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("--public-url %q: want a URL such as https://hearth.example.com", publicURL)
	}
	hosts := append([]string{u.Hostname()}, extra...)
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return hosts, nil
	}
	switch {
	case tcp.IP.IsUnspecified():
		// Every name of the machine's: "0.0.0.0" and "::" reach it too from the machine itself.
		hosts = append(hosts, "localhost", "0.0.0.0", "::")
		ifaddrs, err := net.InterfaceAddrs()
		if err != nil {
			return nil, fmt.Errorf("list this machine's addresses: %w", err)
		}
		for _, a := range ifaddrs {
			if n, ok := a.(*net.IPNet); ok {
				hosts = append(hosts, n.IP.String())
			}
		}
	case tcp.IP.IsLoopback():
		hosts = append(hosts, "localhost", "127.0.0.1", "::1", tcp.IP.String())
	default:
		hosts = append(hosts, tcp.IP.String())
	}
	return hosts, nil
}

// defaultHost is the host:port of the default public URL: the listen address, or, when the
// server listens on every address, the machine's name (which function URLs then carry; clients
// elsewhere need a name, not 0.0.0.0; --public-url says better).
func defaultHost(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return addr.String()
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(strings.ToLower(host), strconv.Itoa(tcp.Port))
}

// isLoopback reports whether addr can be reached from this machine only.
func isLoopback(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}
