package registry_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"sync"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/builder"
	"github.com/hearthfn/hearth/scheduler/registry"
)

// buildRequest is what the fake builder saw of one request: the source is read during the
// build, since the registry removes it afterwards.
type buildRequest struct {
	Function, Runtime string
	Files             map[string]string
	// WorkDirEntries is how many entries the registry's WorkDir held during the build.
	WorkDirEntries int
}

// fakeBuilder builds nothing: it hashes the source, as the real builder hashes its context, so
// that equal sources give equal images. It sends lines to Progress and fails with err when set.
type fakeBuilder struct {
	workDir string
	lines   []string
	cached  bool
	// image, when set, is the image of every build whatever the source.
	image string

	mu   sync.Mutex
	err  error
	reqs []buildRequest

	images fakeImages // what RemoveImages and FunctionsWithImages do (images_test.go)
}

var _ builder.Builder = (*fakeBuilder)(nil)

func (b *fakeBuilder) Build(_ context.Context, req builder.Request) (builder.Result, error) {
	files := map[string]string{}
	err := fs.WalkDir(req.Source, ".", func(p string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return err
		}
		data, err := fs.ReadFile(req.Source, p)
		files[p] = string(data)
		return err
	})
	if err != nil {
		return builder.Result{}, err
	}
	entries, _ := os.ReadDir(b.workDir)
	b.mu.Lock()
	b.reqs = append(b.reqs, buildRequest{Function: req.Function, Runtime: req.Runtime, Files: files, WorkDirEntries: len(entries)})
	failure := b.err
	b.mu.Unlock()

	for _, l := range b.lines {
		if req.Progress != nil {
			req.Progress(l)
		}
	}
	if failure != nil {
		return builder.Result{}, failure
	}
	h := sha256.New()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%s\x00", n, files[n])
	}
	sum := hex.EncodeToString(h.Sum(nil))
	image := "hearth/" + req.Function + ":" + sum[:12]
	if b.image != "" {
		image = b.image
	}
	return builder.Result{Image: image, Hash: sum, Cached: b.cached}, nil
}

// Status is the registry's business only through /v1/info, which it does not serve.
func (b *fakeBuilder) Status(context.Context) builder.Status {
	return builder.Status{Engine: "fake"}
}

func (b *fakeBuilder) setErr(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.err = err
}

func (b *fakeBuilder) requests() []buildRequest {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]buildRequest(nil), b.reqs...)
}

// fakePool records what the registry asks of it and reports the statuses the test sets.
type fakePool struct {
	mu       sync.Mutex
	applied  []api.Function
	removed  []string
	statuses map[string]api.PoolStatus
}

var _ registry.Pool = (*fakePool)(nil)

func (p *fakePool) Apply(fn api.Function) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.applied = append(p.applied, fn)
}

func (p *fakePool) Remove(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.removed = append(p.removed, name)
}

func (p *fakePool) Status(name string) (api.PoolStatus, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	st, ok := p.statuses[name]
	return st, ok
}

func (p *fakePool) Applied() []api.Function {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]api.Function(nil), p.applied...)
}

func (p *fakePool) Removed() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.removed...)
}
