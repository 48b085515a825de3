package docker

import (
	"context"
	"fmt"
	"slices"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"

	"github.com/hearthfn/hearth/builder"
)

// maxRemovePasses bounds RemoveImages' rounds: each removes the images no other listed image
// builds on, with their untagged parents, so a chain goes in one round and a few rounds clear
// what was built on top of what.
const maxRemovePasses = 5

// RemoveImages implements builder.Builder. It removes the images labelled with this builder's
// owner and function: the tagged function images and the build stages' images (which the
// runtimes' templates label too), with their untagged parents. It never forces: an image a
// container uses, even a stopped one, is left and reported as builder.ErrImageInUse. A Builder
// without an owner removes nothing.
func (b *Builder) RemoveImages(ctx context.Context, function string) (int, error) {
	if b.owner == "" {
		return 0, nil
	}
	filter := filters.NewArgs(filters.Arg("label", labelServer+"="+b.owner),
		filters.Arg("label", labelFunction+"="+function))
	removed := 0
	var inUse []string
	for range maxRemovePasses {
		imgs, err := b.api.ImageList(ctx, image.ListOptions{All: true, Filters: filter})
		if err != nil {
			return removed, b.engineError(ctx, "list the images of "+function, err)
		}
		if len(imgs) == 0 {
			return removed, nil
		}
		inUse = inUse[:0]
		before := removed
		for _, img := range leaves(imgs) {
			n, err := b.removeImage(ctx, img)
			removed += n
			switch {
			case err == nil, cerrdefs.IsNotFound(err): // gone with another's parents
			case cerrdefs.IsConflict(err):
				inUse = append(inUse, err.Error())
			default:
				return removed, b.engineError(ctx, "remove an image of "+function, err)
			}
		}
		if removed == before {
			break
		}
	}
	if len(inUse) == 0 {
		inUse = append(inUse, "images still left after several rounds")
	}
	return removed, fmt.Errorf("remove the images of %s: %w: %s", function, builder.ErrImageInUse, strings.Join(inUse, "; "))
}

// removeImage removes img by its tags, or by id when it has none, and its untagged parents. It
// returns how many images were deleted.
func (b *Builder) removeImage(ctx context.Context, img image.Summary) (int, error) {
	refs := slices.DeleteFunc(slices.Clone(img.RepoTags), func(t string) bool { return t == "<none>:<none>" })
	if len(refs) == 0 {
		refs = []string{img.ID}
	}
	deleted := 0
	for _, ref := range refs {
		resp, err := b.api.ImageRemove(ctx, ref, image.RemoveOptions{PruneChildren: true})
		for _, r := range resp {
			if r.Deleted != "" {
				deleted++
			}
		}
		if err != nil {
			return deleted, err
		}
	}
	return deleted, nil
}

// leaves returns the images of imgs that no other image of imgs has as its parent.
func leaves(imgs []image.Summary) []image.Summary {
	parents := make(map[string]bool, len(imgs))
	for _, img := range imgs {
		parents[img.ParentID] = true
	}
	var out []image.Summary
	for _, img := range imgs {
		if !parents[img.ID] {
			out = append(out, img)
		}
	}
	return out
}

// FunctionsWithImages implements builder.Builder: the functions named by the images labelled
// with this builder's owner, build stages included. A Builder without an owner has none.
func (b *Builder) FunctionsWithImages(ctx context.Context) ([]string, error) {
	if b.owner == "" {
		return nil, nil
	}
	imgs, err := b.api.ImageList(ctx, image.ListOptions{All: true,
		Filters: filters.NewArgs(filters.Arg("label", labelServer+"="+b.owner))})
	if err != nil {
		return nil, b.engineError(ctx, "list this server's images", err)
	}
	var names []string
	for _, img := range imgs {
		if name := img.Labels[labelFunction]; name != "" {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}
