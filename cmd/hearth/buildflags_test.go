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
		"go.run=x":           "has no run image",
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
