//go:build integration

package docker

import (
	"context"
	"errors"
	"testing"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/registry"
	"github.com/docker/docker/client"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/internal/testimage"
	"github.com/hearthfn/hearth/internal/testregistry"
)

// TestIntegrationEnsureImagePullsWithCredentials: an image missing on the node is pulled from
// a registry that wants credentials, with the configured ones; without them, or with wrong
// ones, EnsureImage says to deploy again.
func TestIntegrationEnsureImagePullsWithCredentials(t *testing.T) {
	reg := testregistry.Start(t, testregistry.Options{Auth: true})
	ref := reg.Addr + "/fns/hearth/echo:" + uniqueID(t)
	cli, err := client.NewClientWithOpts(client.WithHost(DefaultConfig().Host), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	removeTag := func() {
		// Also at cleanup, when the test's context is done.
		if _, err := cli.ImageRemove(context.Background(), ref, image.RemoveOptions{}); err != nil && !client.IsErrNotFound(err) {
			t.Errorf("remove %s: %v", ref, err)
		}
	}
	t.Cleanup(removeTag)

	// Put the test image in the registry, then forget it on the node.
	if err := cli.ImageTag(t.Context(), testimage.Ensure(t), ref); err != nil {
		t.Fatal(err)
	}
	auth, err := registry.EncodeAuthConfig(registry.AuthConfig{Username: reg.Username, Password: reg.Password, ServerAddress: reg.Addr})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := cli.ImagePush(t.Context(), ref, image.PushOptions{RegistryAuth: auth})
	if err == nil {
		err = drainPull(rc) // a push reports failure the way a pull does
		_ = rc.Close()
	}
	if err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	removeTag()

	for _, tt := range []struct {
		name     string
		user, pw string
		ok       bool
	}{
		{"no credentials", "", "", false},
		{"a wrong password", reg.Username, "wrong", false},
		{"the right ones", reg.Username, reg.Password, true},
	} {
		d := newDriver(t, Config{Registry: reg.Addr + "/fns", RegistryUsername: tt.user, RegistryPassword: tt.pw})
		err := d.EnsureImage(t.Context(), ref)
		if tt.ok != (err == nil) || (err != nil && !errors.Is(err, driver.ErrImageNotFound)) {
			t.Fatalf("%s: EnsureImage = %v, want ok %v (or ErrImageNotFound)", tt.name, err, tt.ok)
		}
	}
	if _, err := cli.ImageInspect(t.Context(), ref); err != nil {
		t.Fatalf("%s is not on the node after EnsureImage: %v", ref, err)
	}
}
