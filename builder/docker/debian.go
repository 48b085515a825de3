package docker

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/docker/docker/api/types/image"
)

// DebianImage is the image every runtime's base images start from: a minimal Debian bookworm
// made by debootstrap and imported, since no registry can be assumed to be reachable.
const DebianImage = "hearth/debian:bookworm"

// debianSuite is the Debian release DebianImage holds.
const debianSuite = "bookworm"

// debianChanges are applied on import: an imported root file system has no configuration at
// all, and without PATH no RUN in a Dockerfile finds apt-get.
var debianChanges = []string{
	"ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	`CMD ["/bin/bash"]`,
	"LABEL " + labelOwner + "=" + ownerValue + " " + labelRole + "=base-image",
}

// DebianOptions configure EnsureDebianImage.
type DebianOptions struct {
	// Mirror is the Debian mirror debootstrap fetches from, e.g. an air-gapped site's own; the
	// image's apt sources then name it too, so the runtime images install from it as well.
	// Empty means debootstrap's default.
	Mirror string
	// Debootstrap is the debootstrap program; empty means "debootstrap" on PATH.
	Debootstrap string
	// WorkDir is where the root file system is made and then removed; empty means the system's
	// temporary folder. It needs about 250 MB and must allow device files (no nodev mount).
	WorkDir string
}

// EnsureDebianImage makes DebianImage unless the engine has it: debootstrap (minbase variant,
// with ca-certificates) into a temporary folder, trimmed of documentation, translations and
// apt's caches (slimRootfs), then the folder imported as an image through the Docker API. debootstrap needs root. It takes a few minutes, most of it downloading;
// progress, if not nil, receives debootstrap's output; ctx cancels it. It returns whether it
// made the image.
func (b *Builder) EnsureDebianImage(ctx context.Context, opts DebianOptions, progress func(string)) (bool, error) {
	exists, err := b.imageExists(ctx, DebianImage)
	if err != nil || exists {
		return false, err
	}
	dir, err := os.MkdirTemp(opts.WorkDir, "hearth-debootstrap-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(dir)

	prog := opts.Debootstrap
	if prog == "" {
		prog = "debootstrap"
	}
	args := []string{"--variant=minbase", "--include=ca-certificates", debianSuite, dir}
	if opts.Mirror != "" {
		args = append(args, opts.Mirror)
	}
	if progress != nil {
		progress(fmt.Sprintf("making %s: %s %s", DebianImage, prog, strings.Join(args, " ")))
	}
	if err := runLogged(ctx, progress, prog, args...); err != nil {
		return false, fmt.Errorf("make %s: debootstrap: %w", DebianImage, err)
	}
	if err := slimRootfs(dir); err != nil {
		return false, fmt.Errorf("make %s: trim the root file system: %w", DebianImage, err)
	}
	if progress != nil {
		progress(fmt.Sprintf("importing %s", DebianImage))
	}
	if err := b.importRootfs(ctx, dir, DebianImage, debianChanges); err != nil {
		return false, fmt.Errorf("make %s: %w", DebianImage, err)
	}
	return true, nil
}

// importRootfs imports the root file system at dir as the image ref. tar (GNU tar, which
// debootstrap needs anyway) packs it, because it keeps hard links, device files and extended
// attributes as they are; owners stay numeric so that the host's users do not leak in.
func (b *Builder) importRootfs(ctx context.Context, dir, ref string, changes []string) error {
	tarCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(tarCtx, "tar", "--numeric-owner", "-C", dir, "-cf", "-", ".")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("pack the root file system: %w", err)
	}
	resp, err := b.api.ImageImport(ctx, image.ImportSource{Source: out, SourceName: "-"}, ref,
		image.ImportOptions{Changes: changes})
	if err != nil {
		cancel()
		_ = cmd.Wait()
		return b.engineError(ctx, "image import", err)
	}
	streamErr := readBuildStream(resp, nil, nil, nil)
	resp.Close()
	// The engine stops reading on an error; cancel so that tar does not block on a full pipe.
	cancel()
	waitErr := cmd.Wait()
	switch {
	case streamErr != nil:
		return fmt.Errorf("image import: %w", streamErr)
	case waitErr != nil && stderr.Len() > 0:
		return fmt.Errorf("pack the root file system: %w: %s", waitErr, strings.TrimSpace(stderr.String()))
	}
	exists, err := b.imageExists(ctx, ref)
	if err == nil && !exists {
		err = fmt.Errorf("the import ended but %s is not in the engine", ref)
	}
	return err
}

// runLogged runs a program, sending each line of its output (stdout and stderr) to progress.
// A failure carries the last lines of that output, where the program says what went wrong.
func runLogged(ctx context.Context, progress func(string), name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return fmt.Errorf("%s is not installed (Debian package %q): %w", name, name, err)
		}
		return err
	}
	var tail []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if tail = append(tail, line); len(tail) > 20 {
				tail = tail[1:]
			}
			if progress != nil {
				progress(line)
			}
		}
		_, _ = io.Copy(io.Discard, pr) // a line over the buffer: keep draining so the program never blocks
	}()
	err := cmd.Wait()
	pw.Close()
	<-done
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%w\n%s", err, strings.Join(tail, "\n"))
	}
	return nil
}
