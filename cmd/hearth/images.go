package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/spf13/cobra"

	dockerbuilder "github.com/hearthfn/hearth/builder/docker"
	"github.com/hearthfn/hearth/runtimes"
)

func newImagesCmd(catalog *runtimes.Catalog) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "images",
		Short: "Manage the runtimes' base and build images",
	}
	var dockerHost, goroot, mirror, workDir string
	bootstrap := &cobra.Command{
		Use:   "bootstrap",
		Short: "Make the runtimes' base and build images when they are missing (no registry needed)",
		Long: `Make every image function builds start from, without pulling anything, in this order:

  1. ` + dockerbuilder.DebianImage + `: a minimal Debian made by debootstrap from a Debian
     mirror (--mirror, else the mirror this machine's apt uses), imported into Docker. This
     needs root, and installs the debootstrap package when it is missing.
  2. each runtime's images (runtime.yaml's images, e.g. hearth/python:3.11), built FROM it
     with apt-get from the same mirror.
  3. the Go build image, from this machine's Go toolchain (go env GOROOT), with the standard
     library precompiled.

Images that exist are left as they are, so a second run takes a second. To use other images
(an official one from a registry, say), see the server's --runtime-image flag and
docs/operator/airgapped-base-images.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := envDefaults(cmd); err != nil {
				return err
			}
			b, err := dockerbuilder.New(dockerbuilder.Config{Host: dockerHost, Catalog: catalog})
			if err != nil {
				return err
			}
			defer b.Close()
			bs := bootstrapper{b: b, out: cmd.OutOrStdout(), errOut: cmd.ErrOrStderr()}
			return bs.run(cmd.Context(), dockerbuilder.DebianOptions{Mirror: mirror, WorkDir: workDir}, goroot)
		},
	}
	f := bootstrap.Flags()
	f.StringVar(&dockerHost, "docker-host", defaultDockerHost(), "the Docker Engine to build on")
	f.StringVar(&goroot, "goroot", "", "the Go toolchain to put in the Go build image (default: go env GOROOT)")
	f.StringVar(&mirror, "mirror", "", "the Debian mirror to make "+dockerbuilder.DebianImage+" from (default: the one this machine's apt uses)")
	f.StringVar(&workDir, "work-dir", "", "where debootstrap makes the root file system, about 250 MB (default: the temporary folder)")
	cmd.AddCommand(bootstrap)
	return cmd
}

// bootstrapper makes the images in order, reporting each on out ("built X in 1m2s", "X is
// present") and the builds' output on errOut.
type bootstrapper struct {
	b           *dockerbuilder.Builder
	out, errOut io.Writer
}

func (s bootstrapper) progress(line string) { fmt.Fprintln(s.errOut, line) }

func (s bootstrapper) report(image string, built bool, took time.Duration) {
	if built {
		fmt.Fprintf(s.out, "built %s in %s\n", image, took.Round(100*time.Millisecond))
	} else {
		fmt.Fprintf(s.out, "%s is present\n", image)
	}
}

func (s bootstrapper) run(ctx context.Context, debian dockerbuilder.DebianOptions, goroot string) error {
	start := time.Now()
	built, err := s.debian(ctx, debian)
	if err != nil {
		return err
	}
	s.report(dockerbuilder.DebianImage, built, time.Since(start))

	images, err := s.b.EnsureRuntimeImages(ctx, s.progress)
	for _, img := range images {
		s.report(img.Tag, img.Built, img.Took)
		if img.Stale {
			fmt.Fprintf(s.out, "  note: %s was built from an older Dockerfile of the %s runtime; "+
				"`docker rmi %s` and run this again to remake it\n", img.Tag, img.Runtime, img.Tag)
		}
	}
	// A runtime whose images failed does not stop the Go image: each runtime stands alone.
	return errors.Join(err, s.goImage(ctx, goroot))
}

func (s bootstrapper) goImage(ctx context.Context, goroot string) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if goroot == "" {
		var err error
		if goroot, err = goEnvGOROOT(ctx); err != nil {
			return err
		}
	}
	start := time.Now()
	image, built, err := s.b.EnsureGoImage(ctx, goroot, s.progress)
	if err != nil {
		return err
	}
	s.report(image, built, time.Since(start))
	return nil
}

// debian makes hearth/debian:bookworm when it is missing: the only step that needs root and a
// host program, checked here so that the error says what to do.
func (s bootstrapper) debian(ctx context.Context, opts dockerbuilder.DebianOptions) (bool, error) {
	present, err := s.b.HasImage(ctx, dockerbuilder.DebianImage)
	if err != nil || present {
		return false, err
	}
	if os.Geteuid() != 0 {
		return false, fmt.Errorf("%s is missing, and making it runs debootstrap, which needs root: "+
			"run `sudo hearth images bootstrap`, or load the image another way "+
			"(docs/operator/airgapped-base-images.md)", dockerbuilder.DebianImage)
	}
	if opts.Debootstrap, err = ensureDebootstrap(ctx, s.progress); err != nil {
		return false, err
	}
	if opts.Mirror == "" {
		opts.Mirror = hostDebianMirror("/etc/apt", "bookworm")
	}
	return s.b.EnsureDebianImage(ctx, opts, s.progress)
}

// ensureDebootstrap returns the path of debootstrap, installing Debian's package when it is
// missing (with apt-get update first only if the plain install fails, as the package lists of
// a fresh machine may be empty).
func ensureDebootstrap(ctx context.Context, progress func(string)) (string, error) {
	if p, err := exec.LookPath("debootstrap"); err == nil {
		return p, nil
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		return "", errors.New("debootstrap is not installed and there is no apt-get to install it: " +
			"install debootstrap, or make " + dockerbuilder.DebianImage + " on another machine and `docker load` it")
	}
	progress("installing debootstrap (apt-get install -y debootstrap)")
	install := func() error {
		out, err := exec.CommandContext(ctx, "apt-get", "install", "-y", "--no-install-recommends", "debootstrap").CombinedOutput()
		if err != nil {
			return fmt.Errorf("apt-get install debootstrap: %w\n%s", err, out)
		}
		return nil
	}
	if err := install(); err != nil {
		if out, uerr := exec.CommandContext(ctx, "apt-get", "update").CombinedOutput(); uerr != nil {
			return "", fmt.Errorf("apt-get update: %w\n%s", uerr, out)
		}
		if err := install(); err != nil {
			return "", err
		}
	}
	return exec.LookPath("debootstrap")
}

// goEnvGOROOT asks the go command where its toolchain is.
func goEnvGOROOT(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOROOT").Output()
	if err != nil {
		return "", fmt.Errorf("find the Go toolchain for the Go build image (go env GOROOT): %w; install Go or pass --goroot", err)
	}
	return strings.TrimSpace(string(out)), nil
}
