package docker

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/image"

	"github.com/hearthfn/hearth/builder"
)

// ImageList reports the listed images that carry every "label" filter.
func (f *fakeEngine) ImageList(_ context.Context, opts image.ListOptions) ([]image.Summary, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []image.Summary
	for _, img := range f.listed {
		ok := true
		for _, kv := range opts.Filters.Get("label") {
			k, v, _ := strings.Cut(kv, "=")
			if img.Labels[k] != v {
				ok = false
			}
		}
		if ok {
			out = append(out, img)
		}
	}
	return out, nil
}

// ImageRemove removes the listed image with tag or id ref, and its untagged parents that have
// no other child, as the engine prunes them.
func (f *fakeEngine) ImageRemove(_ context.Context, ref string, _ image.RemoveOptions) ([]image.DeleteResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.removed = append(f.removed, ref)
	if err := f.removeErr[ref]; err != nil {
		return nil, err
	}
	i := slices.IndexFunc(f.listed, func(img image.Summary) bool { return img.ID == ref || slices.Contains(img.RepoTags, ref) })
	if i < 0 {
		return nil, fmt.Errorf("no such image %s: %w", ref, cerrdefs.ErrNotFound)
	}
	var resp []image.DeleteResponse
	for i >= 0 {
		gone := f.listed[i]
		f.listed = slices.Delete(f.listed, i, i+1)
		resp = append(resp, image.DeleteResponse{Deleted: gone.ID})
		i = slices.IndexFunc(f.listed, func(img image.Summary) bool {
			return img.ID == gone.ParentID && len(img.RepoTags) == 0 &&
				!slices.ContainsFunc(f.listed, func(c image.Summary) bool { return c.ParentID == img.ID })
		})
	}
	return resp, nil
}

// imagesOf lays out what a build of function by server leaves: the tagged function image on an
// untagged parent, and a build stage of two labelled images on the runtime's build image.
func imagesOf(server, function, hash string) []image.Summary {
	labels := map[string]string{labelServer: server, labelFunction: function}
	p := server + "-" + function + "-" + hash
	return []image.Summary{
		{ID: p + "-final", ParentID: p + "-copy", RepoTags: []string{"hearth/" + function + ":" + hash}, Labels: labels},
		{ID: p + "-copy"},
		{ID: p + "-stage-label", ParentID: "go-build", Labels: labels},
		{ID: p + "-stage-run", ParentID: p + "-stage-label", Labels: labels},
	}
}

func ownedBuilder(f *fakeEngine, owner string) *Builder {
	b := fakeBuilder(f)
	b.owner = owner
	return b
}

func TestRemoveImagesTakesOnlyItsOwn(t *testing.T) {
	f := newFakeEngine()
	f.listed = append(f.listed, image.Summary{ID: "go-build", RepoTags: []string{goBuildImage}})
	f.listed = append(f.listed, imagesOf("a", "hello", "1111")...)
	f.listed = append(f.listed, imagesOf("a", "hello", "2222")...)
	f.listed = append(f.listed, imagesOf("b", "hello", "1111")...)
	f.listed = append(f.listed, imagesOf("a", "other", "1111")...)

	n, err := ownedBuilder(f, "a").RemoveImages(t.Context(), "hello")
	if err != nil || n != 8 {
		t.Fatalf("RemoveImages = %d, %v; want the 8 images of two builds", n, err)
	}
	var left []string
	for _, img := range f.listed {
		left = append(left, img.ID)
	}
	want := []string{"go-build", "b-hello-1111-final", "b-hello-1111-copy", "b-hello-1111-stage-label",
		"b-hello-1111-stage-run", "a-other-1111-final", "a-other-1111-copy", "a-other-1111-stage-label", "a-other-1111-stage-run"}
	if !reflect.DeepEqual(left, want) {
		t.Fatalf("left %v, want %v", left, want)
	}
	if n, err := ownedBuilder(f, "a").RemoveImages(t.Context(), "hello"); n != 0 || err != nil {
		t.Fatalf("second RemoveImages = %d, %v; want nothing to do", n, err)
	}
}

func TestRemoveImagesInUse(t *testing.T) {
	f := newFakeEngine()
	f.listed = imagesOf("a", "hello", "1111")
	f.removeErr = map[string]error{"hearth/hello:1111": fmt.Errorf("container abc is using its referenced image: %w", cerrdefs.ErrConflict)}
	n, err := ownedBuilder(f, "a").RemoveImages(t.Context(), "hello")
	if !errors.Is(err, builder.ErrImageInUse) || !strings.Contains(err.Error(), "container abc") || n != 2 {
		t.Fatalf("RemoveImages with the image in use = %d, %v; want the build stage's 2 gone and ErrImageInUse", n, err)
	}
	delete(f.removeErr, "hearth/hello:1111")
	if n, err := ownedBuilder(f, "a").RemoveImages(t.Context(), "hello"); n != 2 || err != nil {
		t.Fatalf("RemoveImages once the container is gone = %d, %v", n, err)
	}
}

func TestRemoveImagesEngineErrors(t *testing.T) {
	f := newFakeEngine()
	f.listed = imagesOf("a", "hello", "1111")
	f.removeErr = map[string]error{"hearth/hello:1111": errors.New("disk on fire")}
	if _, err := ownedBuilder(f, "a").RemoveImages(t.Context(), "hello"); err == nil || errors.Is(err, builder.ErrImageInUse) {
		t.Fatalf("RemoveImages with a failing engine = %v, want its error", err)
	}
}

func TestNoOwnerRemovesNothing(t *testing.T) {
	f := newFakeEngine()
	f.listed = imagesOf("a", "hello", "1111")
	b := fakeBuilder(f)
	if n, err := b.RemoveImages(t.Context(), "hello"); n != 0 || err != nil || len(f.removed) != 0 {
		t.Fatalf("RemoveImages without an owner = %d, %v, removed %v", n, err, f.removed)
	}
	if names, err := b.FunctionsWithImages(t.Context()); names != nil || err != nil {
		t.Fatalf("FunctionsWithImages without an owner = %v, %v", names, err)
	}
}

func TestFunctionsWithImages(t *testing.T) {
	f := newFakeEngine()
	f.listed = slices.Concat(imagesOf("a", "zed", "1"), imagesOf("a", "hello", "1"), imagesOf("a", "hello", "2"),
		imagesOf("b", "other", "1"))
	names, err := ownedBuilder(f, "a").FunctionsWithImages(t.Context())
	if err != nil || !reflect.DeepEqual(names, []string{"hello", "zed"}) {
		t.Fatalf("FunctionsWithImages = %v, %v", names, err)
	}
}

func TestOwnerLabelsAndHashes(t *testing.T) {
	f := newFakeEngine(goBuildImage, goRunImage)
	req := builder.Request{Function: "hello", Runtime: "go", Source: helloSource()}
	a, err := ownedBuilder(f, "server-a").Build(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ownedBuilder(f, "server-b").Build(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if a.Image == b.Image || b.Cached {
		t.Fatalf("two servers' builds of one source: %+v and %+v; want two images", a, b)
	}
	if got := f.builds[0].Labels[labelServer]; got != "server-a" {
		t.Fatalf("hearth.server label %q", got)
	}
	if df := tarFiles(t, f.contexts[0])[".hearth/Dockerfile"]; !strings.Contains(df, "hearth.function=hello hearth.server=server-a\n") {
		t.Fatalf("the build stage is not labelled with the server:\n%s", df)
	}
	none, err := fakeBuilder(f).Build(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := f.builds[2].Labels[labelServer]; ok || strings.Contains(tarFiles(t, f.contexts[2])[".hearth/Dockerfile"], "hearth.server") {
		t.Fatalf("a builder without an owner labelled %s with a server", none.Image)
	}
}
