package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"regexp"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types"
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
// cleaned up by owner. The keys match agent/instance's container labels; labelServer, on
// function images only, names the server (Config.Owner) that made them.
const (
	labelOwner    = "hearth.owner"
	labelServer   = "hearth.server"
	labelFunction = "hearth.function"
	labelHash     = "hearth.hash"
	labelRuntime  = "hearth.runtime"
	labelRole     = "hearth.role"
	ownerValue    = "hearth"
)

// DefaultRepository is the image repository prefix when Config.Repository is empty.
const DefaultRepository = "hearth"

// DefaultMaxBuilds is how many function builds run at once when Config.MaxBuilds is zero: a
// build takes a core or more and much memory, and the machine also runs the functions.
const DefaultMaxBuilds = 2

// Config configures a Builder.
type Config struct {
	// Host is the Docker Engine's address, e.g. "unix:///var/run/docker.sock" (the default).
	Host string
	// Catalog holds the runtimes; nil means runtimes.New().
	Catalog *runtimes.Catalog
	// Repository prefixes image names: "<Repository>/<function>:<hash>". It defaults to
	// DefaultRepository, or with a Registry to "<Registry.Address>/hearth" (a Repository
	// outside the Registry is an error).
	Repository string
	// Registry, when its Address is set, is where every image is pushed after it is built or
	// found cached; nodes pull it from there. Without one images stay in the engine.
	Registry Registry
	// Images overrides runtimes' build and run images by runtime name (the operator's
	// --runtime-image), e.g. to build Python functions on an official python image.
	Images map[string]RuntimeImages
	// CABundle is the PEM file of certificate authorities builds trust (the operator's
	// --build-ca-bundle); empty means none. New reads it once; every build context then holds
	// it at runtimes.CABundlePath and the templates see BuildData.CABundle.
	CABundle string
	// Owner is the identity of the server the builder builds for (its node id). It labels
	// every function image (hearth.server) and is part of the content hash, so that servers
	// sharing an engine never share, or remove, each other's images; RemoveImages and
	// FunctionsWithImages see only images with this label. Letters, digits, '.', '_' and '-'.
	// Empty: images get no server label and RemoveImages removes nothing.
	Owner string
	// MaxBuilds bounds the function builds that run at once; a build beyond it waits for a
	// slot. Zero takes DefaultMaxBuilds. Cached builds (the image exists) take no slot.
	MaxBuilds int
}

// RuntimeImages are the operator's images for one runtime; an empty field keeps the manifest's.
type RuntimeImages struct {
	Build string
	Run   string
}

// engine is the slice of the Docker API the builder uses.
type engine interface {
	ImageInspect(ctx context.Context, ref string, opts ...client.ImageInspectOption) (image.InspectResponse, error)
	ImageBuild(ctx context.Context, buildContext io.Reader, opts build.ImageBuildOptions) (build.ImageBuildResponse, error)
	ImageImport(ctx context.Context, source image.ImportSource, ref string, opts image.ImportOptions) (io.ReadCloser, error)
	ImageList(ctx context.Context, opts image.ListOptions) ([]image.Summary, error)
	ImageRemove(ctx context.Context, ref string, opts image.RemoveOptions) ([]image.DeleteResponse, error)
	ImagePush(ctx context.Context, ref string, opts image.PushOptions) (io.ReadCloser, error)
	ServerVersion(ctx context.Context) (types.Version, error)
	Close() error
}

// catalog is the slice of runtimes.Catalog the builder uses.
type catalog interface {
	Lookup(name string) (runtimes.Runtime, error)
	List() []runtimes.Runtime
}

// Builder builds function images with a Docker Engine. It is safe for concurrent use; two
// builds of the same source may both run, and both produce the same tag.
type Builder struct {
	api      engine
	catalog  catalog
	host     string
	repo     string
	images   map[string]RuntimeImages
	caBundle []byte // nil when no bundle is configured
	owner    string
	slots    buildSlots
	registry Registry         // Address empty: no pushes
	auth     string           // the pushes' X-Registry-Auth
	now      func() time.Time // the clock build steps and push progress are timed on
}

// validOwner is what Config.Owner may hold: it goes into a Dockerfile's LABEL line unquoted.
var validOwner = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// New returns a Builder for the engine at cfg.Host. It does not connect: the first call that
// needs the engine does, and reports builder.ErrUnavailable if it cannot.
func New(cfg Config) (*Builder, error) {
	if cfg.Host == "" {
		cfg.Host = client.DefaultDockerHost
	}
	if cfg.Repository == "" {
		cfg.Repository = DefaultRepository
	}
	if cfg.Owner != "" && !validOwner.MatchString(cfg.Owner) {
		return nil, fmt.Errorf("image owner %q (the server's node id): it labels images, so it may hold only letters, digits, '.', '_' and '-'", cfg.Owner)
	}
	if cfg.MaxBuilds < 0 {
		return nil, fmt.Errorf("at most %d builds at once: must be 1 or more", cfg.MaxBuilds)
	}
	if cfg.MaxBuilds == 0 {
		cfg.MaxBuilds = DefaultMaxBuilds
	}
	auth, err := checkRegistry(&cfg)
	if err != nil {
		return nil, err
	}
	cat := cfg.Catalog
	if cat == nil {
		cat = runtimes.New()
	}
	var bundle []byte
	if cfg.CABundle != "" {
		var err error
		// Read now, so that a wrong path stops the server at start rather than failing builds.
		if bundle, err = os.ReadFile(cfg.CABundle); err != nil {
			return nil, fmt.Errorf("build CA bundle: %w", err)
		}
		if len(bundle) == 0 {
			return nil, fmt.Errorf("build CA bundle %s is empty", cfg.CABundle)
		}
	}
	// API version negotiation: the engines hearth meets (Debian 12's 20.10) speak API 1.41.
	api, err := client.NewClientWithOpts(client.WithHost(cfg.Host), client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker client for %s: %w", cfg.Host, err)
	}
	return &Builder{api: api, catalog: cat, host: cfg.Host, repo: strings.TrimSuffix(cfg.Repository, "/"),
		images: cfg.Images, caBundle: bundle, owner: cfg.Owner, slots: newBuildSlots(cfg.MaxBuilds),
		registry: cfg.Registry, auth: auth, now: time.Now}, nil
}

// checkRegistry validates cfg's registry, names the images under it, and returns the pushes'
// X-Registry-Auth.
func checkRegistry(cfg *Config) (string, error) {
	r := cfg.Registry
	if r.Address == "" {
		if r.Username != "" || r.Password != "" {
			return "", errors.New("registry credentials without a registry to push to")
		}
		return "", nil
	}
	if err := ValidateRegistry(r.Address); err != nil {
		return "", err
	}
	if (r.Username == "") != (r.Password == "") {
		return "", fmt.Errorf("registry %s: a username needs a password and a password a username", r.Address)
	}
	if cfg.Repository == "" || cfg.Repository == DefaultRepository {
		cfg.Repository = r.Address + "/" + DefaultRepository
	} else if !strings.HasPrefix(cfg.Repository, r.Address+"/") {
		return "", fmt.Errorf("image repository %s is not in the registry %s that images are pushed to", cfg.Repository, r.Address)
	}
	auth, err := encodeAuth(r)
	if err != nil {
		return "", fmt.Errorf("registry %s: encode the credentials: %w", r.Address, err)
	}
	return auth, nil
}

// Close releases the Docker client's connections.
func (b *Builder) Close() error { return b.api.Close() }

// Build implements builder.Builder. Besides the interface's errors it returns
// builder.ErrInvalidSource (wrapping the runtime's explanation) and ErrBuildImageMissing.
func (b *Builder) Build(ctx context.Context, req builder.Request) (builder.Result, error) {
	res, err := b.build(ctx, req)
	if err != nil || b.registry.Address == "" {
		return res, err
	}
	// A cached image is pushed as well: the registry may have lost it (wiped, or cleaned by
	// its operator), and the nodes start instances from there. A push of layers the registry
	// has costs a request per layer. It runs outside the build slots: it is the registry's
	// time, not the machine's.
	// The push is a step of its own in the trace: it can take longer than the build.
	trace := builder.TraceFrom(ctx)
	step := builder.Step{Name: "push " + res.Image}
	trace(step)
	start := b.now()
	err = b.push(ctx, res.Image, req.Progress)
	step.Done, step.Elapsed, step.Failed = true, b.now().Sub(start), err != nil
	trace(step)
	if err != nil {
		return builder.Result{}, err // its message names the image, and thus the function
	}
	return res, nil
}

// Status implements builder.Builder.
func (b *Builder) Status(ctx context.Context) builder.Status {
	st := builder.Status{Engine: "docker", Host: b.host, Registry: b.registry.Address}
	v, err := b.api.ServerVersion(ctx)
	if err != nil {
		st.Problem = b.engineError(ctx, "ask the engine its version", err).Error()
		return st
	}
	st.Engine += " " + v.Version
	return st
}

// build makes (or finds) the image of req in the engine.
func (b *Builder) build(ctx context.Context, req builder.Request) (builder.Result, error) {
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
	over := b.images[rt.Name]
	src := runtimes.Source{Function: req.Function, Handler: req.Handler, FS: req.Source,
		CABundle: b.caBundle != nil, BuildImage: over.Build, RunImage: over.Run, Server: b.owner}
	bc, data, rendered, err := assemble(rt, src, b.caBundle)
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
	if err := b.checkBaseImages(ctx, rt.Name, data.BuildImage, data.RunImage); err != nil {
		return builder.Result{}, fmt.Errorf("build %s: %w", req.Function, err)
	}
	release, err := b.slots.acquire(ctx, req.Progress)
	if err != nil {
		return builder.Result{}, fmt.Errorf("build %s: %w", req.Function, err)
	}
	defer release()
	// A build of the same source may have finished while this one waited.
	if exists, err := b.imageExists(ctx, res.Image); err != nil {
		return builder.Result{}, err
	} else if exists {
		res.Cached = true
		return res, nil
	}

	labels := map[string]string{
		labelOwner:    ownerValue,
		labelFunction: req.Function,
		labelHash:     hash,
		labelRuntime:  rt.Name,
		labelRole:     "function",
	}
	if b.owner != "" {
		labels[labelServer] = b.owner
	}
	opts := build.ImageBuildOptions{
		Tags:        []string{res.Image},
		Version:     build.BuilderV1,
		Remove:      true,
		ForceRemove: true,
	}
	var ok bool
	if opts.Dockerfile, ok = addLabelLine(bc, rt, req.Source, rendered, labels); !ok {
		opts.Labels = labels
	}
	if err := b.runBuild(ctx, bc.WriteTar, opts, req.Progress); err != nil {
		err = fmt.Errorf("build %s: %w", req.Function, err)
		var failed *failedStepError
		if errors.As(err, &failed) {
			if hint := builder.OfflineHint(rt.Name, failed.log); hint != "" {
				err = &builder.HintError{Err: err, Hint: hint}
			}
		}
		return builder.Result{}, err
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

// checkBaseImages makes sure the engine has the images a runtime's Dockerfile starts from, so
// that a missing one is reported with the command that makes it rather than as a failed pull.
// Empty names (docker's) are skipped.
func (b *Builder) checkBaseImages(ctx context.Context, runtime string, images ...string) error {
	for _, ref := range images {
		if ref == "" {
			continue
		}
		exists, err := b.imageExists(ctx, ref)
		if err != nil {
			return err
		}
		if !exists {
			return fmt.Errorf("%w: the %s runtime builds FROM %s, which the Docker engine at %s does not have: "+
				"run `hearth images bootstrap` to make it (or load it, if the server points %s at another image)",
				also(builder.ErrUnavailable, ErrBuildImageMissing), runtime, ref, b.host, runtime)
		}
	}
	return nil
}

// assemble makes the build context: the source, the rendered Dockerfile and shim, the CA bundle
// (when configured), and the runtime's identity and images as hash metadata. The bundle is a
// file of the context, so its content is part of the hash: a new bundle rebuilds.
func assemble(rt runtimes.Runtime, src runtimes.Source, caBundle []byte) (*buildctx.Context, runtimes.BuildData, []runtimes.File, error) {
	data, err := rt.PrepareSource(src)
	if err != nil {
		return nil, data, nil, invalidSource(err)
	}
	files, err := rt.Render(data)
	if err != nil {
		return nil, data, nil, err
	}
	if caBundle != nil {
		files = append(files, runtimes.File{Path: runtimes.CABundlePath, Data: caBundle, Mode: 0o644})
	}
	bc := buildctx.New()
	if err := bc.AddFS(src.FS); err != nil {
		return nil, data, nil, invalidSource(err)
	}
	for _, f := range files {
		if err := bc.AddFile(f.Path, f.Data, f.Mode); err != nil {
			return nil, data, nil, invalidSource(err)
		}
	}
	bc.SetMeta("runtime", rt.Name)
	bc.SetMeta("runtime.version", rt.Version)
	bc.SetMeta("runtime.build_image", data.BuildImage)
	bc.SetMeta("runtime.run_image", data.RunImage)
	bc.SetMeta("runtime.handler", data.Handler)
	if src.Server != "" {
		// Another server's build of the same source gets another tag: each removes its own.
		bc.SetMeta("server", src.Server)
	}
	return bc, data, files, nil
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
	streamErr := readBuildStream(resp.Body, progress, builder.TraceFrom(ctx), b.now)
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
