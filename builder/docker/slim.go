package docker

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
)

// slimDirs are folders of a fresh debootstrap whose contents no function needs: translations,
// manuals, and apt's package lists and caches (every runtime image's RUN starts with apt-get
// update, so lists would be stale anyway). Together they are more than half of a minbase root
// file system, and every run image, so every cold start, would carry them.
var slimDirs = []string{
	"usr/share/locale", "usr/share/man", "usr/share/info", "var/lib/apt/lists", "var/cache/apt",
}

// dpkgExcludes keeps the same folders empty when runtime images install packages on top, as
// Debian's own slim images do. Copyright files stay: they are the packages' licences.
const dpkgExcludes = `# Written by hearth images bootstrap: no documentation or translations in hearth's images.
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
`

// slimRootfs removes slimDirs' contents and the documentation but its copyright files from the
// root file system at dir, and installs dpkgExcludes. All paths go through an os.Root: the root
// file system's own absolute symlinks must never lead outside it, into the host's files.
func slimRootfs(dir string) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	for _, d := range slimDirs {
		if err := emptyDir(root, d, func(string) bool { return false }); err != nil {
			return err
		}
	}
	// In /usr/share/doc, keep <package>/copyright and remove the rest.
	var docs []fs.DirEntry
	if info, err := root.Lstat("usr/share/doc"); err == nil && info.IsDir() {
		if docs, err = fs.ReadDir(root.FS(), "usr/share/doc"); err != nil {
			return err
		}
	}
	for _, d := range docs {
		p := path.Join("usr/share/doc", d.Name())
		if !d.IsDir() {
			if err := root.Remove(p); err != nil {
				return err
			}
			continue
		}
		if err := emptyDir(root, p, func(name string) bool { return name == "copyright" }); err != nil {
			return err
		}
	}
	// apt needs its partial folders to download into, and packages' maintainer scripts put
	// update-alternatives links for manuals into the man sections even when dpkg excludes the
	// pages: OpenJDK's postinst fails without /usr/share/man/man1 (Debian's slim images keep
	// these folders for the same reason).
	keep := []string{"var/lib/apt/lists/partial", "var/cache/apt/archives/partial"}
	for i := 1; i <= 8; i++ {
		keep = append(keep, fmt.Sprintf("usr/share/man/man%d", i))
	}
	for _, d := range keep {
		if err := root.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := root.MkdirAll("etc/dpkg/dpkg.cfg.d", 0o755); err != nil {
		return err
	}
	return root.WriteFile("etc/dpkg/dpkg.cfg.d/hearth-slim", []byte(dpkgExcludes), 0o644)
}

// emptyDir removes the entries of the folder dir (in root) for which keep is false. A missing
// folder is already empty; a symlink is left alone, wherever it points.
func emptyDir(root *os.Root, dir string, keep func(name string) bool) error {
	info, err := root.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && !info.IsDir()) {
		return nil
	}
	if err != nil {
		return err
	}
	entries, err := fs.ReadDir(root.FS(), dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if keep(e.Name()) {
			continue
		}
		if err := root.RemoveAll(path.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}
