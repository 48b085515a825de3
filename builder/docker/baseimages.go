package docker

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/build"

	"github.com/hearthfn/hearth/builder/buildctx"
	"github.com/hearthfn/hearth/runtimes"
)

// BaseImage is the outcome of making one base image.
type BaseImage struct {
	// Tag is the image's name, Runtime the runtime that declares it.
	Tag     string
	Runtime string
	// Built is true when it was built now, false when the engine had it.
	Built bool
	// Stale is true when the engine has it but from another version of its Dockerfile: it
	// is kept (images are never replaced behind an operator's back) and reported.
	Stale bool
	// Took is how long the build took (zero when it was not built).
	Took time.Duration
}

// EnsureRuntimeImages builds every runtime's base images (runtime.yaml's images), in catalog
// order and each runtime's own order, skipping those the engine has. Each is built with the
// classic builder from the folder of its Dockerfile in the runtime's embedded files, so a
// runtime's run image can be FROM hearth/debian:bookworm and its build image FROM its run image.
// progress, if not nil, receives a line per image and the builds' output. A failed image stops
// its own runtime (its later images may be built FROM it) but not the others: one runtime's
// missing package should not keep every other runtime from working. The error joins every
// runtime's failure; ctx cancels it all.
func (b *Builder) EnsureRuntimeImages(ctx context.Context, progress func(string)) ([]BaseImage, error) {
	var out []BaseImage
	var errs []error
	for _, rt := range b.catalog.List() {
		for _, img := range rt.Images {
			res, err := b.ensureRuntimeImage(ctx, rt, img, progress)
			if err != nil {
				errs = append(errs, fmt.Errorf("runtime %s: %w", rt.Name, err))
				break
			}
			out = append(out, res)
		}
		if ctx.Err() != nil {
			break
		}
	}
	return out, errors.Join(errs...)
}

func (b *Builder) ensureRuntimeImage(ctx context.Context, rt runtimes.Runtime, img runtimes.Image,
	progress func(string)) (BaseImage, error) {
	res := BaseImage{Tag: img.Tag, Runtime: rt.Name}
	bc, err := imageContext(rt, img)
	if err != nil {
		return res, err
	}
	hash := bc.Hash()
	labels, exists, err := b.imageLabels(ctx, img.Tag)
	if err != nil {
		return res, err
	}
	if exists {
		// Images made before the hash label (by hand, or by an older hearth) are not stale.
		res.Stale = labels[labelHash] != "" && labels[labelHash] != hash
		return res, nil
	}
	if progress != nil {
		progress(fmt.Sprintf("building %s (runtime %s, %s)", img.Tag, rt.Name, img.Dockerfile))
	}
	opts := build.ImageBuildOptions{
		Tags:        []string{img.Tag},
		Dockerfile:  path.Base(img.Dockerfile),
		Version:     build.BuilderV1,
		Remove:      true,
		ForceRemove: true,
		Labels:      map[string]string{labelOwner: ownerValue, labelRole: "base-image", labelRuntime: rt.Name, labelHash: hash},
	}
	start := time.Now()
	if err := b.runBuild(ctx, bc.WriteTar, opts, progress); err != nil {
		return res, fmt.Errorf("build %s: %w", img.Tag, err)
	}
	res.Built, res.Took = true, time.Since(start)
	return res, nil
}

// imageContext is the build context of one base image: the folder holding its Dockerfile.
func imageContext(rt runtimes.Runtime, img runtimes.Image) (*buildctx.Context, error) {
	dir, err := fs.Sub(rt.Template, path.Dir(img.Dockerfile))
	if err != nil {
		return nil, err
	}
	bc := buildctx.New()
	if err := bc.AddFS(dir); err != nil {
		return nil, fmt.Errorf("runtime %s, image %s: %w", rt.Name, img.Tag, err)
	}
	bc.SetMeta("image", img.Tag)
	bc.SetMeta("dockerfile", path.Base(img.Dockerfile))
	return bc, nil
}

// imageLabels returns ref's labels and whether the engine has it.
func (b *Builder) imageLabels(ctx context.Context, ref string) (map[string]string, bool, error) {
	info, err := b.api.ImageInspect(ctx, ref)
	switch {
	case err == nil:
		if info.Config == nil {
			return nil, true, nil
		}
		return info.Config.Labels, true, nil
	case cerrdefs.IsNotFound(err):
		return nil, false, nil
	}
	return nil, false, b.engineError(ctx, "inspect image "+ref, err)
}

// HasImage reports whether the engine has the image ref.
func (b *Builder) HasImage(ctx context.Context, ref string) (bool, error) {
	return b.imageExists(ctx, ref)
}
