//go:build integration

package docker

import (
	"context"
	"errors"
	"os"
	"slices"
	"testing"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"

	"github.com/hearthfn/hearth/builder"
	"github.com/hearthfn/hearth/runtimes"
)

// ownerBuilder is an integration Builder that builds for the server owner.
func ownerBuilder(t *testing.T, owner string) *Builder {
	t.Helper()
	b, err := New(Config{Host: dockerHost(), Owner: owner})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// TestIntegrationOwnersKeepTheirImages: two servers on one engine build the same source; each
// gets an image of its own, and one's RemoveImages leaves the other's, which a container of its
// own keeps until the container is gone.
func TestIntegrationOwnersKeepTheirImages(t *testing.T) {
	ensureGoImage(t, newIntegrationBuilder(t))
	name := uniqueName(t, "it-owners")
	cleanupFunctionImages(t, name)
	serverA, serverB := uniqueName(t, "server-a"), uniqueName(t, "server-b")
	a, b := ownerBuilder(t, serverA), ownerBuilder(t, serverB)
	dir := t.TempDir()
	rt, err := runtimes.New().Lookup("go")
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.WriteScaffold(dir, name); err != nil {
		t.Fatal(err)
	}
	req := builder.Request{Function: name, Runtime: "go", Source: os.DirFS(dir)}
	imgA := timedBuild(t, a, "server A's build", req)
	imgB := timedBuild(t, b, "server B's build of the same source", req)
	if imgA.Image == imgB.Image || imgB.Cached {
		t.Fatalf("server B's build = %+v, server A's %+v: want an image of its own", imgB, imgA)
	}
	for _, owner := range []string{serverA, serverB} {
		// The function image and its build stage carry the server's label.
		if n := len(ownedImages(t, a, owner, name)); n < 2 {
			t.Fatalf("%d images labelled with %s, want the image and its build stage", n, owner)
		}
	}
	if names, err := a.FunctionsWithImages(t.Context()); err != nil || !slices.Equal(names, []string{name}) {
		t.Fatalf("server A's FunctionsWithImages = %v, %v", names, err)
	}

	url := runContainer(t, imgA.Image)
	n, err := a.RemoveImages(t.Context(), name)
	if !errors.Is(err, builder.ErrImageInUse) {
		t.Fatalf("RemoveImages while a container uses the image = %d, %v; want ErrImageInUse", n, err)
	}
	t.Logf("in use: removed %d, %v", n, err)
	if left := ownedImages(t, a, serverA, name); !slices.ContainsFunc(left, func(s image.Summary) bool {
		return slices.Contains(s.RepoTags, imgA.Image)
	}) {
		t.Fatalf("the image a container uses is gone: left %v", left)
	}

	docker(t, "rm", "-f", containerOf(t, url))
	n, err = a.RemoveImages(t.Context(), name)
	if err != nil || n == 0 {
		t.Fatalf("RemoveImages once the container is gone = %d, %v", n, err)
	}
	if left := ownedImages(t, a, serverA, name); len(left) != 0 {
		t.Fatalf("server A's images left after RemoveImages: %v", left)
	}
	if names, err := a.FunctionsWithImages(t.Context()); err != nil || len(names) != 0 {
		t.Fatalf("server A's FunctionsWithImages after the removal = %v, %v", names, err)
	}
	if _, err := b.api.ImageInspect(t.Context(), imgB.Image); err != nil {
		t.Fatalf("server B's image went with server A's: %v", err)
	}
	again := timedBuild(t, b, "server B's unchanged rebuild", req)
	if !again.Cached {
		t.Fatalf("server B's rebuild = %+v, want its image kept", again)
	}
	if n, err := b.RemoveImages(t.Context(), name); err != nil || n == 0 {
		t.Fatalf("server B's RemoveImages = %d, %v", n, err)
	}
}

// ownedImages lists every image, intermediate ones included, labelled with owner and function.
func ownedImages(t *testing.T, b *Builder, owner, function string) []image.Summary {
	t.Helper()
	imgs, err := b.api.ImageList(context.Background(), image.ListOptions{All: true, Filters: filters.NewArgs(
		filters.Arg("label", labelServer+"="+owner), filters.Arg("label", labelFunction+"="+function))})
	if err != nil {
		t.Fatal(err)
	}
	return imgs
}

func TestIntegrationRemoveImagesWithoutAny(t *testing.T) {
	b := ownerBuilder(t, uniqueName(t, "server"))
	if n, err := b.RemoveImages(t.Context(), uniqueName(t, "it-none")); n != 0 || err != nil {
		t.Fatalf("RemoveImages of a function without images = %d, %v", n, err)
	}
	if names, err := b.FunctionsWithImages(t.Context()); err != nil || len(names) != 0 {
		t.Fatalf("FunctionsWithImages of a new server = %v, %v", names, err)
	}
}
