package registry_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/builder"
	"github.com/hearthfn/hearth/scheduler/registry"
	"github.com/hearthfn/hearth/scheduler/store/sqlstore"
)

// fakeImages is the image side of fakeBuilder. The zero value has no images and removes
// nothing.
type fakeImages struct {
	mu        sync.Mutex
	functions []string    // what FunctionsWithImages answers
	inUse     int         // RemoveImages fails with ErrImageInUse this many times, then succeeds
	hold      bool        // RemoveImages waits for its ctx to end, then fails with it
	calls     chan string // when set, hears each RemoveImages call's function
	ended     []error     // the errors RemoveImages returned
	// buildsAtEnd is how many builds had been asked for when each held call ended.
	buildsAtEnd []int
}

func (b *fakeBuilder) RemoveImages(ctx context.Context, function string) (int, error) {
	fi := &b.images
	if fi.calls != nil {
		fi.calls <- function
	}
	fi.mu.Lock()
	hold := fi.hold
	fi.mu.Unlock()
	var err error
	n := 0
	if hold {
		<-ctx.Done()
		err = ctx.Err()
	}
	fi.mu.Lock()
	defer fi.mu.Unlock()
	switch {
	case err != nil:
		fi.buildsAtEnd = append(fi.buildsAtEnd, len(b.requests()))
	case fi.inUse > 0:
		fi.inUse--
		n, err = 1, fmt.Errorf("remove the images of %s: %w: container x uses it", function, builder.ErrImageInUse)
	default:
		n = 2
	}
	fi.ended = append(fi.ended, err)
	return n, err
}

func (b *fakeBuilder) FunctionsWithImages(context.Context) ([]string, error) {
	b.images.mu.Lock()
	defer b.images.mu.Unlock()
	return slices.Clone(b.images.functions), nil
}

func (fi *fakeImages) results() []error {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	return slices.Clone(fi.ended)
}

func TestDeleteRemovesTheImages(t *testing.T) {
	e := newEnv(t, 0)
	if _, _, _, err := e.deploy(t, "hello", source(helloYAML, "package main\n")); err != nil {
		t.Fatal(err)
	}
	e.builder.images.calls = make(chan string, 10)
	e.builder.images.inUse = 2 // an instance drains: two tries fail
	if err := e.reg.Delete(t.Context(), "hello"); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if got := <-e.builder.images.calls; got != "hello" {
			t.Fatalf("call %d removed the images of %q", i, got)
		}
		// The pool was told first: its instances drain, and then their images can go.
		if removed := e.pool.Removed(); !reflect.DeepEqual(removed, []string{"hello"}) {
			t.Fatalf("images removed before the pool removed the function (pool removals: %v)", removed)
		}
	}
	waitFor(t, "the third try to end", func() bool { return len(e.builder.images.results()) == 3 })
	got := e.builder.images.results()
	if !errors.Is(got[0], builder.ErrImageInUse) || !errors.Is(got[1], builder.ErrImageInUse) || got[2] != nil {
		t.Fatalf("tries = %v, want two in use and then done", got)
	}
}

func TestImageRemovalGivesUp(t *testing.T) {
	logs := &capture{done: make(chan string, 10)}
	e := newEnvWith(t, registry.Config{ImageRemovalWindow: 20 * time.Millisecond, ImageRemovalRetry: time.Millisecond},
		slog.New(logs))
	e.builder.images.inUse = 1 << 30
	if _, _, _, err := e.deploy(t, "hello", source(helloYAML, "package main\n")); err != nil {
		t.Fatal(err)
	}
	if err := e.reg.Delete(t.Context(), "hello"); err != nil {
		t.Fatal(err)
	}
	if msg := <-logs.done; !strings.Contains(msg, "instances still use them after the removal window") {
		t.Fatalf("the removal ended with %q", msg)
	}
}

func TestRedeployStopsTheRemoval(t *testing.T) {
	e := newEnv(t, 0)
	if _, _, _, err := e.deploy(t, "hello", source(helloYAML, "package main\n")); err != nil {
		t.Fatal(err)
	}
	e.builder.images.calls = make(chan string, 10)
	e.builder.images.hold = true
	if err := e.reg.Delete(t.Context(), "hello"); err != nil {
		t.Fatal(err)
	}
	<-e.builder.images.calls // the removal is under way
	if _, _, _, err := e.deploy(t, "hello", source(helloYAML, "package main // again\n")); err != nil {
		t.Fatal(err)
	}
	// The removal ended before the new build began, so it cannot take the new image.
	e.builder.images.mu.Lock()
	defer e.builder.images.mu.Unlock()
	if !reflect.DeepEqual(e.builder.images.buildsAtEnd, []int{1}) || !errors.Is(e.builder.images.ended[0], context.Canceled) {
		t.Fatalf("removal ended %v with %d builds asked, want before the second build", e.builder.images.ended,
			e.builder.images.buildsAtEnd)
	}
}

func TestRunRemovesImagesOfFunctionsDeletedEarlier(t *testing.T) {
	st, err := sqlstore.Open(t.Context(), filepath.Join(t.TempDir(), "hearth.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	e := newEnvOn(t, st, 0)
	if _, _, _, err := e.deploy(t, "hello", source(helloYAML, "package main\n")); err != nil {
		t.Fatal(err)
	}

	// The next start's builder has images of hello and of a function the store forgot.
	next := newEnvOn(t, st, 0)
	next.builder.images.functions = []string{"gone", "hello"}
	next.builder.images.calls = make(chan string, 10)
	ctx, stop := context.WithCancel(t.Context())
	ran := make(chan error, 1)
	go func() { ran <- next.reg.Run(ctx) }()
	if got := <-next.builder.images.calls; got != "gone" {
		t.Fatalf("Run removed the images of %q, want only those of gone", got)
	}
	waitFor(t, "the removal to end", func() bool { return len(next.builder.images.results()) == 1 })
	stop()
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	if n := len(next.builder.images.calls); n != 0 {
		t.Fatalf("%d more removals; want none for hello, which exists", n)
	}
}

func TestRunEndsRemovalsInProgress(t *testing.T) {
	e := newEnv(t, 0)
	if _, _, _, err := e.deploy(t, "hello", source(helloYAML, "package main\n")); err != nil {
		t.Fatal(err)
	}
	e.builder.images.calls = make(chan string, 10)
	e.builder.images.hold = true
	ctx, stop := context.WithCancel(t.Context())
	ran := make(chan error, 1)
	go func() { ran <- e.reg.Run(ctx) }()
	if err := e.reg.Delete(t.Context(), "hello"); err != nil {
		t.Fatal(err)
	}
	<-e.builder.images.calls
	stop()
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	// Run returned after the removal had ended.
	if got := e.builder.images.results(); len(got) != 1 || !errors.Is(got[0], context.Canceled) {
		t.Fatalf("removal results %v, want one cut off", got)
	}
}

func TestLocksAreForgotten(t *testing.T) {
	e := newEnv(t, 0)
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := range 50 {
		name := fmt.Sprintf("fn-%d", i)
		wg.Go(func() {
			files := source("name: "+name+"\nruntime: go\n", "package main\n")
			data := pack(t, files)
			for range 2 { // two deploys and a delete of each name, some at once
				if _, _, err := e.reg.Deploy(context.Background(), name, strings.NewReader(string(data)), nil); err != nil {
					errs <- err
				}
			}
			if err := e.reg.Delete(context.Background(), name); err != nil {
				errs <- err
			}
			if _, err := e.reg.Configure(context.Background(), name, api.ConfigPatch{}); err == nil {
				errs <- fmt.Errorf("configure %s after its delete succeeded", name)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := registry.LockCount(e.reg); n != 0 {
		t.Fatalf("%d lock entries left after every deploy and delete ended, want 0", n)
	}
}

// newEnvWith is newEnv with the registry's image settings and logger.
func newEnvWith(t *testing.T, cfg registry.Config, log *slog.Logger) *env {
	t.Helper()
	st, err := sqlstore.Open(t.Context(), filepath.Join(t.TempDir(), "hearth.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	e := newEnvOn(t, st, 0)
	cfg.BaseURL, cfg.WorkDir = baseURL, e.workDir
	e.reg = registry.New(cfg, st, e.builder, e.pool, log)
	return e
}

// waitFor polls cond until it holds: for work that ends on its own in the background.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// capture is a slog handler that sends each "left behind" warning's reason to done.
type capture struct {
	done chan string
}

func (c *capture) Enabled(context.Context, slog.Level) bool { return true }
func (c *capture) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "left behind") {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "reason" {
				c.done <- a.Value.String()
			}
			return true
		})
	}
	return nil
}
func (c *capture) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *capture) WithGroup(string) slog.Handler      { return c }
