package docker

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSlimRootfs(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	files := map[string]string{
		"usr/share/locale/de/LC_MESSAGES/apt.mo":    "x",
		"usr/share/man/man1/ls.1.gz":                "x",
		"usr/share/doc/bash/copyright":              "GPL",
		"usr/share/doc/bash/changelog.gz":           "x",
		"usr/share/doc/README":                      "x",
		"var/lib/apt/lists/deb.debian.org_Packages": "x",
		"var/cache/apt/pkgcache.bin":                "x",
		"usr/bin/bash":                              "keep",
		"etc/os-release":                            "keep",
	}
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// An absolute symlink in the root file system means the root file system's path, never the
	// host's: slimming must not follow it.
	if err := os.WriteFile(filepath.Join(outside, "host-file"), []byte("host"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "usr/share/info")); err != nil {
		t.Fatal(err)
	}

	if err := slimRootfs(dir); err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		_, err := os.Stat(filepath.Join(dir, filepath.FromSlash(name)))
		kept := data == "keep" || strings.HasSuffix(name, "/copyright")
		if kept && err != nil {
			t.Errorf("%s was removed: %v", name, err)
		}
		if !kept && err == nil {
			t.Errorf("%s is still there", name)
		}
	}
	if _, err := os.Stat(filepath.Join(outside, "host-file")); err != nil {
		t.Fatalf("a file outside the root file system was removed: %v", err)
	}
	for _, d := range []string{"var/lib/apt/lists/partial", "var/cache/apt/archives/partial", "usr/share/man/man1", "usr/share/man/man8"} {
		if fi, err := os.Stat(filepath.Join(dir, d)); err != nil || !fi.IsDir() {
			t.Errorf("%s missing: %v", d, err)
		}
	}
	cfg, err := os.ReadFile(filepath.Join(dir, "etc/dpkg/dpkg.cfg.d/hearth-slim"))
	if err != nil || !strings.Contains(string(cfg), "path-exclude /usr/share/man/*") {
		t.Fatalf("dpkg excludes: %q, %v", cfg, err)
	}
}
