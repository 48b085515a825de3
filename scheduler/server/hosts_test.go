package server

import (
	"net"
	"slices"
	"strings"
	"testing"
)

func TestAllowedHosts(t *testing.T) {
	loop := &net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 8080}
	got, err := allowedHosts("http://127.0.0.1:8080", loop, []string{"hearth.internal"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"127.0.0.1", "localhost", "::1", "hearth.internal"} {
		if !slices.Contains(got, want) {
			t.Errorf("loopback server: %v lacks %q", got, want)
		}
	}

	wild := &net.TCPAddr{IP: net.IPv4zero, Port: 8080}
	got, err = allowedHosts("https://hearth.example.com", wild, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(got, "hearth.example.com") || !slices.Contains(got, "127.0.0.1") {
		t.Errorf("wildcard server: %v lacks the public name or the machine's addresses", got)
	}
	if !slices.Contains(got, "0.0.0.0") {
		t.Errorf("wildcard server: %v lacks 0.0.0.0, by which the machine reaches it", got)
	}

	one := &net.TCPAddr{IP: net.ParseIP("10.1.2.3"), Port: 8080}
	got, _ = allowedHosts("http://10.1.2.3:8080", one, nil)
	if slices.Contains(got, "localhost") {
		t.Errorf("a server on 10.1.2.3 only allows localhost: %v", got)
	}
	if _, err := allowedHosts("::not a url", loop, nil); err == nil {
		t.Error("a public URL without a host was accepted")
	}
	if h := defaultHost(wild); strings.HasPrefix(h, "[::]") || strings.HasPrefix(h, "0.0.0.0") || !strings.HasSuffix(h, ":8080") {
		t.Errorf("default public host of a wildcard server: %q, want the machine's name", h)
	}
	if h := defaultHost(loop); h != "127.0.0.1:8080" {
		t.Errorf("default public host of a loopback server: %q", h)
	}
	if isLoopback(wild) || !isLoopback(loop) {
		t.Error("isLoopback")
	}
}
