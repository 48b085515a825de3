//go:build integration

package plugin_test

import (
	"testing"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/driver/docker"
	"github.com/hearthfn/hearth/agent/driver/drivertest"
	"github.com/hearthfn/hearth/internal/testimage"
)

// TestDockerConformanceInMemory runs the suite against the Docker driver across the plugin's
// gRPC boundary, as `hearth server --dev` uses it, minus the process.
func TestDockerConformanceInMemory(t *testing.T) {
	img := testimage.Ensure(t)
	drivertest.Run(t, func(t *testing.T) driver.Driver {
		d, err := docker.New(docker.DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = d.Close() })
		if _, err := d.Fingerprint(t.Context()); err != nil {
			t.Fatalf("the Docker Engine must be running for integration tests: %v", err)
		}
		client, _ := connect(t, d)
		return client
	}, drivertest.Options{Image: img})
}

// TestDockerConformanceSubprocess runs the suite against the Docker driver served by a real
// plugin process, launched through the Loader the way cmd/hearth launches `hearth __driver
// docker`.
func TestDockerConformanceSubprocess(t *testing.T) {
	img := testimage.Ensure(t)
	l, _ := selfLoader()
	drivertest.Run(t, func(t *testing.T) driver.Driver {
		d, _ := dispenseName(t, l, docker.Name)
		return d
	}, drivertest.Options{Image: img})
}
