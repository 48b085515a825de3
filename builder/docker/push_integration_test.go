//go:build integration

package docker

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/hearthfn/hearth/builder"
	"github.com/hearthfn/hearth/internal/testimage"
	"github.com/hearthfn/hearth/internal/testregistry"
)

// TestIntegrationPushToRegistry builds a function with a registry that wants credentials:
// the image is built under the registry's name and pushed with condensed progress; with the
// local copy gone it can be pulled back (with the credentials only); a push to a registry
// that is down fails the deploy; and a cached redeploy after the registry lost everything
// pushes the image again.
func TestIntegrationPushToRegistry(t *testing.T) {
	start := time.Now()
	reg := testregistry.Start(t, testregistry.Options{Auth: true})
	t.Logf("registry at %s up in %v", reg.Addr, time.Since(start).Round(time.Millisecond))
	name := uniqueName(t, "it-push")
	cleanupFunctionImages(t, name)
	b, err := New(Config{Host: dockerHost(), Owner: uniqueName(t, "server"),
		Registry: Registry{Address: reg.Addr + "/it", Username: reg.Username, Password: reg.Password}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	if st := b.Status(t.Context()); st.Problem != "" {
		t.Fatalf("Docker Engine at %s is required (scripts/docker.sh starts it): %s", dockerHost(), st.Problem)
	}

	dir := t.TempDir()
	if err := testimage.BuildServer(filepath.Join(dir, "echo")); err != nil {
		t.Fatal(err)
	}
	writeSource(t, dir, map[string]string{
		"Dockerfile": "FROM scratch\nCOPY echo /echo\nENTRYPOINT [\"/echo\"]\n",
		"func.yaml":  "name: " + name + "\nruntime: docker\n",
	})
	var lines []string
	req := builder.Request{Function: name, Runtime: "docker", Source: os.DirFS(dir),
		Progress: func(l string) { lines = append(lines, l) }}
	build := func(what string) (builder.Result, error) {
		lines = nil
		start := time.Now()
		res, err := b.Build(t.Context(), req)
		t.Logf("%s: cached=%v err=%v in %v:\n  %s", what, res.Cached, err, time.Since(start).Round(time.Millisecond), strings.Join(lines, "\n  "))
		return res, err
	}

	res, err := build("first build")
	if err != nil {
		t.Fatal(err)
	}
	repo := "it/hearth/" + name
	if res.Image != reg.Addr+"/"+repo+":"+res.Hash[:16] || res.Cached {
		t.Fatalf("image %s (cached %v): want %s/%s:<hash>, built", res.Image, res.Cached, reg.Addr, repo)
	}
	checkPushLines(t, lines, res.Image, 1)
	if !reg.HasTag(t, repo, res.Hash[:16]) {
		t.Fatalf("the registry has no %s after the push", res.Image)
	}

	// The local copy goes; the registry gives it back, to those with the credentials.
	if n, err := b.RemoveImages(t.Context(), name); err != nil || n == 0 {
		t.Fatalf("RemoveImages = %d, %v", n, err)
	}
	if exists, err := b.imageExists(t.Context(), res.Image); err != nil || exists {
		t.Fatalf("the local image is still there (%v)", err)
	}
	if err := pull(t, res.Image, ""); err == nil || !strings.Contains(err.Error(), "no basic auth credentials") {
		t.Fatalf("a pull without credentials = %v, want it refused", err)
	}
	if err := pull(t, res.Image, b.auth); err != nil {
		t.Fatalf("pull %s with the credentials: %v", res.Image, err)
	}

	// A registry that is down fails the deploy, cached image or not, and says where to look.
	reg.Stop(t)
	if _, err := build("redeploy, registry down"); !errors.Is(err, builder.ErrPushFailed) ||
		!strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), reg.Addr) {
		t.Fatalf("Build with the registry down = %v, want ErrPushFailed naming %s", err, reg.Addr)
	}

	// The registry starts again with nothing: the cached redeploy pushes the image anew.
	reg.Wipe(t)
	if reg.HasTag(t, repo, res.Hash[:16]) {
		t.Fatal("the wiped registry still has the image")
	}
	again, err := build("cached redeploy to a wiped registry")
	if err != nil {
		t.Fatal(err)
	}
	if !again.Cached || again.Image != res.Image {
		t.Fatalf("redeploy = %+v, want the cached %s", again, res.Image)
	}
	checkPushLines(t, lines, res.Image, 1)
	if !reg.HasTag(t, repo, res.Hash[:16]) {
		t.Fatal("the cached redeploy did not push the image again")
	}

	// And once more: everything is there, nothing is sent.
	if _, err := build("cached redeploy"); err != nil {
		t.Fatal(err)
	}
	if last := lines[len(lines)-1]; len(lines) != 2 || !strings.Contains(last, "1 layer already in the registry") {
		t.Errorf("push lines of an unchanged image %q: want the start and a summary saying nothing was sent", lines)
	}
}

// checkPushLines checks that lines end with a push of ref that sent `sent` layers: its start,
// a line per layer and the summary.
func checkPushLines(t *testing.T, lines []string, ref string, sent int) {
	t.Helper()
	i := len(lines) - 1
	for i >= 0 && lines[i] != "pushing "+ref {
		i--
	}
	if i < 0 {
		t.Fatalf("no line says %q in %q", "pushing "+ref, lines)
	}
	push := lines[i+1:]
	if len(push) != sent+1 {
		t.Fatalf("push lines %q: want one per layer sent (%d) and a summary", push, sent)
	}
	for _, l := range push[:sent] {
		if !strings.HasPrefix(l, "layer ") || !strings.Contains(l, " pushed (") {
			t.Errorf("push line %q: want a layer pushed", l)
		}
	}
	if sum := push[sent]; !strings.HasPrefix(sum, "pushed "+ref+" in ") || !strings.Contains(sum, "digest sha256:") {
		t.Errorf("summary %q", sum)
	}
}

// pull pulls ref with the docker client and the given X-Registry-Auth ("" for none).
func pull(t *testing.T, ref, auth string) error {
	t.Helper()
	cli, err := client.NewClientWithOpts(client.WithHost(dockerHost()), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	rc, err := cli.ImagePull(ctx, ref, image.PullOptions{RegistryAuth: auth})
	if err != nil {
		return err
	}
	defer rc.Close()
	// A pull reports its failure in its output, after a 200, as a push does.
	tr := &pushTracker{say: func(string) {}, now: time.Now, every: time.Hour, layers: map[string]*pushLayer{}}
	if failure, err := tr.read(rc); err != nil {
		return err
	} else if failure != "" {
		return errors.New(failure)
	}
	_, err = cli.ImageInspect(ctx, ref)
	return err
}
