package outbound

import "net/netip"

// Address classes refused by default, beyond what netip.Addr's own predicates tell.
var (
	thisNetwork4 = netip.MustParsePrefix("0.0.0.0/8")     // "this network": connect(0.0.0.0) reaches this machine
	cgnat4       = netip.MustParsePrefix("100.64.0.0/10") // shared address space (carrier-grade NAT)
	reserved4    = netip.MustParsePrefix("240.0.0.0/4")   // reserved for future use; 255.255.255.255 is in it
	broadcast4   = netip.MustParseAddr("255.255.255.255") // limited broadcast
	compat6      = netip.MustParsePrefix("::/96")         // deprecated IPv4-compatible addresses
	siteLocal6   = netip.MustParsePrefix("fec0::/10")     // deprecated site-local: private in practice
	nat64        = netip.MustParsePrefix("64:ff9b::/96")  // well-known NAT64 prefix: the low 32 bits are an IPv4 address
	metadata4    = netip.MustParseAddr("169.254.169.254") // the cloud instance metadata service
)

// refusedClass says why the address a is refused by the built-in policy, as the end of the
// sentence "a is ...", or "" when a may be dialled. It knows nothing of the server's own
// addresses (see Guard.Check).
func refusedClass(a netip.Addr) string {
	a = a.Unmap() // ::ffff:127.0.0.1 is 127.0.0.1 to the kernel
	if nat64.Contains(a) {
		// A NAT64 gateway turns 64:ff9b::a.b.c.d into a.b.c.d: judge that address.
		b := a.As16()
		if c := refusedClass(netip.AddrFrom4([4]byte(b[12:]))); c != "" {
			return c
		}
		return ""
	}
	switch {
	case a.IsUnspecified() || thisNetwork4.Contains(a):
		return "an unspecified address"
	case a.IsLoopback():
		return "a loopback address"
	case a == metadata4:
		return "a link-local address (the cloud metadata service's)"
	case a.IsLinkLocalUnicast():
		return "a link-local address"
	case a.IsMulticast():
		return "a multicast address"
	case a == broadcast4:
		return "a broadcast address"
	case a.IsPrivate() || siteLocal6.Contains(a):
		return "a private address"
	case cgnat4.Contains(a):
		return "a private address (shared, carrier-grade NAT)"
	case reserved4.Contains(a) || compat6.Contains(a):
		return "a reserved address"
	}
	return ""
}
