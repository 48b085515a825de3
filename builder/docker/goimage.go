package docker

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/docker/docker/api/types/build"
)

// goImageDockerfile makes the Go toolchain image from a GOROOT sent as the build context. There
// is no base image (nothing can be pulled) and so no shell: the RUN is in exec form. Compiling
// the standard library once here, with the flags function builds use, gives every function
// build a warm cache.
const goImageDockerfile = `FROM scratch
COPY go /usr/local/go
COPY tmp /tmp
ENV PATH=/usr/local/go/bin HOME=/root GOCACHE=/root/.cache/go-build GOPATH=/root/go GOPROXY=off CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-buildvcs=false TMPDIR=/tmp
RUN ["go", "build", "-trimpath", "std"]
`

// gorootSkips are top-level GOROOT folders no build reads (the Go distribution's own test
// suite and API history); with every testdata folder they are about a quarter of a GOROOT.
var gorootSkips = map[string]bool{"test": true, "api": true}

// EnsureGoImage makes the go runtime's build image (e.g. "hearth/go-build:1.26.8") from the Go
// installation at goroot, unless the engine has it already. It returns the image's name and
// whether it was built. goroot must hold the Go release the image is named after. progress, if
// not nil, receives the build's log lines. The build takes about half a minute (it compiles the
// standard library); ctx cancels it.
func (b *Builder) EnsureGoImage(ctx context.Context, goroot string, progress func(string)) (string, bool, error) {
	rt, err := b.catalog.Lookup("go")
	if err != nil {
		return "", false, err
	}
	image := rt.BuildImage
	version, err := goVersion(goroot)
	if err != nil {
		return "", false, err
	}
	if want := "go" + image[strings.LastIndex(image, ":")+1:]; version != want {
		return "", false, fmt.Errorf("the go runtime builds with %s, but %s holds %s: use a %s toolchain",
			image, goroot, version, want)
	}
	exists, err := b.imageExists(ctx, image)
	if err != nil || exists {
		return image, false, err
	}
	if progress != nil {
		progress(fmt.Sprintf("building %s from %s", image, goroot))
	}
	opts := build.ImageBuildOptions{
		Tags:        []string{image},
		Version:     build.BuilderV1,
		Remove:      true,
		ForceRemove: true,
		Labels:      map[string]string{labelOwner: ownerValue, labelRole: "build-image", labelRuntime: rt.Name},
	}
	write := func(w io.Writer) error { return writeGoContext(w, goroot) }
	if err := b.runBuild(ctx, write, opts, progress); err != nil {
		return "", false, fmt.Errorf("build %s: %w", image, err)
	}
	return image, true, nil
}

// goVersion reads the release ("go1.26.8") from the first line of goroot/VERSION.
func goVersion(goroot string) (string, error) {
	data, err := os.ReadFile(filepath.Join(goroot, "VERSION"))
	if err != nil {
		return "", fmt.Errorf("%s does not look like a GOROOT: %w", goroot, err)
	}
	line, _, _ := strings.Cut(string(data), "\n")
	return strings.TrimSpace(line), nil
}

// writeGoContext writes the toolchain image's build context: the Dockerfile, an empty tmp/
// and goroot under go/. Modes are kept (the binaries must stay executable); owners are root.
func writeGoContext(w io.Writer, goroot string) error {
	tw := tar.NewWriter(w)
	now := time.Now()
	if err := tw.WriteHeader(&tar.Header{Name: "Dockerfile", Mode: 0o644, Size: int64(len(goImageDockerfile)),
		ModTime: now, Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	if _, err := io.WriteString(tw, goImageDockerfile); err != nil {
		return err
	}
	// /tmp in the image: world-writable with the sticky bit, as everywhere.
	if err := tw.WriteHeader(&tar.Header{Name: "tmp/", Mode: 0o1777, ModTime: now, Typeflag: tar.TypeDir}); err != nil {
		return err
	}
	root := os.DirFS(goroot)
	err := fs.WalkDir(root, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || (path.Dir(name) == "." && gorootSkips[name])) {
			return fs.SkipDir
		}
		return writeGorootEntry(tw, root, name, d)
	})
	if err != nil {
		return fmt.Errorf("pack %s: %w", goroot, err)
	}
	return tw.Close()
}

func writeGorootEntry(tw *tar.Writer, root fs.FS, name string, d fs.DirEntry) error {
	info, err := d.Info()
	if err != nil {
		return err
	}
	hdr := &tar.Header{Name: path.Join("go", name), Mode: int64(info.Mode().Perm()), ModTime: info.ModTime()}
	switch {
	case d.IsDir():
		hdr.Typeflag, hdr.Name = tar.TypeDir, hdr.Name+"/"
		return tw.WriteHeader(hdr)
	case d.Type()&fs.ModeSymlink != 0:
		target, err := fs.ReadLink(root, name)
		if err != nil {
			return err
		}
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, target
		return tw.WriteHeader(hdr)
	case !d.Type().IsRegular():
		return nil
	}
	f, err := root.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	hdr.Typeflag, hdr.Size = tar.TypeReg, info.Size()
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}
