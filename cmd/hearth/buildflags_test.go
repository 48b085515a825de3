package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	dockerbuilder "github.com/hearthfn/hearth/builder/docker"
	"github.com/hearthfn/hearth/runtimes"
)

func TestParseRuntimeImages(t *testing.T) {
	cat := runtimes.New()
	got, err := parseRuntimeImages([]string{"go.build=golang:1.26", " go.build=registry.local/go:1 "}, cat)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]dockerbuilder.RuntimeImages{"go": {Build: "registry.local/go:1"}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v (the last value wins)", got, want)
	}
	for value, msg := range map[string]string{
		"go.build":           "use NAME.build=IMAGE",
		"go=golang":          "use NAME.build=IMAGE",
		"go.build=":          "use NAME.build=IMAGE",
		"go.build=a b":       "use NAME.build=IMAGE",
		"cobol.build=x":      "unknown runtime",
		"docker.run=x":       "has no run image",
		"docker.build=x":     "has no build image",
		"go.toolchain=x:1.0": "neither build nor run",
	} {
		if _, err := parseRuntimeImages([]string{value}, cat); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%q: %v, want an error containing %q", value, err, msg)
		}
	}
}

func TestRuntimeImageFlagFromEnv(t *testing.T) {
	cmd := newServerCmd(runtimes.New())
	t.Setenv("HEARTH_RUNTIME_IMAGE", "go.build=a:1,go.build=b:2")
	if err := envDefaults(cmd); err != nil {
		t.Fatal(err)
	}
	v, err := cmd.Flags().GetStringSlice("runtime-image")
	if err != nil || !reflect.DeepEqual(v, []string{"go.build=a:1", "go.build=b:2"}) {
		t.Fatalf("--runtime-image from the environment = %q, %v", v, err)
	}
}

func TestHostDebianMirror(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got := hostDebianMirror(dir, "bookworm"); got != "" {
		t.Fatalf("no sources: %q", got)
	}
	write("sources.list.d/debian.sources", `Types: deb
URIs: http://security.example/debian-security
Suites: bookworm-security
Components: main

Types: deb-src
URIs: http://src.example/debian
Suites: bookworm
Components: main

Enabled: no
Types: deb
URIs: http://off.example/debian
Suites: bookworm
Components: main

Types: deb
# a comment
URIs: http://deb822.example/debian
Suites: bookworm bookworm-updates
Components: main contrib
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
`)
	if got := hostDebianMirror(dir, "bookworm"); got != "http://deb822.example/debian" {
		t.Fatalf("deb822: %q", got)
	}
	// sources.list is read first.
	write("sources.list", "# deb http://commented.example/debian bookworm main\n"+
		"deb http://other.example/debian bullseye main\n"+
		"deb [arch=amd64 signed-by=/k.gpg] http://local.example/debian bookworm main non-free\n")
	if got := hostDebianMirror(dir, "bookworm"); got != "http://local.example/debian" {
		t.Fatalf("one-line: %q", got)
	}
}

func TestRegistryCredentials(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pwFile, emptyFile := file("pw", "s3cret\n"), file("empty", "\n")
	noEnv := func(string) (string, bool) { return "", false }
	env := func(v string) func(string) (string, bool) {
		return func(k string) (string, bool) { return v, k == registryPasswordEnv }
	}
	for _, tt := range []struct {
		name   string
		flags  registryFlags
		getenv func(string) (string, bool)
		want   dockerbuilder.Registry
		err    string
	}{
		{"none", registryFlags{}, noEnv, dockerbuilder.Registry{}, ""},
		{"no credentials", registryFlags{addr: "127.0.0.1:5000"}, noEnv, dockerbuilder.Registry{Address: "127.0.0.1:5000"}, ""},
		{"password file", registryFlags{addr: "reg.local/team", username: "ci", passwordFile: pwFile}, noEnv,
			dockerbuilder.Registry{Address: "reg.local/team", Username: "ci", Password: "s3cret"}, ""},
		{"password in the environment", registryFlags{addr: "reg.local", username: "ci"}, env("pw from env"),
			dockerbuilder.Registry{Address: "reg.local", Username: "ci", Password: "pw from env"}, ""},
		{"bad address", registryFlags{addr: "registry/team"}, noEnv, dockerbuilder.Registry{}, "--registry: invalid registry address"},
		{"username without password", registryFlags{addr: "reg.local", username: "ci"}, noEnv, dockerbuilder.Registry{}, "needs a password"},
		{"password without username", registryFlags{addr: "reg.local"}, env("pw"), dockerbuilder.Registry{}, "without --registry-username"},
		{"password two ways", registryFlags{addr: "reg.local", username: "ci", passwordFile: pwFile}, env("pw"), dockerbuilder.Registry{}, "one way"},
		{"empty password file", registryFlags{addr: "reg.local", username: "ci", passwordFile: emptyFile}, noEnv, dockerbuilder.Registry{}, "is empty"},
		{"missing password file", registryFlags{addr: "reg.local", username: "ci", passwordFile: filepath.Join(dir, "nope")}, noEnv, dockerbuilder.Registry{}, "no such file"},
		{"empty password variable", registryFlags{addr: "reg.local", username: "ci"}, env(""), dockerbuilder.Registry{}, "is empty"},
		{"credentials without a registry", registryFlags{username: "ci", passwordFile: pwFile}, noEnv, dockerbuilder.Registry{}, "without --registry"},
		{"password variable without a registry", registryFlags{}, env("pw"), dockerbuilder.Registry{}, "without --registry"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.flags.credentials(tt.getenv)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("credentials = %+v, %v; want an error saying %q", got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("credentials = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

// TestRegistryFlagsFromEnv: HEARTH_REGISTRY and friends set the flags, the server's builder
// names images under the registry, and the driver plugin gets the registry and the password
// file's name, never the password.
func TestRegistryFlagsFromEnv(t *testing.T) {
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("s3cret"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HEARTH_REGISTRY", "127.0.0.1:5000/team")
	t.Setenv("HEARTH_REGISTRY_USERNAME", "ci")
	t.Setenv("HEARTH_REGISTRY_PASSWORD_FILE", pw)
	cmd := newServerCmd(runtimes.New())
	for _, name := range []string{"registry", "registry-username", "registry-password-file"} {
		if cmd.Flags().Lookup(name) == nil {
			t.Fatalf("hearth server has no --%s", name)
		}
	}
	if err := envDefaults(cmd); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"registry": "127.0.0.1:5000/team", "registry-username": "ci", "registry-password-file": pw} {
		if got := cmd.Flags().Lookup(name).Value.String(); got != want {
			t.Errorf("--%s from the environment = %q, want %q", name, got, want)
		}
	}

	b := buildFlags{maxBuilds: 1, registry: registryFlags{addr: "127.0.0.1:5000/team", username: "ci", passwordFile: pw}}
	cfg, err := b.config("unix:///x.sock", runtimes.New())
	if err != nil {
		t.Fatal(err)
	}
	if want := (dockerbuilder.Registry{Address: "127.0.0.1:5000/team", Username: "ci", Password: "s3cret"}); cfg.Registry != want {
		t.Fatalf("builder registry = %+v, want %+v", cfg.Registry, want)
	}
	args := b.registry.driverArgs()
	if want := []string{"--registry", "127.0.0.1:5000/team", "--registry-username", "ci", "--registry-password-file", pw}; !reflect.DeepEqual(args, want) {
		t.Errorf("driver args = %q, want %q", args, want)
	}
	if (&registryFlags{}).driverArgs() != nil {
		t.Error("driver args without a registry")
	}
	// The plugin's own flags read them back the same way.
	drv := newDriverCmd()
	if err := drv.Flags().Parse(args); err != nil {
		t.Fatalf("hearth __driver does not take %q: %v", args, err)
	}
}

func TestKeepAliveFlag(t *testing.T) {
	var m keepAliveMode
	if m.String() != "learned" {
		t.Fatalf("default = %q, want learned", m.String())
	}
	if err := m.Set("fixed"); err != nil || m != keepAliveFixed {
		t.Fatalf("Set(fixed) = %v, %q", err, m)
	}
	if err := m.Set("lerned"); err == nil || !strings.Contains(err.Error(), "use learned or fixed") {
		t.Fatalf("Set(lerned) = %v", err)
	}
}
