//go:build integration

package docker

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestIntegrationImportRootfs imports a tiny root file system the way EnsureDebianImage imports
// debootstrap's, and checks that the engine applied the changes (Debian 12's 20.10 engine
// included): without ENV PATH no RUN of a runtime image would find apt-get.
func TestIntegrationImportRootfs(t *testing.T) {
	b := newIntegrationBuilder(t)
	ctx := context.Background()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "etc", "os-release"), []byte("ID=test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ref := "hearth-test/rootfs:" + uniqueName(t, "it")
	t.Cleanup(func() { docker(t, "rmi", "-f", ref) })
	if err := b.importRootfs(ctx, dir, ref, debianChanges); err != nil {
		t.Fatal(err)
	}
	info, err := b.api.ImageInspect(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if info.Config == nil || !slices.ContainsFunc(info.Config.Env, func(e string) bool { return strings.HasPrefix(e, "PATH=") }) {
		t.Errorf("imported image config = %+v, want ENV PATH", info.Config)
	}
	if info.Config != nil && (info.Config.Labels[labelOwner] != ownerValue || info.Config.Labels[labelRole] != "base-image") {
		t.Errorf("imported image labels = %v", info.Config.Labels)
	}
	if info.Config != nil && !slices.Equal(info.Config.Cmd, []string{"/bin/bash"}) {
		t.Errorf("imported image CMD = %v", info.Config.Cmd)
	}
}
