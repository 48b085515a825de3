// Package nomadtest gives integration and end-to-end tests the real parts of a Nomad cluster
// that the project's scripts start on every developer machine and CI run: a Nomad dev agent
// (scripts/nomad.sh) and a private image registry on loopback (scripts/registry.sh). `make test`
// and .ci/run start both before the tests.
//
// A missing part fails the test with the script that starts it; nothing is skipped. The
// addresses are fixed, never read from the environment: a NOMAD_ADDR left in a shell must not
// send tests to a real cluster.
//
// Where to read next: scripts/nomad.sh, for the agent's configuration and where its log is.
package nomadtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

const (
	// AgentAddr is the dev agent's HTTP API.
	AgentAddr = "http://127.0.0.1:4646"
	// RegistryHost is the registry's host:port, the prefix of its image references
	// (127.0.0.1:5000/NAME:TAG). dockerd trusts a loopback registry without TLS.
	RegistryHost = "127.0.0.1:5000"
)

// checkTimeout bounds each check: both parts answer in milliseconds when they run.
const checkTimeout = 5 * time.Second

// Addr returns the Nomad dev agent's address (AgentAddr) after checking that it answers and
// that its node is ready with a healthy docker driver. Otherwise it fails the test, naming
// scripts/nomad.sh.
func Addr(t testing.TB) string {
	t.Helper()
	return agentAt(t, AgentAddr)
}

// Registry returns the registry's host:port (RegistryHost) after checking that its API
// answers. Otherwise it fails the test, naming scripts/registry.sh.
func Registry(t testing.TB) string {
	t.Helper()
	return registryAt(t, RegistryHost)
}

func agentAt(t testing.TB, base string) string {
	t.Helper()
	if err := checkAgent(context.Background(), base); err != nil {
		t.Fatalf("%v: run scripts/nomad.sh (it starts the Nomad dev agent; `make test` runs it)", err)
	}
	return base
}

func registryAt(t testing.TB, host string) string {
	t.Helper()
	if err := checkRegistry(context.Background(), "http://"+host); err != nil {
		t.Fatalf("%v: run scripts/registry.sh (it starts the registry; `make test` runs it)", err)
	}
	return host
}

// node is the part of Nomad's node list (GET /v1/nodes) the check reads.
type node struct {
	Name    string
	Status  string
	Drivers map[string]struct {
		Healthy           bool
		HealthDescription string
	}
}

// checkAgent returns nil when the agent at base lists at least one node that is ready with a
// healthy docker driver, and an error that says what is missing otherwise.
func checkAgent(ctx context.Context, base string) error {
	body, err := get(ctx, base+"/v1/nodes")
	if err != nil {
		return fmt.Errorf("no Nomad agent answers at %s: %w", base, err)
	}
	var nodes []node
	if err := json.Unmarshal(body, &nodes); err != nil {
		return fmt.Errorf("the Nomad agent at %s: reading its node list: %w", base, err)
	}
	if len(nodes) == 0 {
		return fmt.Errorf("the Nomad agent at %s has no client node", base)
	}
	var problems []string
	for _, n := range nodes {
		d, ok := n.Drivers["docker"]
		switch {
		case n.Status != "ready":
			problems = append(problems, fmt.Sprintf("node %s is %s", n.Name, n.Status))
		case !ok:
			problems = append(problems, fmt.Sprintf("node %s has no docker driver", n.Name))
		case !d.Healthy:
			problems = append(problems, fmt.Sprintf("node %s: docker driver unhealthy (%s)", n.Name, d.HealthDescription))
		default:
			return nil
		}
	}
	return fmt.Errorf("the Nomad agent at %s has no node ready for docker tasks: %s", base, strings.Join(problems, "; "))
}

// checkRegistry returns nil when the registry API at base answers 200 without credentials.
func checkRegistry(ctx context.Context, base string) error {
	if _, err := get(ctx, base+"/v2/"); err != nil {
		return fmt.Errorf("no registry answers at %s: %w", base, err)
	}
	return nil
}

// get returns the body of a GET of url, or an error unless it answers 200.
func get(ctx context.Context, url string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: HTTP %d", url, resp.StatusCode)
	}
	return body, nil
}
