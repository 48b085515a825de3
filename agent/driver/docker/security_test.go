package docker

import (
	"reflect"
	"slices"
	"testing"

	"github.com/docker/docker/api/types/container"

	"github.com/hearthfn/hearth/agent/instance"
)

// startStubbed returns the create options Start would use for spec.
func startStubbed(t *testing.T, d *Driver, spec instance.Spec) (*container.Config, *container.HostConfig) {
	t.Helper()
	netw, err := d.instanceNetwork(t.Context(), spec.Security)
	if err != nil {
		t.Fatal(err)
	}
	user, err := d.runAs(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	return d.containerConfig(spec, netw, user)
}

// TestHardenedByDefault checks every default of the hardening on the create options, and that
// nothing of the host is mounted.
func TestHardenedByDefault(t *testing.T) {
	api := &stubAPI{}
	d := newStubbed(Config{}, api)
	spec := testSpec
	spec.Resources.MemoryMB = 128
	cfg, hc := startStubbed(t, d, spec)
	if cfg.User != "65534:65534" {
		t.Errorf("user %q, want 65534:65534 for an image with no USER", cfg.User)
	}
	if !slices.Equal(hc.CapDrop, []string{"ALL"}) || len(hc.CapAdd) != 0 {
		t.Errorf("caps: drop %v, add %v", hc.CapDrop, hc.CapAdd)
	}
	if !slices.Equal(hc.SecurityOpt, []string{"no-new-privileges"}) {
		t.Errorf("security options %v", hc.SecurityOpt)
	}
	if !hc.ReadonlyRootfs {
		t.Error("root filesystem writable")
	}
	if want := map[string]string{"/tmp": "rw,exec,nosuid,nodev,size=64m,mode=1777"}; !reflect.DeepEqual(hc.Tmpfs, want) {
		t.Errorf("tmpfs %v, want %v", hc.Tmpfs, want)
	}
	if hc.PidsLimit == nil || *hc.PidsLimit != 512 {
		t.Errorf("pids limit %v", hc.PidsLimit)
	}
	if hc.MemorySwap != 128<<20 || hc.Memory != 128<<20 {
		t.Errorf("memory %d, swap %d: want swap equal to memory", hc.Memory, hc.MemorySwap)
	}
	if hc.Init == nil || !*hc.Init {
		t.Error("no init process")
	}
	if want := []*container.Ulimit{{Name: "nofile", Soft: 4096, Hard: 4096}}; !reflect.DeepEqual(hc.Ulimits, want) {
		t.Errorf("ulimits %v", hc.Ulimits)
	}
	if hc.Privileged || len(hc.Binds) != 0 || len(hc.Mounts) != 0 || len(hc.VolumesFrom) != 0 || len(cfg.Volumes) != 0 ||
		len(hc.Devices) != 0 || hc.PidMode != "" || hc.IpcMode != "" || hc.UsernsMode != "" {
		t.Errorf("the host config gives the instance something of the host's: %+v", hc)
	}
	// No memory limit: no swap setting either (Docker refuses swap without memory).
	spec.Resources.MemoryMB = 0
	if _, hc := startStubbed(t, d, spec); hc.MemorySwap != 0 {
		t.Errorf("swap %d without a memory limit", hc.MemorySwap)
	}
}

func TestRelaxedSecurity(t *testing.T) {
	api := &stubAPI{}
	d := newStubbed(Config{}, api)
	spec := testSpec
	spec.Security = instance.Security{User: "root", WritableRoot: true, TmpSizeMB: 10, PidsLimit: 99, NoFile: 100,
		CapAdd: []string{"NET_BIND_SERVICE", "chown"}}
	cfg, hc := startStubbed(t, d, spec)
	if cfg.User != "0:0" {
		t.Errorf("user %q, want 0:0", cfg.User)
	}
	if !slices.Equal(hc.CapAdd, []string{"CAP_NET_BIND_SERVICE", "CAP_CHOWN"}) || !slices.Equal(hc.CapDrop, []string{"ALL"}) {
		t.Errorf("caps: add %v, drop %v", hc.CapAdd, hc.CapDrop)
	}
	if hc.ReadonlyRootfs || hc.Tmpfs["/tmp"] != "rw,exec,nosuid,nodev,size=10m,mode=1777" || *hc.PidsLimit != 99 ||
		hc.Ulimits[0].Soft != 100 || hc.Ulimits[0].Hard != 100 {
		t.Errorf("host config %+v", hc)
	}
	if !slices.Equal(hc.SecurityOpt, []string{"no-new-privileges"}) || !*hc.Init {
		t.Error("a relaxed function lost no-new-privileges or its init")
	}
}

func TestRunAs(t *testing.T) {
	for _, tt := range []struct {
		asked, image, want string
	}{
		{"", "", "65534:65534"},
		{"", "root", "65534:65534"},
		{"", "0", "65534:65534"},
		{"", "0:0", "65534:65534"},
		{"", "root:staff", "65534:65534"},
		{"", " 0 ", "65534:65534"},
		{"", "app", "app"},
		{"", "1000:1000", "1000:1000"},
		{"", "1000", "1000"},
		{"root", "1000", "0:0"},
		{"1000", "", "1000:1000"},
		{"1000:5", "app", "1000:5"},
		{"0:0", "app", "0:0"},
	} {
		api := &stubAPI{imageUser: tt.image}
		spec := testSpec
		spec.Security.User = tt.asked
		got, err := newStubbed(Config{}, api).runAs(t.Context(), spec)
		if err != nil || got != tt.want {
			t.Errorf("user %q, image USER %q: runAs = %q, %v; want %q", tt.asked, tt.image, got, err, tt.want)
		}
	}
}

func TestImageUserReadOncePerImage(t *testing.T) {
	api := &stubAPI{imageUser: "1000"}
	d := newStubbed(Config{}, api)
	for _, img := range []string{"a:1", "a:1", "b:1", "a:1"} {
		spec := testSpec
		spec.Image = img
		if _, err := d.runAs(t.Context(), spec); err != nil {
			t.Fatal(err)
		}
	}
	if api.imageInspects != 2 {
		t.Errorf("%d image inspections for 2 images", api.imageInspects)
	}
}
