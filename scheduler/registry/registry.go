// Package registry is the function registry: it deploys new versions (unpack the upload, read
// func.yaml, build the image, record the version, roll it out to the pool), answers what is
// deployed, and deletes (the function's images go in the background once its instances have
// drained: images.go). It holds the rules; the store keeps the data and the pool runs the
// instances.
//
// Where to read next: scheduler/httpapi (the REST handlers that call it), builder (how images are
// made), scheduler/pool (Apply and Remove).
package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/builder"
	"github.com/hearthfn/hearth/builder/buildctx"
	"github.com/hearthfn/hearth/runtimes/funcfile"
	"github.com/hearthfn/hearth/scheduler/store"
)

// FuncFile is the name of the function description at the root of an upload.
const FuncFile = "func.yaml"

// Pool is the slice of the pool the registry drives.
type Pool interface {
	Apply(fn api.Function)
	Remove(name string)
	Status(name string) (api.PoolStatus, bool)
}

// Config configures the registry.
type Config struct {
	// BaseURL is the server's public URL; a function's URL is BaseURL/invoke/<name>.
	BaseURL string
	// MaxSourceBytes bounds an unpacked upload (the server's --max-upload); zero takes 64 MiB.
	MaxSourceBytes int64
	// MaxSourceEntries bounds the files, folders and links of an upload; zero takes
	// buildctx.DefaultMaxEntries.
	MaxSourceEntries int
	// WorkDir holds unpacked uploads while they build; each build gets its own temp dir in it.
	WorkDir string
	// ImageRemovalWindow bounds how long a deleted function's images are tried again while its
	// instances drain (an image a container uses cannot go); zero takes
	// DefaultImageRemovalWindow.
	ImageRemovalWindow time.Duration
	// ImageRemovalRetry is the first wait before trying again; it doubles up to 30 s. Zero
	// takes 2 s.
	ImageRemovalRetry time.Duration
}

// Registry deploys and describes functions.
type Registry struct {
	cfg     Config
	store   Store
	builder builder.Builder
	pool    Pool
	log     *slog.Logger

	mu    sync.Mutex
	locks map[string]*nameLock // per-function deploy/delete locks, while held or awaited; guarded by mu

	removals removals // deleted functions' images being removed in the background

	routes routes // aliases.go
}

// nameLock is one function's lock. refs counts its holder and waiters, so that the entry can go
// when the last of them leaves: a server that sees many names keeps no lock for each.
type nameLock struct {
	mu   sync.Mutex
	refs int // guarded by Registry.mu
}

// New returns a registry.
func New(cfg Config, st Store, b builder.Builder, p Pool, log *slog.Logger) *Registry {
	if cfg.MaxSourceBytes <= 0 {
		cfg.MaxSourceBytes = 64 << 20
	}
	if cfg.MaxSourceEntries <= 0 {
		cfg.MaxSourceEntries = buildctx.DefaultMaxEntries
	}
	if cfg.ImageRemovalWindow <= 0 {
		cfg.ImageRemovalWindow = DefaultImageRemovalWindow
	}
	if cfg.ImageRemovalRetry <= 0 {
		cfg.ImageRemovalRetry = 2 * time.Second
	}
	r := &Registry{cfg: cfg, store: st, builder: b, pool: p, log: log, locks: map[string]*nameLock{}}
	r.routes.fns = map[string]*fnRoutes{}
	r.removals.init()
	return r
}

// Restore hands every stored function to the pool, with the extra entries of the versions its
// aliases route to (aliases.go); the server calls it once at start, before the pool adopts the
// instances a previous run left.
func (r *Registry) Restore(ctx context.Context) error {
	// In pages: the functions need not all be in memory at once.
	page := store.FunctionPage{Limit: restorePage}
	for {
		fns, err := r.store.ListFunctions(ctx, page)
		if err != nil {
			return fmt.Errorf("load functions: %w", err)
		}
		for _, fn := range fns {
			r.pool.Apply(fn)
			if err := r.route(ctx, fn); err != nil {
				return err
			}
		}
		if len(fns) < page.Limit {
			return nil
		}
		page.After = fns[len(fns)-1].Name
	}
}

// restorePage is how many functions Restore reads at a time.
const restorePage = 500

// Deploy builds the source archive src (a gzip tar with func.yaml at its root) into a new
// version of the function name and rolls it out. Build log lines go to progress as they come.
// It returns the function and whether the image was reused without building. Errors:
// funcfile.ErrInvalid (with a *funcfile.FieldError) for a bad func.yaml or a name that does not
// match, buildctx's errors for a bad or oversized archive, and builder's errors. When the build
// fails the previous version keeps serving.
func (r *Registry) Deploy(ctx context.Context, name string, src io.Reader, progress func(string)) (api.Function, bool, error) {
	if err := funcfile.ValidateName(name); err != nil {
		return api.Function{}, false, err
	}
	unlock := r.lock(name)
	defer unlock()
	// A function deployed again under a deleted one's name must keep its new images: the old
	// ones' removal stops here (what it left goes with the next delete).
	r.removals.stop(name)

	if err := os.MkdirAll(r.cfg.WorkDir, 0o755); err != nil {
		return api.Function{}, false, err
	}
	dir, err := os.MkdirTemp(r.cfg.WorkDir, "deploy-"+name+"-")
	if err != nil {
		return api.Function{}, false, err
	}
	defer os.RemoveAll(dir)
	lim := buildctx.Limits{MaxBytes: r.cfg.MaxSourceBytes, MaxEntries: r.cfg.MaxSourceEntries}
	if err := buildctx.Extract(src, dir, lim); errors.Is(err, buildctx.ErrTooLarge) {
		return api.Function{}, false, fmt.Errorf("%w: list what the function does not need at run time in %s",
			err, buildctx.IgnoreFile)
	} else if err != nil {
		return api.Function{}, false, err
	}
	raw, err := os.ReadFile(filepath.Join(dir, FuncFile))
	if errors.Is(err, os.ErrNotExist) {
		return api.Function{}, false, &funcfile.FieldError{Field: FuncFile, Reason: "the upload has no func.yaml at its root: run hearth deploy in the function's directory"}
	} else if err != nil {
		return api.Function{}, false, err
	}
	spec, err := funcfile.Parse(raw)
	if err != nil {
		return api.Function{}, false, err
	}
	if spec.Name != name {
		return api.Function{}, false, &funcfile.FieldError{Field: "name",
			Reason: fmt.Sprintf("func.yaml names the function %q but it is being deployed as %q", spec.Name, name)}
	}

	res, err := r.builder.Build(ctx, builder.Request{Function: name, Runtime: spec.Runtime, Handler: spec.Handler,
		Source: os.DirFS(dir), Progress: progress})
	if err != nil {
		return api.Function{}, false, err
	}
	// Deploying exactly what already serves changes nothing: no new version, and the warm
	// instances keep serving instead of being drained for an identical replacement.
	if cur, err := r.store.GetFunction(ctx, name); err == nil && cur.Version.Image == res.Image && reflect.DeepEqual(cur.Version.Spec, spec) {
		r.log.Info("deployed unchanged; current version kept", "function", name, "version", cur.Version.Number)
		return r.decorate(cur), true, nil
	}
	fn, err := r.store.AddVersion(ctx, name, api.Version{Image: res.Image, SourceHash: res.Hash, Spec: spec, CreatedAt: time.Now()})
	if err != nil {
		return api.Function{}, false, fmt.Errorf("record new version of %s: %w", name, err)
	}
	r.pool.Apply(fn)
	r.reroute(ctx, fn)
	r.log.Info("deployed", "function", name, "version", fn.Version.Number, "image", res.Image, "cached", res.Cached)
	return r.decorate(fn), res.Cached, nil
}

// Get returns a function with its pool. Errors: store.ErrNotFound.
func (r *Registry) Get(ctx context.Context, name string) (api.Function, error) {
	fn, err := r.store.GetFunction(ctx, name)
	if err != nil {
		return api.Function{}, err
	}
	fn = r.decorate(fn)
	if st, ok := r.pool.Status(name); ok {
		r.extraStatus(name, &st)
		fn.Pool = &st
	}
	if fn.Aliases, err = r.store.ListAliases(ctx, name); err != nil {
		return api.Function{}, err
	}
	return fn, nil
}

// List returns the functions page selects, sorted by name.
func (r *Registry) List(ctx context.Context, page store.FunctionPage) ([]api.Function, error) {
	fns, err := r.store.ListFunctions(ctx, page)
	if err != nil {
		return nil, err
	}
	for i := range fns {
		fns[i] = r.decorate(fns[i])
	}
	return fns, nil
}

// Delete removes a function: its instances stop after their calls in flight, its versions are
// forgotten, and the images this server built for it are removed in the background, tried
// again while its instances drain (see Run). Errors: store.ErrNotFound.
func (r *Registry) Delete(ctx context.Context, name string) error {
	unlock := r.lock(name)
	defer unlock()
	if err := r.store.DeleteFunction(ctx, name); err != nil {
		return err
	}
	r.pool.Remove(name)
	r.unroute(name)
	r.removals.start(name, r.removeImages)
	r.log.Info("deleted", "function", name)
	return nil
}

func (r *Registry) decorate(fn api.Function) api.Function {
	fn.URL = r.cfg.BaseURL + "/invoke/" + fn.Name
	fn.Version.Spec = fn.Version.Spec.WithDefaults()
	return fn
}

// lock serialises deploys and deletes of one function; different functions proceed in parallel.
// The lock's entry lives while someone holds or waits for it.
func (r *Registry) lock(name string) (unlock func()) {
	r.mu.Lock()
	l := r.locks[name]
	if l == nil {
		l = &nameLock{}
		r.locks[name] = l
	}
	l.refs++
	r.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		r.mu.Lock()
		defer r.mu.Unlock()
		if l.refs--; l.refs == 0 {
			delete(r.locks, name)
		}
	}
}
