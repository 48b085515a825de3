//go:build integration

package docker

import (
	"errors"
	"strings"
	"testing"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/internal/testimage"
)

// The hardening, checked from inside running instances: the test image's /_probe reports what
// its process sees.

// TestHardenedInstance checks every default: non-root, no capability, no-new-privileges, a
// read-only root with a bounded /tmp, the PID and open-files limits, an init as PID 1, swap
// equal to memory, and nothing of the host's mounted.
func TestHardenedInstance(t *testing.T) {
	d := newDriver(t, DefaultConfig())
	spec := instance.Spec{ID: uniqueID(t), Image: testimage.Ensure(t), Resources: instance.Resources{MemoryMB: 96}}
	inst := startInstance(t, d, spec)
	p := testimage.GetProbe(t, inst.Endpoint)
	if p.UID != 65534 || p.GID != 65534 {
		t.Errorf("runs as %d:%d, want 65534:65534 (the image names no user)", p.UID, p.GID)
	}
	if p.CapEff != "0000000000000000" || p.NoNewPrivs != "1" {
		t.Errorf("CapEff %s, NoNewPrivs %s; want none and 1", p.CapEff, p.NoNewPrivs)
	}
	if p.RootWrite != "EROFS" || p.TmpWrite != "ok" {
		t.Errorf("writing to / gives %q, to /tmp %q; want EROFS and ok", p.RootWrite, p.TmpWrite)
	}
	if p.TmpBytes != defaultTmpSizeMB<<20 {
		t.Errorf("/tmp has %d bytes, want %d", p.TmpBytes, defaultTmpSizeMB<<20)
	}
	if p.PidsMax != "512" {
		t.Errorf("pids.max %q, want 512", p.PidsMax)
	}
	if p.NoFileSoft != defaultNoFile || p.NoFileHard != defaultNoFile {
		t.Errorf("RLIMIT_NOFILE %d/%d, want %d for both", p.NoFileSoft, p.NoFileHard, defaultNoFile)
	}
	if p.Pid == 1 || !strings.Contains(p.Init, "docker-init") {
		t.Errorf("the server is PID %d and PID 1 is %q; want docker-init as PID 1", p.Pid, p.Init)
	}

	info, err := d.api.ContainerInspect(t.Context(), inst.DriverRef)
	if err != nil {
		t.Fatal(err)
	}
	hc := info.HostConfig
	if hc.MemorySwap != hc.Memory || hc.Memory != 96<<20 {
		t.Errorf("memory %d, swap %d: want swap equal to memory", hc.Memory, hc.MemorySwap)
	}
	if len(info.Mounts) != 0 || len(hc.Binds) != 0 || len(hc.Mounts) != 0 || len(hc.Tmpfs) != 1 || hc.Tmpfs["/tmp"] == "" {
		t.Errorf("mounts %+v, binds %v, tmpfs %v: want the tmpfs at /tmp and nothing else", info.Mounts, hc.Binds, hc.Tmpfs)
	}
}

// TestRelaxedInstance checks that each relaxation a function may ask for takes effect, and
// that what it did not ask for stays as it was.
func TestRelaxedInstance(t *testing.T) {
	d := newDriver(t, DefaultConfig())
	img := testimage.Ensure(t)
	t.Run("root with every limit changed", func(t *testing.T) {
		inst := startInstance(t, d, instance.Spec{ID: uniqueID(t), Image: img, Security: instance.Security{
			User: "root", WritableRoot: true, TmpSizeMB: 8, PidsLimit: 64, NoFile: 1000,
			CapAdd: []string{"NET_BIND_SERVICE", "KILL"},
		}})
		p := testimage.GetProbe(t, inst.Endpoint)
		// CAP_KILL is bit 5, CAP_NET_BIND_SERVICE bit 10.
		want := testimage.Probe{UID: 0, GID: 0, CapEff: "0000000000000420", NoNewPrivs: "1", RootWrite: "ok",
			TmpWrite: "ok", TmpBytes: 8 << 20, PidsMax: "64", NoFileSoft: 1000, NoFileHard: 1000, Pid: p.Pid, Init: p.Init}
		if p != want {
			t.Errorf("probe\n%+v\nwant\n%+v", p, want)
		}
	})
	t.Run("writable root, default user", func(t *testing.T) {
		inst := startInstance(t, d, instance.Spec{ID: uniqueID(t), Image: img, Security: instance.Security{WritableRoot: true}})
		// Not read-only any more, but / is root's and the process is not.
		if p := testimage.GetProbe(t, inst.Endpoint); p.RootWrite != "EACCES" || p.UID != 65534 {
			t.Errorf("writing to / as %d gives %q, want EACCES", p.UID, p.RootWrite)
		}
	})
	t.Run("numeric user", func(t *testing.T) {
		inst := startInstance(t, d, instance.Spec{ID: uniqueID(t), Image: img, Security: instance.Security{User: "1234"}})
		if p := testimage.GetProbe(t, inst.Endpoint); p.UID != 1234 || p.GID != 1234 || p.CapEff != "0000000000000000" {
			t.Errorf("runs as %d:%d with CapEff %s, want 1234:1234 and none", p.UID, p.GID, p.CapEff)
		}
	})
}

// TestImageUser checks that an image's own non-root USER is kept and a root one is not.
func TestImageUser(t *testing.T) {
	d := newDriver(t, DefaultConfig())
	for user, want := range map[string]int{"1234:4321": 1234, "0": 65534, "root": 65534} {
		t.Run(user, func(t *testing.T) {
			inst := startInstance(t, d, instance.Spec{ID: uniqueID(t), Image: testimage.EnsureWithUser(t, user)})
			if p := testimage.GetProbe(t, inst.Endpoint); p.UID != want {
				t.Errorf("image USER %s: runs as uid %d, want %d", user, p.UID, want)
			}
		})
	}
}

// TestMissingImageIsNotPulled checks the engine's side of "no pulls from public registries": a
// missing image, with or without a registry configured, is ErrImageNotFound that says to
// deploy again. (That no pull is attempted is TestEnsureImageNeverPullsOutsideTheRegistry's.)
func TestMissingImageIsNotPulled(t *testing.T) {
	for _, registry := range []string{"", "127.0.0.1:1"} {
		cfg := DefaultConfig()
		cfg.Registry = registry
		d := newDriver(t, cfg)
		ref := "hearth-test/missing:" + uniqueID(t)
		err := d.EnsureImage(t.Context(), ref)
		if !errors.Is(err, driver.ErrImageNotFound) || !strings.Contains(err.Error(), "deploy the function again") {
			t.Errorf("registry %q: EnsureImage = %v, want ErrImageNotFound saying to deploy again", registry, err)
		}
		_, err = d.Start(t.Context(), instance.Spec{ID: uniqueID(t), Image: ref})
		if !errors.Is(err, driver.ErrImageNotFound) || !strings.Contains(err.Error(), "deploy the function again") {
			t.Errorf("registry %q: Start = %v, want ErrImageNotFound saying to deploy again", registry, err)
		}
	}
}
