package outbound

import (
	"net/netip"
	"strings"
	"testing"
)

func TestRefusedClass(t *testing.T) {
	tests := []struct {
		addr string
		want string // a word of the class; "" for allowed
	}{
		// IPv4
		{"0.0.0.0", "unspecified"},
		{"0.1.2.3", "unspecified"},
		{"127.0.0.1", "loopback"},
		{"127.255.0.9", "loopback"},
		{"169.254.169.254", "metadata"},
		{"169.254.1.1", "link-local"},
		{"224.0.0.1", "multicast"},
		{"239.255.255.250", "multicast"},
		{"255.255.255.255", "broadcast"},
		{"240.0.0.1", "reserved"},
		{"10.0.0.1", "private"},
		{"172.16.0.1", "private"},
		{"172.31.255.255", "private"},
		{"192.168.1.1", "private"},
		{"100.64.0.1", "carrier-grade"},
		{"100.127.255.255", "carrier-grade"},
		{"8.8.8.8", ""},
		{"172.32.0.1", ""},
		{"100.128.0.1", ""},
		{"203.0.113.7", ""},
		// IPv6
		{"::", "unspecified"},
		{"::1", "loopback"},
		{"fe80::1", "link-local"},
		{"fe80::1%eth0", "link-local"},
		{"ff02::1", "multicast"},
		{"ff05::2", "multicast"},
		{"fc00::1", "private"},
		{"fd00:ec2::254", "private"},
		{"fec0::1", "private"},
		{"::7f00:1", "reserved"}, // IPv4-compatible ::127.0.0.1
		{"2001:4860:4860::8888", ""},
		{"2606:4700::1111", ""},
		// IPv4-mapped IPv6: judged as the IPv4 address
		{"::ffff:127.0.0.1", "loopback"},
		{"::ffff:169.254.169.254", "metadata"},
		{"::ffff:10.1.2.3", "private"},
		{"::ffff:100.64.0.1", "carrier-grade"},
		{"::ffff:0.0.0.0", "unspecified"},
		{"::ffff:224.0.0.1", "multicast"},
		{"::ffff:8.8.8.8", ""},
		// NAT64: judged as the embedded IPv4 address
		{"64:ff9b::7f00:1", "loopback"},
		{"64:ff9b::a9fe:a9fe", "metadata"},
		{"64:ff9b::c0a8:101", "private"},
		{"64:ff9b::808:808", ""},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			got := refusedClass(netip.MustParseAddr(tt.addr))
			switch {
			case tt.want == "" && got != "":
				t.Fatalf("refused as %q, want allowed", got)
			case tt.want != "" && !strings.Contains(got, tt.want):
				t.Fatalf("class %q, want one that says %q", got, tt.want)
			}
		})
	}
}
