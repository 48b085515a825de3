//go:build integration

package plugin_test

import (
	"testing"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/driver/drivertest"
	"github.com/hearthfn/hearth/agent/driver/nomad"
	"github.com/hearthfn/hearth/internal/nomadtest"
	"github.com/hearthfn/hearth/internal/testimage"
)

// TestNomadConformanceInMemory runs the suite against the Nomad driver across the plugin's gRPC
// boundary, as `hearth server --driver nomad` uses it, minus the process.
func TestNomadConformanceInMemory(t *testing.T) {
	img := testimage.Ensure(t)
	addr := nomadtest.Addr(t)
	drivertest.Run(t, func(t *testing.T) driver.Driver {
		d, err := nomad.New(nomad.Config{Address: addr})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = d.Close() })
		client, _ := connect(t, d)
		return client
	}, drivertest.Options{Image: img})
}

// TestNomadConformanceSubprocess runs the suite against the Nomad driver served by a real plugin
// process, launched through the Loader the way cmd/hearth launches `hearth __driver nomad`.
func TestNomadConformanceSubprocess(t *testing.T) {
	img := testimage.Ensure(t)
	nomadtest.Addr(t)
	l, _ := selfLoader()
	drivertest.Run(t, func(t *testing.T) driver.Driver {
		d, _ := dispenseName(t, l, nomad.Name)
		return d
	}, drivertest.Options{Image: img})
}
