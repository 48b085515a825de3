package httpapi

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/hearthfn/hearth/api"
)

// hostCheck refuses requests to the API and the dashboard that a browser may have been tricked
// into sending: those naming a Host that is not one of the server's own names (DNS rebinding:
// a page of evil.example whose name was made to point at this server), and those sent by a page
// of another origin (its Origin header). Clients that are not browsers send no Origin and are
// judged by their token alone.
type hostCheck struct {
	allowed map[string]bool // lower-case host names and IP addresses, without port
}

// newHostCheck returns a check allowing hosts; nil hosts disables the check.
func newHostCheck(hosts []string) *hostCheck {
	if hosts == nil {
		return nil
	}
	c := &hostCheck{allowed: map[string]bool{}}
	for _, h := range hosts {
		if n := hostName(h); n != "" {
			c.allowed[n] = true
		}
	}
	return c
}

// hostName returns the lower-case host of a "host", "host:port", "[v6]:port" or "[v6]".
func hostName(hostport string) string {
	h := strings.TrimSpace(hostport)
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	return strings.TrimSuffix(strings.ToLower(h), ".")
}

// refuse returns why r must be refused, or "".
func (c *hostCheck) refuse(r *http.Request) string {
	if c == nil {
		return ""
	}
	if host := hostName(r.Host); !c.allowed[host] {
		return fmt.Sprintf("Host %q is not a name of this server; if clients reach it by that name (a reverse proxy, a DNS name), start the server with --allowed-host %s", r.Host, host)
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
			return "cross-site requests are refused"
		}
		return ""
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || !c.allowed[hostName(u.Host)] {
		return fmt.Sprintf("cross-origin request from %q refused: the API and dashboard answer pages of this server only", origin)
	}
	return ""
}

// sameSite wraps next with the host and origin check.
func (c *hostCheck) sameSite(next http.Handler) http.Handler {
	if c == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if why := c.refuse(r); why != "" {
			writeError(w, http.StatusForbidden, api.CodeForbidden, why, "")
			return
		}
		next.ServeHTTP(w, r)
	})
}
