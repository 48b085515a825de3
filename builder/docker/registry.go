package docker

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	dockerregistry "github.com/docker/docker/api/types/registry"
)

// Registry is where a Builder pushes the images it builds, so that other nodes can pull them.
type Registry struct {
	// Address is "host[:port]" or "host[:port]/prefix" (ValidateRegistry). Images are named
	// "<Address>/hearth/<function>:<hash>".
	Address string
	// Username and Password, when set, go with every push. Both or neither.
	Username, Password string
}

// ErrInvalidRegistry is returned by ValidateRegistry (and New) for a registry address that
// cannot name a registry.
var ErrInvalidRegistry = errors.New("invalid registry address")

var (
	// registryHost is a DNS name or IPv4 address (one or more components separated by dots),
	// or an IPv6 address in brackets: the domain part of an image reference.
	registryHost = regexp.MustCompile(`^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])$`)
	// pathComponent is one component of a repository path, as image references allow it.
	pathComponent = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$`)
)

// ValidateRegistry checks a registry address, "host[:port]" or "host[:port]/prefix", and says
// what is wrong in words an operator can act on. The host must be recognisable as a registry
// host in an image reference (a dot, a port or "localhost"): Docker reads a first component
// without one as an account on Docker Hub, so "myregistry/team" would push function images to
// the public registry.
func ValidateRegistry(addr string) error {
	fail := func(why string) error { return fmt.Errorf("%w %q: %s", ErrInvalidRegistry, addr, why) }
	switch {
	case addr == "":
		return fail("empty")
	case strings.Contains(addr, "://"):
		return fail("give host[:port][/prefix] without a scheme: the Docker Engine chooses HTTPS, or HTTP for a registry it trusts as insecure (loopback ones are)")
	case strings.ContainsAny(addr, "@ \t\n"):
		return fail("give host[:port][/prefix] only; credentials go in --registry-username and the password file or HEARTH_REGISTRY_PASSWORD")
	}
	hostPort, prefix, hasPrefix := strings.Cut(addr, "/")
	host, port := hostPort, ""
	if i := strings.LastIndex(hostPort, ":"); i >= 0 && !strings.HasSuffix(hostPort, "]") {
		host, port = hostPort[:i], hostPort[i+1:]
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || port != strconv.Itoa(n) {
			return fail(fmt.Sprintf("port %q is not a number from 1 to 65535", port))
		}
	}
	if !registryHost.MatchString(host) {
		return fail(fmt.Sprintf("%q is not a host name or IP address", host))
	}
	if port == "" && !strings.Contains(host, ".") && host != "localhost" && !strings.HasPrefix(host, "[") {
		return fail(fmt.Sprintf("Docker would read %q as an account on Docker Hub, not as a registry: name the registry with a dot, a port or localhost (such as %s:5000)", host, host))
	}
	if hasPrefix {
		for _, c := range strings.Split(prefix, "/") {
			if !pathComponent.MatchString(c) {
				return fail(fmt.Sprintf("prefix component %q: use lower-case letters and digits, separated by '.', '_' or '-' (and no empty components or trailing '/')", c))
			}
		}
	}
	return nil
}

// registryHostPort returns the host[:port] of a registry address, without its prefix: what
// credentials are for.
func registryHostPort(addr string) string {
	host, _, _ := strings.Cut(addr, "/")
	return host
}

// encodeAuth makes the X-Registry-Auth value of a push. It is sent even without credentials:
// older engines fail a push whose header is empty ("missing X-Registry-Auth").
func encodeAuth(r Registry) (string, error) {
	return dockerregistry.EncodeAuthConfig(dockerregistry.AuthConfig{
		Username: r.Username, Password: r.Password, ServerAddress: registryHostPort(r.Address)})
}
