package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/hearthfn/hearth/builder"
	"github.com/hearthfn/hearth/builder/buildctx"
	"github.com/hearthfn/hearth/runtimes"
	"github.com/hearthfn/hearth/runtimes/funcfile"
)

var _ builder.Builder = (*Builder)(nil)

// Labels put on every image this package builds, so that hearth's images can be listed and
// cleaned up by owner. The keys match agent/instance's container labels.
const (
	labelOwner    = "hearth.owner"
	labelFunction = "hearth.function"
	labelHash     = "hearth.hash"
	labelRuntime  = "hearth.runtime"
	labelRole     = "hearth.role"
	ownerValue    = "hearth"
)

// DefaultRepository is the image repository prefix when Config.Repository is empty.
const DefaultRepository = "hearth"

// Config configures a Builder.
type Config struct {
	// Host is the Docker Engine's address, e.g. "unix:///var/run/docker.sock" (the default).
	Host string
	// Catalog holds the runtimes; nil means runtimes.New().
	Catalog *runtimes.Catalog
	// Repository prefixes image names: "<Repository>/<function>:<hash>". It defaults to
	// DefaultRepository; a cluster sets it to "<registry>/hearth".
	Repository string
}

// engine is the slice of the Docker API the builder uses.
type engine interface {
	ImageInspect(ctx context.Context, ref string, opts ...client.ImageInspectOption) (image.InspectResponse, error)
	ImageBuild(ctx context.Context, buildContext io.Reader, opts build.ImageBuildOptions) (build.ImageBuildResponse, error)
	Close() error
}

// catalog is the slice of runtimes.Catalog the builder uses.
type catalog interface {
	Lookup(name string) (runtimes.Runtime, error)
}

// Builder builds function images with a Docker Engine. It is safe for concurrent use; two
// builds of the same source may both run, and both produce the same tag.
type Builder struct {
	api     engine
	catalog catalog
	host    string
	repo    string
}

// New returns a Builder for the engine at cfg.Host. It does not connect: the first call that
// needs the engine does, and reports builder.ErrUnavailable if it cannot.
func New(cfg Config) (*Builder, error) {
	if cfg.Host == "" {
		cfg.Host = client.DefaultDockerHost
	}
	if cfg.Repository == "" {
		cfg.Repository = DefaultRepository
	}
	cat := cfg.Catalog
	if cat == nil {
		cat = runtimes.New()
	}
	// API version negotiation: the engines hearth meets (Debian 12's 20.10) speak API 1.41.
	api, err := client.NewClientWithOpts(client.WithHost(cfg.Host), client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker client for %s: %w", cfg.Host, err)
	}
	return &Builder{api: api, catalog: cat, host: cfg.Host, repo: strings.TrimSuffix(cfg.Repository, "/")}, nil
}

// Close releases the Docker client's connections.
func (b *Builder) Close() error { return b.api.Close() }

// Build implements builder.Builder. Besides the interface's errors it returns
// builder.ErrInvalidSource (wrapping the runtime's explanation) and ErrBuildImageMissing.
func (b *Builder) Build(ctx context.Context, req builder.Request) (builder.Result, error) {
	rt, err := b.catalog.Lookup(req.Runtime)
	if err != nil {
		return builder.Result{}, fmt.Errorf("build %s: %w", req.Function, also(builder.ErrUnknownRuntime, err))
	}
	var fe *funcfile.FieldError
	if err := funcfile.ValidateName(req.Function); errors.As(err, &fe) {
		return builder.Result{}, fmt.Errorf("%w: function name %s", builder.ErrInvalidSource, fe.Reason)
	}
	if req.Source == nil {
		return builder.Result{}, fmt.Errorf("build %s: %w: no source", req.Function, builder.ErrInvalidSource)
	}
	bc, err := assemble(req.Function, rt, req.Source)
	if err != nil {
		return builder.Result{}, fmt.Errorf("build %s: %w", req.Function, err)
	}
	hash := bc.Hash()
	res := builder.Result{Image: fmt.Sprintf("%s/%s:%s", b.repo, req.Function, hash[:16]), Hash: hash}

	exists, err := b.imageExists(ctx, res.Image)
	if err != nil {
		return builder.Result{}, err
	}
	if exists {
		res.Cached = true
		return res, nil
	}
	if exists, err := b.imageExists(ctx, rt.BuildImage); err != nil {
		return builder.Result{}, err
	} else if !exists {
		return builder.Result{}, fmt.Errorf("build %s: %w: the %s runtime builds FROM %s, which the Docker engine at %s "+
			"does not have: run `hearth images bootstrap` to make it", req.Function,
			also(builder.ErrUnavailable, ErrBuildImageMissing), rt.Name, rt.BuildImage, b.host)
	}

	opts := build.ImageBuildOptions{
		Tags:        []string{res.Image},
		Dockerfile:  runtimes.DockerfilePath,
		Version:     build.BuilderV1,
		Remove:      true,
		ForceRemove: true,
		Labels: map[string]string{
			labelOwner:    ownerValue,
			labelFunction: req.Function,
			labelHash:     hash,
			labelRuntime:  rt.Name,
			labelRole:     "function",
		},
	}
	if err := b.runBuild(ctx, bc.WriteTar, opts, req.Progress); err != nil {
		return builder.Result{}, fmt.Errorf("build %s: %w", req.Function, err)
	}
	// A stream that ended without an error message but left no image (an engine restarting
	// mid-build) must not be reported as a success.
	if exists, err := b.imageExists(ctx, res.Image); err != nil {
		return builder.Result{}, err
	} else if !exists {
		return builder.Result{}, fmt.Errorf("build %s: %w: the build ended but %s is not in the engine",
			req.Function, builder.ErrBuildFailed, res.Image)
	}
	return res, nil
}

// assemble makes the build context: the source, the rendered Dockerfile and shim, and the
// runtime's identity as hash metadata.
func assemble(function string, rt runtimes.Runtime, src fs.FS) (*buildctx.Context, error) {
	data, err := rt.Prepare(function, src)
	if err != nil {
		return nil, invalidSource(err)
	}
	files, err := rt.Render(data)
	if err != nil {
		return nil, err
	}
	bc := buildctx.New()
	if err := bc.AddFS(src); err != nil {
		return nil, invalidSource(err)
	}
	for _, f := range files {
		if err := bc.AddFile(f.Path, f.Data, f.Mode); err != nil {
			return nil, invalidSource(err)
		}
	}
	bc.SetMeta("runtime", rt.Name)
	bc.SetMeta("runtime.version", rt.Version)
	bc.SetMeta("runtime.build_image", rt.BuildImage)
	return bc, nil
}

// invalidSource adds builder.ErrInvalidSource to an error that is the source's fault.
func invalidSource(err error) error {
	if errors.Is(err, runtimes.ErrInvalidSource) || errors.Is(err, buildctx.ErrUnsafePath) ||
		errors.Is(err, fs.ErrExist) {
		return also(builder.ErrInvalidSource, err)
	}
	return err
}

// imageExists reports whether the engine has ref.
func (b *Builder) imageExists(ctx context.Context, ref string) (bool, error) {
	_, err := b.api.ImageInspect(ctx, ref)
	switch {
	case err == nil:
		return true, nil
	case cerrdefs.IsNotFound(err):
		return false, nil
	}
	return false, b.engineError(ctx, "inspect image "+ref, err)
}

// runBuild sends the context written by write to the engine and follows the build's output.
// The context is streamed through a pipe, so even a GOROOT-sized one is never held in memory.
func (b *Builder) runBuild(ctx context.Context, write func(io.Writer) error, opts build.ImageBuildOptions,
	progress func(string)) error {
	pr, pw := io.Pipe()
	written := make(chan error, 1)
	go func() {
		err := write(pw)
		pw.CloseWithError(err)
		written <- err
	}()
	resp, err := b.api.ImageBuild(ctx, pr, opts)
	if err != nil {
		pr.CloseWithError(err)
		<-written
		return b.engineError(ctx, "image build", err)
	}
	streamErr := readBuildStream(resp.Body, progress)
	resp.Body.Close()
	// The engine may stop reading the context early (a bad Dockerfile); unblock the writer.
	pr.Close()
	writeErr := <-written
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("image build: %w", ctx.Err())
	case streamErr != nil:
		if errors.Is(streamErr, builder.ErrBuildFailed) {
			return streamErr
		}
		return b.engineError(ctx, "read build output", streamErr)
	case writeErr != nil:
		return fmt.Errorf("send build context: %w", writeErr)
	}
	return nil
}
