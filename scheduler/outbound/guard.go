package outbound

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

var (
	// ErrForbiddenAddress: the address (or one the name resolves to) may not be dialled. The
	// errors that wrap it are *ForbiddenError when the address is known.
	ErrForbiddenAddress = errors.New("address refused")
	// ErrUnresolvable: the URL's host name does not resolve.
	ErrUnresolvable = errors.New("host does not resolve")
	// ErrBadURL: the URL is not an absolute http or https URL.
	ErrBadURL = errors.New("not an http(s) URL")
	// ErrRedirect: a redirect was not followed (too many, or to a scheme other than http(s)).
	ErrRedirect = errors.New("redirect refused")
)

// MaxRedirects is how many redirects the client follows before it gives up.
const MaxRedirects = 3

// lookupTimeout bounds CheckURL's name lookup, whatever the caller's context allows.
const lookupTimeout = 5 * time.Second

// ForbiddenError is a refused address and why it is refused.
type ForbiddenError struct {
	// Host is the name that resolved to Addr; "" when Addr was given as it is.
	Host string
	Addr netip.Addr
	// Class ends the sentence "Addr is ...": "a loopback address".
	Class string
}

func (e *ForbiddenError) Error() string {
	if e.Host != "" {
		return fmt.Sprintf("%s resolves to %s, %s", e.Host, e.Addr, e.Class)
	}
	return fmt.Sprintf("%s is %s", e.Addr, e.Class)
}

// Is makes errors.Is(err, ErrForbiddenAddress) hold.
func (e *ForbiddenError) Is(target error) bool { return target == ErrForbiddenAddress }

// Resolver looks up a host's addresses; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Config sets a Guard's policy. The zero Config is the default policy.
type Config struct {
	// AllowPrivate allows every address: loopback, link-local, private and the server's own.
	AllowPrivate bool
	// Self are the server's own addresses besides its interfaces' (those of its public URL's
	// host; see LookupHosts).
	Self []netip.Addr
	// InterfaceAddrs lists the machine's interface addresses, read at each check so that an
	// address added after start counts; nil for net.InterfaceAddrs.
	InterfaceAddrs func() ([]net.Addr, error)
	// Resolver resolves names for CheckURL; nil for net.DefaultResolver. Dialling resolves
	// through the system as usual: the Control check sees the result either way.
	Resolver Resolver
	// Deny, when set, replaces the built-in policy (address classes and own addresses): it
	// returns an error wrapping ErrForbiddenAddress to refuse a. Tests use it to treat a
	// loopback address as public.
	Deny func(a netip.Addr) error
}

// Guard decides whether an address may be dialled, and makes HTTP clients that hold to it.
// It is safe for concurrent use.
type Guard struct {
	cfg  Config
	self map[netip.Addr]bool
}

// New returns a guard with cfg's policy.
func New(cfg Config) *Guard {
	if cfg.InterfaceAddrs == nil {
		cfg.InterfaceAddrs = net.InterfaceAddrs
	}
	if cfg.Resolver == nil {
		cfg.Resolver = net.DefaultResolver
	}
	self := make(map[netip.Addr]bool, len(cfg.Self))
	for _, a := range cfg.Self {
		self[canonical(a)] = true
	}
	return &Guard{cfg: cfg, self: self}
}

// canonical drops what makes one address compare unequal to itself: the IPv4-mapped form and
// an IPv6 zone.
func canonical(a netip.Addr) netip.Addr { return a.Unmap().WithZone("") }

// Check returns nil when a may be dialled, else an error wrapping ErrForbiddenAddress (a
// *ForbiddenError) that says why.
func (g *Guard) Check(a netip.Addr) error {
	switch {
	case g.cfg.AllowPrivate:
		return nil
	case g.cfg.Deny != nil:
		return g.cfg.Deny(a)
	}
	if class := refusedClass(a); class != "" {
		return &ForbiddenError{Addr: a, Class: class}
	}
	own, err := g.isOwn(canonical(a))
	if err != nil {
		// Fail closed: an address we cannot rule out as ours is not dialled.
		return fmt.Errorf("%w: %s: cannot list this server's own addresses: %v", ErrForbiddenAddress, a, err)
	}
	if own {
		return &ForbiddenError{Addr: a, Class: "one of this server's own addresses"}
	}
	return nil
}

func (g *Guard) isOwn(a netip.Addr) (bool, error) {
	if g.self[a] {
		return true, nil
	}
	addrs, err := g.cfg.InterfaceAddrs()
	if err != nil {
		return false, err
	}
	for _, ia := range addrs {
		var ip net.IP
		switch v := ia.(type) {
		case *net.IPNet:
			ip = v.IP
		case *net.IPAddr:
			ip = v.IP
		}
		if own, ok := netip.AddrFromSlice(ip); ok && canonical(own) == a {
			return true, nil
		}
	}
	return false, nil
}

// CheckURL returns nil when rawURL is an http(s) URL whose host may be dialled now: an IP
// literal is checked as it is, a name by every address it resolves to (one refused address
// refuses the URL). It returns an error wrapping ErrBadURL, ErrUnresolvable or
// ErrForbiddenAddress. ctx bounds the lookup, which takes 5 s at most.
//
// A name is looked up even with AllowPrivate, so that a typo is found when the URL is given.
// The answer holds for now only: the client checks again on every connection.
func (g *Guard) CheckURL(ctx context.Context, rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return ErrBadURL
	}
	host := u.Hostname()
	if a, err := netip.ParseAddr(host); err == nil {
		return g.Check(a)
	}
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	addrs, err := g.cfg.Resolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnresolvable, err) // err names the host
	}
	if len(addrs) == 0 {
		return fmt.Errorf("%w: %s has no address", ErrUnresolvable, host)
	}
	for _, a := range addrs {
		if err := g.Check(a); err != nil {
			var fe *ForbiddenError
			if errors.As(err, &fe) {
				return &ForbiddenError{Host: host, Addr: fe.Addr, Class: fe.Class}
			}
			return err
		}
	}
	return nil
}

// control is the dialer's Control function: it runs after the name was resolved, with the
// address about to be connected to, once per address tried.
func (g *Guard) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot read the address %q", ErrForbiddenAddress, address)
	}
	return g.Check(ap.Addr())
}

// Client returns an HTTP client whose every connection is checked by the guard, with timeout
// for a whole request (redirects included). It uses no proxy and follows at most MaxRedirects
// redirects, to http(s) URLs only.
func (g *Guard) Client(timeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: g.control}
	tr := &http.Transport{
		// No Proxy: a proxy would dial the target on our behalf, out of the guard's sight.
		Proxy:                 nil,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{Transport: tr, Timeout: timeout, CheckRedirect: checkRedirect}
}

// checkRedirect refuses the redirects the client does not follow. The address of each hop is
// checked by the dialer, like the first.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > MaxRedirects {
		return fmt.Errorf("%w: more than %d redirects", ErrRedirect, MaxRedirects)
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return fmt.Errorf("%w: to %s, not an http(s) URL", ErrRedirect, req.URL.Redacted())
	}
	return nil
}

// LookupHosts returns the addresses of hosts (names or IP literals), for Config.Self: the
// names the server is reached by. r nil is net.DefaultResolver. A name that does not resolve is
// left out and named in the error; the addresses of the others are returned all the same.
func LookupHosts(ctx context.Context, r Resolver, hosts ...string) ([]netip.Addr, error) {
	if r == nil {
		r = net.DefaultResolver
	}
	var out []netip.Addr
	var errs []error
	for _, h := range hosts {
		h = strings.Trim(h, "[]")
		if h == "" {
			continue
		}
		if a, err := netip.ParseAddr(h); err == nil {
			out = append(out, a)
			continue
		}
		addrs, err := r.LookupNetIP(ctx, "ip", h)
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: %v", ErrUnresolvable, err))
			continue
		}
		out = append(out, addrs...)
	}
	return out, errors.Join(errs...)
}
