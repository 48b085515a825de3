package cli

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hearthfn/hearth/builder/buildctx"
)

func TestWatchFilter(t *testing.T) {
	ig, err := buildctx.ParseIgnore([]byte("*.log\nbuild/\n/docs/*.md\n.hearthignore\n"))
	if err != nil {
		t.Fatal(err)
	}
	f := watchFilter{ig: ig}
	tests := []struct {
		rel   string
		isDir bool
		skip  bool
	}{
		{"handler.go", false, false},
		{"pkg/util.go", false, false},
		{"func.yaml", false, false},
		{".hearthignore", false, false}, // always counts, even when it excludes itself
		{"app.log", false, true},
		{"pkg/deep/app.log", false, true},
		{"build", true, true},
		{"build", false, false}, // "build/" excludes folders only
		{"build/out.bin", false, true},
		{"pkg/build/x.go", false, true},
		{"docs/a.md", false, true},
		{"pkg/docs/a.md", false, false},
		{".git/index", false, true},
		{".git", true, true},
		{"sub/.git/HEAD", false, true},
		{".handler.go.swp", false, true},
		{".handler.go.swx", false, true},
		{"pkg/.util.go.swo", false, true},
		{"4913", false, true},
		{"handler.go~", false, true},
		{".#handler.go", false, true},
		{"#handler.go#", false, true},
		{"#", false, false},
		{"handler.go___jb_tmp___", false, true},
		{"swp.go", false, false},
	}
	for _, tt := range tests {
		if got := f.skip(tt.rel, tt.isDir); got != tt.skip {
			t.Errorf("skip(%q, dir=%v) = %v, want %v", tt.rel, tt.isDir, got, tt.skip)
		}
	}
	// No .hearthignore: only .git and editors' files are left out.
	none := watchFilter{}
	if none.skip("app.log", false) || !none.skip(".git/config", false) || !none.skip("x.swp", false) {
		t.Error("the zero filter should skip only .git and editor files")
	}
}

// fakeSource is a changeSource the test feeds.
type fakeSource struct {
	changes chan string
	errs    chan error
}

func newFakeSource() *fakeSource {
	return &fakeSource{changes: make(chan string), errs: make(chan error)}
}

func (f *fakeSource) Changes() <-chan string { return f.changes }
func (f *fakeSource) Errors() <-chan error   { return f.errs }
func (f *fakeSource) Close() error           { return nil }

// loopHarness runs a watchLoop whose timers and deploys the test drives: each quiet timer the
// loop asks for arrives on timers, and each deploy blocks until the test releases it.
type loopHarness struct {
	t       *testing.T
	src     *fakeSource
	timers  chan chan time.Time
	started chan int      // the number of each deploy that starts
	release chan struct{} // one receive lets one deploy return
	cancel  context.CancelFunc
	done    chan error
}

func startLoop(t *testing.T, stop func() bool) *loopHarness {
	t.Helper()
	h := &loopHarness{
		t:       t,
		src:     newFakeSource(),
		timers:  make(chan chan time.Time, 16),
		started: make(chan int, 16),
		release: make(chan struct{}),
		done:    make(chan error, 1),
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	l := watchLoop{
		quiet: watchQuiet,
		after: func(d time.Duration) <-chan time.Time {
			if d != watchQuiet {
				t.Errorf("quiet time = %v, want %v", d, watchQuiet)
			}
			c := make(chan time.Time, 1)
			h.timers <- c
			return c
		},
		deploy: func(ctx context.Context, n int) {
			h.started <- n
			select {
			case <-h.release:
			case <-ctx.Done():
			}
		},
		warn: func(err error) { t.Logf("warn: %v", err) },
		stop: stop,
	}
	go func() { h.done <- l.run(ctx, h.src) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-h.done:
		case <-time.After(5 * time.Second):
			t.Error("the loop did not return after its context was cancelled")
		}
	})
	return h
}

const waitLong = 5 * time.Second

// wantDeploy waits for deploy number n to start.
func (h *loopHarness) wantDeploy(n int) {
	h.t.Helper()
	select {
	case got := <-h.started:
		if got != n {
			h.t.Fatalf("deploy %d started, want %d", got, n)
		}
	case <-time.After(waitLong):
		h.t.Fatalf("deploy %d did not start", n)
	}
}

// noDeploy checks that no deploy has started. The loop's goroutine has handled everything sent
// before (its channels are unbuffered), and a deploy starts on that goroutine, so a few
// milliseconds are plenty for the deploy's goroutine to report itself.
func (h *loopHarness) noDeploy() {
	h.t.Helper()
	select {
	case n := <-h.started:
		h.t.Fatalf("deploy %d started, want none", n)
	case <-time.After(5 * time.Millisecond):
	}
}

// change sends a change and returns the quiet timer it armed.
func (h *loopHarness) change(rel string) chan time.Time {
	h.t.Helper()
	h.src.changes <- rel
	select {
	case c := <-h.timers:
		return c
	case <-time.After(waitLong):
		h.t.Fatal("a change armed no timer")
		return nil
	}
}

func (h *loopHarness) finishDeploy() {
	h.t.Helper()
	select {
	case h.release <- struct{}{}:
	case <-time.After(waitLong):
		h.t.Fatal("no deploy to finish")
	}
}

func TestWatchLoopDebounces(t *testing.T) {
	h := startLoop(t, nil)
	h.wantDeploy(0) // the first deploy starts at once
	h.finishDeploy()

	// A burst of changes: each re-arms the quiet time; only the last timer's end deploys.
	first := h.change("handler.go")
	h.change(".handler.go.tmp")
	last := h.change("handler.go")
	first <- time.Now() // a timer replaced by a later change means nothing
	h.noDeploy()
	last <- time.Now()
	h.wantDeploy(1)
	h.finishDeploy()
	h.noDeploy()
}

func TestWatchLoopChangesDuringDeploy(t *testing.T) {
	h := startLoop(t, nil)
	h.wantDeploy(0)
	h.finishDeploy()

	h.change("a.go") <- time.Now()
	h.wantDeploy(1)
	// While deploy 1 runs, two bursts come and go quiet: they make one deploy, after it.
	h.change("b.go") <- time.Now()
	h.change("c.go") <- time.Now()
	h.noDeploy()
	h.finishDeploy()
	h.wantDeploy(2)
	h.finishDeploy()
	h.noDeploy()

	// A change still in its quiet time when the deploy ends waits for it.
	h.change("d.go") <- time.Now()
	h.wantDeploy(3)
	h.change("e.go") <- time.Now() // quiet, queued
	pending := h.change("f.go")    // not quiet yet
	h.finishDeploy()
	h.noDeploy()
	pending <- time.Now()
	h.wantDeploy(4)
	h.finishDeploy()
}

func TestWatchLoopStopsOnCancel(t *testing.T) {
	h := startLoop(t, nil)
	h.wantDeploy(0)
	// Cancel while the deploy runs: the deploy sees it, and the loop waits for it, then ends
	// cleanly.
	h.cancel()
	select {
	case err := <-h.done:
		if err != nil {
			t.Fatalf("run = %v, want nil", err)
		}
	case <-time.After(waitLong):
		t.Fatal("the loop did not stop")
	}
	h.done <- nil // for the cleanup
}

func TestWatchLoopStopAsked(t *testing.T) {
	h := startLoop(t, func() bool { return true })
	h.wantDeploy(0)
	h.finishDeploy()
	select {
	case err := <-h.done:
		if err != nil {
			t.Fatalf("run = %v, want nil", err)
		}
	case <-time.After(waitLong):
		t.Fatal("the loop did not stop when asked")
	}
	h.done <- nil
}

func TestWatchLoopSourceGone(t *testing.T) {
	h := startLoop(t, nil)
	h.wantDeploy(0)
	h.finishDeploy()
	close(h.src.changes)
	select {
	case err := <-h.done:
		if !errors.Is(err, errWatchStopped) {
			t.Fatalf("run = %v, want errWatchStopped", err)
		}
	case <-time.After(waitLong):
		t.Fatal("the loop did not stop")
	}
	h.done <- nil
}

// TestFSSource checks the real watcher on a temp folder: changes to source files arrive,
// ignored and editor files do not, and a new folder is watched.
func TestFSSource(t *testing.T) {
	root := t.TempDir()
	write := func(rel, data string) {
		t.Helper()
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(".hearthignore", "*.log\ncache/\n")
	write("cache/old.bin", "x")
	src, err := watchDir(root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = src.Close() })
	// next returns the next change, skipping repeats of the last one (a write is often a
	// Create and a Write, or several Writes).
	last := ""
	next := func() string {
		t.Helper()
		for {
			select {
			case rel := <-src.Changes():
				if rel != last {
					last = rel
					return rel
				}
			case <-time.After(waitLong):
				t.Fatal("no change arrived")
			}
		}
	}
	// Events come in order: whatever ignored file was written first would arrive first.
	write("debug.log", "x")
	write(".handler.go.swp", "x")
	write("cache/new.bin", "x")
	write("handler.go", "package main")
	if got := next(); got != "handler.go" {
		t.Fatalf("first change = %q, want handler.go", got)
	}
	if err := os.Mkdir(filepath.Join(root, "pkg"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got := next(); got != "pkg" {
		t.Fatalf("change = %q, want pkg", got)
	}
	write("pkg/util.go", "package pkg")
	if got := next(); got != "pkg/util.go" {
		t.Fatalf("change = %q, want pkg/util.go", got)
	}
	// A new .hearthignore applies at once.
	write(".hearthignore", "*.log\ncache/\n*.tmp\n")
	if got := next(); got != ".hearthignore" {
		t.Fatalf("change = %q, want .hearthignore", got)
	}
	write("x.tmp", "x")
	write("main.go", "package main")
	if got := next(); got != "main.go" {
		t.Fatalf("change = %q, want main.go", got)
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-src.Changes(); ok {
		t.Error("Changes is not closed after Close")
	}
}
