package docker

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
)

func secretSpec(as string) instance.Spec {
	spec := testSpec
	spec.Env = map[string]string{"API_KEY": "from env", "OTHER": "o"}
	spec.Secrets = instance.SecretValues{"API_KEY": []byte("s3cr3t"), "PORT_X": []byte("p")}
	spec.SecretsAs = as
	return spec
}

func TestSecretsAsEnv(t *testing.T) {
	d := newStubbed(Config{Network: "hearth-net"}, &stubAPI{})
	cfg, host := d.containerConfig(secretSpec(instance.SecretsEnv), netInfo{mode: "hearth-net", name: "hearth-net"}, "65534:65534")
	want := []string{"API_KEY=s3cr3t", "OTHER=o", "PORT=9000", "PORT_X=p"}
	if !slices.Equal(cfg.Env, want) {
		t.Errorf("env = %v, want %v (a secret wins over env, PORT over both)", cfg.Env, want)
	}
	if len(host.Mounts) != 0 {
		t.Errorf("env mode mounts %v", host.Mounts)
	}
	// Files mode puts nothing in the environment, the container's configuration.
	cfg, _ = d.containerConfig(secretSpec(instance.SecretsFiles), netInfo{mode: "hearth-net", name: "hearth-net"}, "65534:65534")
	if strings.Contains(fmt.Sprint(cfg.Env), "s3cr3t") {
		t.Errorf("files mode put a value in the env: %v", cfg.Env)
	}
}

// TestSecretsAsFiles starts an instance whose secrets are files: they are written for the
// container's user, mounted read-only at /run/secrets, and removed when it stops; a failed
// start leaves none.
func TestSecretsAsFiles(t *testing.T) {
	root := filepath.Join(t.TempDir(), "secrets")
	running := func(id string) (container.InspectResponse, error) {
		return container.InspectResponse{ContainerJSONBase: &container.ContainerJSONBase{ID: "c1",
			State: &container.State{Status: container.StateRunning}},
			Config:          &container.Config{Labels: map[string]string{labelPort: "9000", labelNetwork: "hearth-net"}},
			NetworkSettings: nil}, nil
	}
	api := &stubAPI{
		create: func(string) (container.CreateResponse, error) { return container.CreateResponse{ID: "c1"}, nil },
		start:  func(string) error { return errors.New("port is already allocated") },
	}
	d := newStubbed(Config{Network: "hearth-net", SecretsDir: root}, api)
	spec := secretSpec("")
	spec.Security.User = "1234"
	if _, err := d.Start(t.Context(), spec); err == nil {
		t.Fatal("Start succeeded")
	}
	if _, err := os.Stat(d.secretsPath(spec.ID)); !os.IsNotExist(err) {
		t.Fatalf("a failed start left its secret files: %v", err)
	}
	host := api.created[0]
	want := mount.Mount{Type: mount.TypeBind, Source: d.secretsPath(spec.ID), Target: "/run/secrets", ReadOnly: true}
	if len(host.Mounts) != 1 || host.Mounts[0] != want {
		t.Fatalf("mounts = %+v, want %+v", host.Mounts, want)
	}

	// The files as the container sees them, checked while the stubbed engine creates it.
	api.start = func(string) error {
		dir := d.secretsPath(spec.ID)
		b, err := os.ReadFile(filepath.Join(dir, "API_KEY"))
		if err != nil || string(b) != "s3cr3t" {
			return fmt.Errorf("secret file: %q, %v", b, err)
		}
		fi, _ := os.Stat(filepath.Join(dir, "API_KEY"))
		di, _ := os.Stat(dir)
		ri, _ := os.Stat(root)
		if os.Getuid() == 0 && (fi.Mode().Perm() != 0o400 || di.Mode().Perm() != 0o500) {
			return fmt.Errorf("modes: file %v, dir %v; want 0400 and 0500", fi.Mode(), di.Mode())
		}
		if ri.Mode().Perm() != 0o700 {
			return fmt.Errorf("the secrets root is %v, want 0700", ri.Mode())
		}
		return nil
	}
	api.inspect = running
	if _, err := d.Start(t.Context(), spec); err != nil && !strings.Contains(err.Error(), "no address") {
		t.Fatal(err)
	}
	// A started (or failed) instance's Stop removes the files once the container is gone.
	api.inspect = func(string) (container.InspectResponse, error) {
		return container.InspectResponse{}, notFound("container")
	}
	if err := d.Stop(t.Context(), spec.ID, 0); !errors.Is(err, driver.ErrInstanceNotFound) {
		t.Fatalf("stop: %v", err)
	}
	if _, err := os.Stat(d.secretsPath(spec.ID)); !os.IsNotExist(err) {
		t.Fatalf("stop left the secret files: %v", err)
	}
}

func TestSecretsAsFilesNeedALocalEngine(t *testing.T) {
	d := newStubbed(Config{Host: "tcp://10.0.0.5:2375", SecretsDir: t.TempDir()}, &stubAPI{})
	_, err := d.writeSecrets(secretSpec(""), "65534:65534")
	if !errors.Is(err, driver.ErrNotSupported) || !strings.Contains(err.Error(), "secrets: env") {
		t.Fatalf("want ErrNotSupported saying to use env, got %v", err)
	}
}

func TestSecretValuesRedacted(t *testing.T) {
	spec := secretSpec("")
	for _, s := range []string{fmt.Sprint(spec), fmt.Sprintf("%+v", spec), fmt.Sprintf("%#v", spec)} {
		if strings.Contains(s, "s3cr3t") || strings.Contains(s, "115 51 99") {
			t.Errorf("a printed spec shows a value: %s", s)
		}
	}
}

// TestSweepSecrets checks that List removes the secret files of containers that are gone,
// once they are old enough not to belong to a start under way.
func TestSweepSecrets(t *testing.T) {
	d := newStubbed(Config{SecretsDir: t.TempDir()}, &stubAPI{})
	for _, id := range []string{"live", "gone", "fresh"} {
		if err := os.MkdirAll(d.secretsPath(id), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-time.Hour)
	for _, id := range []string{"live", "gone"} {
		if err := os.Chtimes(d.secretsPath(id), old, old); err != nil {
			t.Fatal(err)
		}
	}
	d.sweepSecrets([]instance.Status{{Instance: instance.Instance{ID: "live"}}})
	for id, kept := range map[string]bool{"live": true, "gone": false, "fresh": true} {
		if _, err := os.Stat(d.secretsPath(id)); (err == nil) != kept {
			t.Errorf("%s: kept = %v, want %v", id, err == nil, kept)
		}
	}
}
