// Package outbound decides which addresses the server may open connections to on a caller's
// behalf, and gives an HTTP client that holds to it. Async callbacks use it: a caller names the
// callback URL, so without a check any caller could make the server POST to its own API, to a
// cloud's metadata service (169.254.169.254) or to anything on its private network: server-side
// request forgery.
//
// By default a Guard refuses loopback, link-local, multicast, unspecified, broadcast, reserved
// and private addresses (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7, fec0::/10), the same
// addresses in IPv4-mapped and NAT64 form, and the server's own addresses (every interface
// address, and those its public names resolve to). With AllowPrivate it refuses nothing: for
// an operator whose callback targets are on a private network.
//
// The check that counts is made when a connection is dialled, on the address actually dialled
// (a net.Dialer Control function): a name is judged by what it resolves to at that moment, so a
// name that resolved to a public address when the callback was accepted and to 127.0.0.1 when it
// is sent (DNS rebinding) is refused, and so is every redirect, since each hop dials again.
// CheckURL makes the same decision early, to refuse a callback with a 400 when it is accepted;
// it is a courtesy to the caller, not the protection.
//
// The client never uses a proxy from the environment (HTTP_PROXY, HTTPS_PROXY): a proxy would
// dial the target for us, and the check would only ever see the proxy's address. It follows at
// most 3 redirects, and only to http and https URLs.
//
// Where to read next: scheduler/calls (the callback sender), scheduler/router (accept, which
// refuses a callback URL early).
package outbound
