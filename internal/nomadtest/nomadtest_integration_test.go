//go:build integration

package nomadtest_test

import (
	"testing"

	"github.com/hearthfn/hearth/internal/nomadtest"
)

// TestPartsRun checks that what `make test` starts is there: the Nomad dev agent with a ready
// node and a healthy docker driver, and the registry.
func TestPartsRun(t *testing.T) {
	if got := nomadtest.Addr(t); got != nomadtest.AgentAddr {
		t.Errorf("Addr = %q, want %q", got, nomadtest.AgentAddr)
	}
	if got := nomadtest.Registry(t); got != nomadtest.RegistryHost {
		t.Errorf("Registry = %q, want %q", got, nomadtest.RegistryHost)
	}
}
