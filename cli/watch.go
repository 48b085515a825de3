package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/hearthfn/hearth/api/client"
)

// watchQuiet is how long the folder must stay unchanged after a change before deploy --watch
// deploys. An editor's save is a burst of events (a temp file, a rename, a chmod) within a few
// milliseconds, and "save all" or a git checkout a longer one; 150 ms covers those and is still
// short next to a build.
const watchQuiet = 150 * time.Millisecond

// errNoPacker is the error of deploy in a build of hearth given no Options.PackDir.
var errNoPacker = errors.New("deploy is not available: this build of hearth cannot pack functions")

// watchOpts is what deploy --watch needs besides the deploy flags.
type watchOpts struct {
	r   remote
	dir string
	// invokeWith is --invoke-with: a request body, or "@FILE" for the contents of FILE (read
	// again before each call, so it may be edited too). Empty means no call.
	invokeWith string
	// invokeSet says --invoke-with was given, so that an empty body is still a call.
	invokeSet bool
}

// runWatch deploys the function in dir, then again each time its files change, until ctx is
// cancelled (Ctrl-C), which is a clean stop. A failed deploy does not end it: the user fixes
// the file and saves again. Only what no edit can fix ends it early: no func.yaml at the start,
// a token the server refuses.
func (a *app) runWatch(ctx context.Context, cmd *cobra.Command, o watchOpts) error {
	stdout := &lockedWriter{w: cmd.OutOrStdout()}
	stderr := &lockedWriter{w: cmd.ErrOrStderr()}
	if a.opts.PackDir == nil {
		return errNoPacker
	}
	path := a.path(o.dir)
	if _, err := os.Stat(filepath.Join(path, funcFile)); errors.Is(err, fs.ErrNotExist) {
		_, err := a.readSpec(stderr, o.dir, path) // says what is missing and how to make it
		return err
	}
	body, err := a.watchBody(o)
	if err != nil {
		return err
	}
	src, err := watchDir(path)
	if err != nil {
		return err
	}
	defer func() { _ = src.Close() }()

	var fatal error // set by a deploy whose failure no edit can fix; read after the loop
	deploy := func(ctx context.Context, n int) {
		// The stream itself, not the locked wrapper, so that the build view sees a terminal and
		// draws its spinner; nothing else writes while the first deploy runs but a warning.
		progress := cmd.ErrOrStderr()
		if n > 0 && !a.verboseBuild {
			// One line per redeploy; a failed build still shows its failed step's log, which
			// goes to stderr. --verbose asked for the whole log, every time.
			progress = io.Discard
		}
		began := a.opts.Now()
		fn, _, c, err := a.deployDir(ctx, stderr, progress, o.r, o.dir)
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, client.ErrUnauthorized) || errors.Is(err, client.ErrForbidden):
			fatal = err
			return
		case err != nil:
			fmt.Fprintf(stderr, "deploy failed: %v\n", err)
		default:
			fmt.Fprintf(stdout, "deployed %s version %d in %s: %s\n", fn.Name, fn.Version.Number, seconds(a.opts.Now().Sub(began)), c.InvokeURL(fn.Name))
			if o.invokeSet {
				if err := a.watchInvoke(ctx, stdout, c, fn.Name, o, body); err != nil && ctx.Err() == nil {
					fmt.Fprintf(stderr, "invoke failed: %v\n", err)
				}
			}
		}
		if n == 0 {
			fmt.Fprintf(stderr, "Watching %s for changes (Ctrl-C stops)\n", o.dir)
		}
	}
	loop := watchLoop{quiet: watchQuiet, after: time.After, deploy: deploy, warn: func(err error) {
		fmt.Fprintf(stderr, "watch: %v\n", err)
	}}
	loop.stop = func() bool { return fatal != nil }
	if err := loop.run(ctx, src); err != nil {
		return err
	}
	return fatal
}

// watchBody reads --invoke-with @- once, at the start: standard input cannot be read again for
// each call. Other values are resolved at each call.
func (a *app) watchBody(o watchOpts) ([]byte, error) {
	if o.invokeWith != "@-" {
		return nil, nil
	}
	b, err := a.invokeBody(invokeFlags{file: "-"}, false)
	if err != nil {
		return nil, err
	}
	if b == nil {
		b = []byte{}
	}
	return b, nil
}

// watchInvoke calls the function once after a deploy, as "hearth invoke NAME -d BODY" (or -f
// FILE) would, and prints the status and the body: "200 OK in 12ms", then the body on its own
// lines. A non-2xx answer is printed the same way and returned as an error.
func (a *app) watchInvoke(ctx context.Context, out io.Writer, c *client.Client, name string, o watchOpts, stdin []byte) error {
	body := stdin
	if body == nil {
		f, hasData := invokeFlags{data: o.invokeWith}, true
		if file, ok := strings.CutPrefix(o.invokeWith, "@"); ok {
			f, hasData = invokeFlags{file: file}, false
		}
		var err error
		if body, err = a.invokeBody(f, hasData); err != nil {
			return err
		}
	}
	header := http.Header{}
	req := client.InvokeRequest{Method: http.MethodPost, Header: header}
	if len(body) > 0 {
		header.Set("Content-Type", guessContentType(body))
		req.Body = bytes.NewReader(body)
	}
	began := a.opts.Now()
	resp, err := c.Invoke(ctx, name, req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	var buf bytes.Buffer
	var failed error
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		failed = copyBody(&buf, name, resp.Body)
	} else {
		failed = invokeFailure(&buf, name, resp)
	}
	fmt.Fprintf(out, "%s in %s\n", resp.Status, a.opts.Now().Sub(began).Round(time.Millisecond))
	if buf.Len() > 0 {
		if !bytes.HasSuffix(buf.Bytes(), []byte("\n")) {
			buf.WriteByte('\n')
		}
		_, _ = out.Write(buf.Bytes())
	}
	return failed
}

// seconds formats d as "1.8s": a deploy's time, to a tenth of a second.
func seconds(d time.Duration) string {
	return fmt.Sprintf("%.1fs", d.Seconds())
}

// watchLoop debounces changes into deploys. A deploy starts once no change has come for quiet;
// changes that come while a deploy runs make exactly one more deploy after it (and after their
// own quiet time), so the last state on disk is always what ends up deployed, and deploys never
// overlap.
type watchLoop struct {
	quiet time.Duration
	// after is time.After; tests pass timers they fire themselves.
	after func(time.Duration) <-chan time.Time
	// deploy does one deploy; n counts them from 0, the first, which the loop starts at once.
	// It runs on its own goroutine, one at a time.
	deploy func(ctx context.Context, n int)
	// warn reports a watcher problem that does not stop the loop.
	warn func(error)
	// stop, when set, is asked after each deploy whether the loop should end.
	stop func() bool
}

// errWatchStopped means the file watcher closed its channels while the loop still needed them.
var errWatchStopped = errors.New("the file watcher stopped")

// run deploys once, then loops until ctx is done (nil: a clean stop) or stop says so. On the
// way out it waits for a running deploy to return.
func (l watchLoop) run(ctx context.Context, src changeSource) error {
	var (
		quiet   <-chan time.Time // nil unless changes wait for their quiet time to pass
		running chan struct{}    // closed when the running deploy returns; nil when none runs
		queued  bool             // the quiet time ended while a deploy ran
		n       int
	)
	start := func() {
		done := make(chan struct{})
		running = done
		go func(n int) {
			defer close(done)
			l.deploy(ctx, n)
		}(n)
		n++
	}
	wait := func() {
		if running != nil {
			<-running
		}
	}
	changes, errs := src.Changes(), src.Errors()
	start()
	for {
		select {
		case <-ctx.Done():
			wait()
			return nil
		case _, ok := <-changes:
			if !ok {
				wait()
				return errWatchStopped
			}
			quiet = l.after(l.quiet)
		case err, ok := <-errs:
			if !ok {
				errs = nil // changes says when the source is gone
				continue
			}
			if l.warn != nil {
				l.warn(err)
			}
		case <-quiet:
			quiet = nil
			if running != nil {
				queued = true
				continue
			}
			start()
		case <-running:
			running = nil
			if l.stop != nil && l.stop() {
				return nil
			}
			// A change still in its quiet time starts the next deploy when that time ends.
			if queued && quiet == nil {
				start()
			}
			queued = false
		}
	}
}

// lockedWriter serialises writes: the deploys of the watch loop and its warnings write to the
// same streams from different goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
