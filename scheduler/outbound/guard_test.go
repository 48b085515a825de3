package outbound

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeResolver answers from a table; a name not in it does not resolve.
type fakeResolver map[string][]netip.Addr

func (f fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	addrs, ok := f[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return addrs, nil
}

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

// interfaces is a fake InterfaceAddrs.
func interfaces(cidrs ...string) func() ([]net.Addr, error) {
	return func() ([]net.Addr, error) {
		var out []net.Addr
		for _, c := range cidrs {
			ip, n, err := net.ParseCIDR(c)
			if err != nil {
				return nil, err
			}
			n.IP = ip
			out = append(out, n)
		}
		return out, nil
	}
}

func TestCheckOwnAddresses(t *testing.T) {
	g := New(Config{Self: addrs("198.51.100.1"), InterfaceAddrs: interfaces("127.0.0.1/8", "203.0.113.7/24", "2001:db8::7/64")})
	tests := []struct {
		addr string
		own  bool
	}{
		{"203.0.113.7", true},
		{"::ffff:203.0.113.7", true},
		{"2001:db8::7", true},
		{"198.51.100.1", true},
		{"::ffff:198.51.100.1", true},
		{"203.0.113.8", false},
		{"2001:db8::8", false},
	}
	for _, tt := range tests {
		err := g.Check(netip.MustParseAddr(tt.addr))
		if tt.own {
			var fe *ForbiddenError
			if !errors.Is(err, ErrForbiddenAddress) || !errors.As(err, &fe) || !strings.Contains(fe.Class, "own") {
				t.Errorf("Check(%s) = %v, want refused as one of the server's own", tt.addr, err)
			}
		} else if err != nil {
			t.Errorf("Check(%s) = %v, want allowed", tt.addr, err)
		}
	}
}

func TestCheckFailsClosedWhenInterfacesCannotBeListed(t *testing.T) {
	g := New(Config{InterfaceAddrs: func() ([]net.Addr, error) { return nil, errors.New("netlink: no") }})
	if err := g.Check(netip.MustParseAddr("8.8.8.8")); !errors.Is(err, ErrForbiddenAddress) {
		t.Fatalf("Check = %v, want refused", err)
	}
}

func TestAllowPrivateAllowsEverything(t *testing.T) {
	g := New(Config{AllowPrivate: true, Self: addrs("203.0.113.7")})
	for _, a := range []string{"127.0.0.1", "::1", "169.254.169.254", "10.0.0.1", "fe80::1", "203.0.113.7", "::ffff:127.0.0.1"} {
		if err := g.Check(netip.MustParseAddr(a)); err != nil {
			t.Errorf("Check(%s) = %v with AllowPrivate", a, err)
		}
	}
}

func TestCheckURL(t *testing.T) {
	res := fakeResolver{
		"public.test":   addrs("203.0.113.10"),
		"rebind.test":   addrs("127.0.0.1"),
		"mixed.test":    addrs("203.0.113.10", "10.0.0.5"),
		"metadata.test": addrs("::ffff:169.254.169.254"),
	}
	g := New(Config{Resolver: res, InterfaceAddrs: interfaces()})
	tests := []struct {
		url  string
		want error // nil for allowed
		msg  string
	}{
		{"https://public.test/done", nil, ""},
		{"http://203.0.113.10:8080/", nil, ""},
		{"http://127.0.0.1:9/", ErrForbiddenAddress, "127.0.0.1 is a loopback address"},
		{"http://[::1]:9/", ErrForbiddenAddress, "::1 is a loopback address"},
		{"http://[::ffff:127.0.0.1]/", ErrForbiddenAddress, "loopback"},
		{"http://169.254.169.254/latest/meta-data/", ErrForbiddenAddress, "metadata"},
		{"http://rebind.test/", ErrForbiddenAddress, "rebind.test resolves to 127.0.0.1, a loopback address"},
		{"http://mixed.test/", ErrForbiddenAddress, "10.0.0.5, a private address"},
		{"http://metadata.test/", ErrForbiddenAddress, "metadata"},
		{"http://nowhere.test/", ErrUnresolvable, "nowhere.test"},
		{"ftp://public.test/", ErrBadURL, ""},
		{"/relative", ErrBadURL, ""},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			err := g.CheckURL(context.Background(), tt.url)
			switch {
			case tt.want == nil && err != nil:
				t.Fatalf("CheckURL = %v, want allowed", err)
			case tt.want != nil && !errors.Is(err, tt.want):
				t.Fatalf("CheckURL = %v, want %v", err, tt.want)
			case err != nil && !strings.Contains(err.Error(), tt.msg):
				t.Fatalf("CheckURL = %q, want it to say %q", err, tt.msg)
			}
		})
	}

	// AllowPrivate lets any address through, but a name must still resolve.
	open := New(Config{AllowPrivate: true, Resolver: res})
	if err := open.CheckURL(context.Background(), "http://rebind.test/"); err != nil {
		t.Fatalf("AllowPrivate: CheckURL(rebind.test) = %v", err)
	}
	if err := open.CheckURL(context.Background(), "http://nowhere.test/"); !errors.Is(err, ErrUnresolvable) {
		t.Fatalf("AllowPrivate: CheckURL(nowhere.test) = %v, want ErrUnresolvable", err)
	}
}

// counting is an httptest server that counts its requests and answers with handler.
func counting(t *testing.T, ln net.Listener, handler http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		handler(w, r)
	}))
	if ln != nil {
		srv.Listener.Close()
		srv.Listener = ln
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &hits
}

func answerOK(http.ResponseWriter, *http.Request) {}

// TestClientRefusesLoopback: over real sockets, the default client cannot reach a server on
// 127.0.0.1, whether named by address or by a name that resolves to it; with AllowPrivate it can.
func TestClientRefusesLoopback(t *testing.T) {
	srv, hits := counting(t, nil, answerOK)
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	guarded := New(Config{}).Client(5 * time.Second)
	for _, u := range []string{srv.URL, fmt.Sprintf("http://localhost:%d/", port)} {
		resp, err := guarded.Get(u)
		if err == nil {
			resp.Body.Close()
		}
		if !errors.Is(err, ErrForbiddenAddress) || !strings.Contains(err.Error(), "loopback") {
			t.Fatalf("GET %s: %v, want refused as loopback", u, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the server was reached %d times", n)
	}

	resp, err := New(Config{AllowPrivate: true}).Client(5 * time.Second).Get(srv.URL)
	if err != nil {
		t.Fatalf("AllowPrivate: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || hits.Load() != 1 {
		t.Fatalf("AllowPrivate: status %d, %d hits", resp.StatusCode, hits.Load())
	}
}

// publicLoopback is a test policy: 127.0.0.1 is treated as a public address, everything else
// as the built-in policy says.
func publicLoopback(a netip.Addr) error {
	if a == netip.MustParseAddr("127.0.0.1") {
		return nil
	}
	if c := refusedClass(a); c != "" {
		return &ForbiddenError{Addr: a, Class: c}
	}
	return nil
}

// TestClientChecksEveryRedirect: an allowed target that redirects to a refused address fails
// at the redirect, and the refused address is never reached.
func TestClientChecksEveryRedirect(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	inner, innerHits := counting(t, ln, answerOK)
	outer, outerHits := counting(t, nil, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, inner.URL+"/admin", http.StatusTemporaryRedirect)
	})
	c := New(Config{Deny: publicLoopback}).Client(5 * time.Second)
	resp, err := c.Post(outer.URL, "application/json", strings.NewReader("{}"))
	if err == nil {
		resp.Body.Close()
	}
	if !errors.Is(err, ErrForbiddenAddress) || !strings.Contains(err.Error(), "127.0.0.2 is a loopback address") {
		t.Fatalf("POST through a redirect to 127.0.0.2: %v, want refused", err)
	}
	if outerHits.Load() != 1 || innerHits.Load() != 0 {
		t.Fatalf("hits: outer %d, inner %d; want 1 and 0", outerHits.Load(), innerHits.Load())
	}
}

func TestClientLimitsRedirects(t *testing.T) {
	loop, hits := counting(t, nil, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/again", http.StatusFound)
	})
	toFTP, _ := counting(t, nil, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "ftp://example.com/x", http.StatusFound)
	})
	c := New(Config{Deny: publicLoopback}).Client(5 * time.Second)
	for _, u := range []string{loop.URL, toFTP.URL} {
		resp, err := c.Get(u)
		if err == nil {
			resp.Body.Close()
		}
		if !errors.Is(err, ErrRedirect) {
			t.Fatalf("GET %s: %v, want ErrRedirect", u, err)
		}
	}
	if n := hits.Load(); n != MaxRedirects+1 {
		t.Fatalf("the redirecting server was asked %d times, want %d", n, MaxRedirects+1)
	}
}

// TestClientUsesNoProxy: a proxy from the environment would dial for us, out of the guard's
// sight.
func TestClientUsesNoProxy(t *testing.T) {
	tr, ok := New(Config{}).Client(time.Second).Transport.(*http.Transport)
	if !ok || tr.Proxy != nil {
		t.Fatalf("transport %T with Proxy set: callbacks must not go through a proxy", tr)
	}
}

func TestLookupHosts(t *testing.T) {
	res := fakeResolver{"hearth.example": addrs("203.0.113.7", "2001:db8::7")}
	got, err := LookupHosts(context.Background(), res, "hearth.example", "198.51.100.1", "[2001:db8::1]", "gone.example", "")
	if !errors.Is(err, ErrUnresolvable) || !strings.Contains(err.Error(), "gone.example") {
		t.Fatalf("err = %v, want gone.example unresolvable", err)
	}
	want := addrs("203.0.113.7", "2001:db8::7", "198.51.100.1", "2001:db8::1")
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}
