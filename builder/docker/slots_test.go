package docker

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/hearthfn/hearth/builder"
)

// gatedBuilder is a Builder with one build slot on a fake engine whose builds wait for gate.
func gatedBuilder(images ...string) (*Builder, *fakeEngine) {
	f := newFakeEngine(append(images, goBuildImage, goRunImage)...)
	f.buildGate = make(chan struct{})
	f.buildStarted = make(chan string, 10)
	b := fakeBuilder(f)
	b.slots = newBuildSlots(1)
	return b, f
}

// sourceOf is a Go function whose handler says what, so that each call is its own build.
func sourceOf(what string) fstest.MapFS {
	s := helloSource()
	s["handler.go"] = &fstest.MapFile{Data: []byte("package handler // " + what + "\n")}
	return s
}

type buildOutcome struct {
	res builder.Result
	err error
}

// startBuild runs a build in the background; its progress lines go to lines.
func startBuild(ctx context.Context, b *Builder, what string, lines chan<- string) <-chan buildOutcome {
	done := make(chan buildOutcome, 1)
	go func() {
		res, err := b.Build(ctx, builder.Request{Function: "hello", Runtime: "go", Source: sourceOf(what),
			Progress: func(l string) { lines <- l }})
		done <- buildOutcome{res, err}
	}()
	return done
}

func TestBuildWaitsForASlot(t *testing.T) {
	b, f := gatedBuilder()
	lines := make(chan string, 100)
	first := startBuild(t.Context(), b, "first", lines)
	firstTag := <-f.buildStarted

	second := startBuild(t.Context(), b, "second", lines)
	if l := <-lines; !strings.Contains(l, "waiting for a build slot: 1 builds are running") {
		t.Fatalf("the second build said %q, want that it waits for a slot", l)
	}
	close(f.buildGate)
	if out := <-first; out.err != nil || out.res.Image != firstTag {
		t.Fatalf("first build = %+v", out)
	}
	// The slot the first build gave back lets the second one run.
	if out := <-second; out.err != nil || out.res.Cached {
		t.Fatalf("second build = %+v", out)
	}
	if n := len(f.builds); n != 2 {
		t.Fatalf("%d builds ran, want 2", n)
	}
}

func TestBuildLeavesTheQueueWhenItsClientGoes(t *testing.T) {
	b, f := gatedBuilder()
	lines := make(chan string, 100)
	first := startBuild(t.Context(), b, "first", lines)
	<-f.buildStarted

	ctx, cancel := context.WithCancel(t.Context())
	waiting := startBuild(ctx, b, "second", lines)
	if l := <-lines; !strings.Contains(l, "waiting for a build slot") {
		t.Fatalf("progress %q", l)
	}
	cancel()
	if out := <-waiting; !errors.Is(out.err, context.Canceled) {
		t.Fatalf("a build whose client went away while it waited = %+v, want context.Canceled", out)
	}
	close(f.buildGate)
	if out := <-first; out.err != nil {
		t.Fatal(out.err)
	}
	// The cancelled build never reached the engine, and took no slot: the next one runs.
	if out := <-startBuild(t.Context(), b, "third", lines); out.err != nil {
		t.Fatal(out.err)
	}
	close(f.buildStarted)
	var started []string
	for tag := range f.buildStarted {
		started = append(started, tag)
	}
	if len(started) != 1 {
		t.Fatalf("builds that reached the engine after the first: %v, want only the third", started)
	}
}

func TestCachedBuildTakesNoSlot(t *testing.T) {
	b, f := gatedBuilder()
	lines := make(chan string, 100)
	// The image of "cached" exists: build it once with the gate open on another builder.
	open := fakeBuilder(f)
	f.buildGate = nil
	res, err := open.Build(t.Context(), builder.Request{Function: "hello", Runtime: "go", Source: sourceOf("cached")})
	if err != nil {
		t.Fatal(err)
	}
	f.buildGate = make(chan struct{})
	busy := startBuild(t.Context(), b, "busy", lines)
	<-f.buildStarted

	if out := <-startBuild(t.Context(), b, "cached", lines); out.err != nil || !out.res.Cached || out.res.Image != res.Image {
		t.Fatalf("build of an existing image while the slot is taken = %+v", out)
	}
	close(f.buildGate)
	if out := <-busy; out.err != nil {
		t.Fatal(out.err)
	}
}

func TestNewChecksBuildSettings(t *testing.T) {
	for _, cfg := range []Config{{Owner: "a b"}, {Owner: `x"y`}, {Owner: "-x"}, {MaxBuilds: -1}} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
	b, err := New(Config{Owner: "host-1.example_2-0a1b2c3d"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if cap(b.slots.ch) != DefaultMaxBuilds {
		t.Fatalf("%d build slots, want %d", cap(b.slots.ch), DefaultMaxBuilds)
	}
}
