package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/term"

	"github.com/hearthfn/hearth/api"
)

// spinnerFrames turn while a step runs on a terminal.
var spinnerFrames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// spinnerEvery is how often the running step's line is redrawn on a terminal.
const spinnerEvery = 100 * time.Millisecond

// buildView shows a deploy's build. A build log is hundreds of lines of which a developer
// wants, as a rule, only how far the build got and, when it fails, the failing step's whole
// output: so by default each step is one line, drawn with a spinner and a running time while
// it runs on a terminal and printed once it ends elsewhere (no control codes in a file or a
// CI log); verbose prints every line of the builder's log instead, as it comes. Either way a
// failed step's whole log goes to errw. A server that sends no step events (an older one)
// gets its log shown line by line, as before.
//
// It is fed from the deploy stream's goroutine (event) and, on a terminal, redrawn from a
// ticker's (see start); mu orders the two.
type buildView struct {
	mu      sync.Mutex
	out     io.Writer // the step lines, or the whole log with verbose
	errw    io.Writer // a failed step's log and the failure's hint
	verbose bool
	tty     bool
	width   int // of the terminal, in columns; lines drawn there are cut to fit
	now     func() time.Time

	cur     *api.BuildStep // the running step; nil between steps
	began   time.Time      // when cur began, on this machine's clock
	log     []string       // cur's output so far
	drawn   bool           // a spinner line is on the terminal, to be redrawn or cleared
	frame   int
	steps   bool // the server sends steps: lines are shown by step, not one by one
	failed  bool // a failed step's log has been shown
	hint    string
	stopped chan struct{}
	done    sync.WaitGroup
}

// newBuildView returns a view writing to out and errw. A terminal is detected on out, as
// invoke detects one on stdout.
func newBuildView(out, errw io.Writer, verbose bool, now func() time.Time) *buildView {
	v := &buildView{out: out, errw: errw, verbose: verbose, now: now, width: 80}
	if f, ok := out.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		v.tty = true
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 0 {
			v.width = w
		}
	}
	return v
}

// start turns the spinner on a terminal until stop; elsewhere it does nothing.
func (v *buildView) start() {
	if !v.tty || v.verbose {
		return
	}
	v.stopped = make(chan struct{})
	v.done.Add(1)
	go func() {
		defer v.done.Done()
		t := time.NewTicker(spinnerEvery)
		defer t.Stop()
		for {
			select {
			case <-v.stopped:
				return
			case <-t.C:
				v.tick()
			}
		}
	}()
}

// stop ends the spinner and clears its line, so that what follows starts on a clean line.
func (v *buildView) stop() {
	if v.stopped != nil {
		close(v.stopped)
		v.done.Wait()
		v.stopped = nil
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.clear()
}

// tick redraws the running step with the spinner's next frame and its time so far.
func (v *buildView) tick() {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.cur == nil {
		return
	}
	v.frame++
	v.draw()
}

// event shows one event of the deploy stream.
func (v *buildView) event(ev api.DeployEvent) {
	v.mu.Lock()
	defer v.mu.Unlock()
	switch ev.Type {
	case api.EventStep:
		if ev.Step == nil {
			return
		}
		v.steps = true
		s := *ev.Step
		v.cur, v.began, v.log, v.frame = &s, v.now(), nil, 0
		if v.tty && !v.verbose {
			v.draw()
		}
	case api.EventLog:
		if v.verbose || !v.steps {
			v.clear()
			fmt.Fprintln(v.out, ev.Line)
		}
		if v.cur != nil {
			v.log = append(v.log, ev.Line)
		} else if v.steps && !v.verbose {
			// Between steps: what the server says about the build itself (waiting for a
			// build slot) is shown at once.
			v.clear()
			fmt.Fprintln(v.out, ev.Line)
		}
	case api.EventStepEnd:
		if ev.Step == nil {
			return
		}
		v.steps = true
		s := *ev.Step
		if !v.verbose {
			v.clear()
			fmt.Fprintln(v.out, stepLine(s, time.Duration(s.ElapsedMS)*time.Millisecond, markFor(s), v.fit()))
		}
		if s.Failed {
			if !v.verbose {
				// The whole log of the failed step, less its announcement (the line above
				// says it) and the engine's housekeeping lines.
				announce := fmt.Sprintf("Step %d/%d : ", s.N, s.Total)
				for _, l := range v.log {
					if !housekeeping(l) && !strings.HasPrefix(l, announce) {
						fmt.Fprintln(v.errw, l)
					}
				}
			}
			v.failed = true
		}
		v.cur, v.log = nil, nil
	case api.EventError:
		v.clear()
		v.hint = ev.Hint
	}
}

// shownFailure reports whether the view has shown a failed step's log (or the whole log), so
// that the error's message, which repeats the end of that log, need not be shown whole.
func (v *buildView) shownFailure() (shown bool, hint string) {
	if v == nil {
		return false, ""
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.failed || (v.verbose && v.steps), v.hint
}

// draw writes the running step's line over the terminal's current line.
func (v *buildView) draw() {
	frame := spinnerFrames[v.frame%len(spinnerFrames)]
	fmt.Fprint(v.out, "\r\x1b[K"+stepLine(*v.cur, v.now().Sub(v.began), frame, v.fit()))
	v.drawn = true
}

// clear erases a drawn spinner line.
func (v *buildView) clear() {
	if v.drawn {
		fmt.Fprint(v.out, "\r\x1b[K")
		v.drawn = false
	}
}

// fit is the width lines are cut to: the terminal's less one column (a line that fills the
// last column wraps on some terminals, and \r then redraws only its second half); 0, no limit,
// elsewhere.
func (v *buildView) fit() int {
	if !v.tty {
		return 0
	}
	return v.width - 1
}

func markFor(s api.BuildStep) string {
	if s.Failed {
		return "✗"
	}
	return "✓"
}

// stepLine is a step's line: "✓ Step 3/9 RUN go build -o /f ./hearthmain  4.2s". With width
// above 0 the step's name is cut short (ending in "…") so that the line fits.
func stepLine(s api.BuildStep, elapsed time.Duration, mark string, width int) string {
	head := mark + " "
	if s.N > 0 {
		head += fmt.Sprintf("Step %d/%d ", s.N, s.Total)
	}
	tail := "  " + formatElapsed(elapsed)
	if s.Cached {
		tail += " (cached)"
	}
	name := s.Name
	if width > 0 {
		room := width - utf8.RuneCountInString(head) - utf8.RuneCountInString(tail)
		if room < 1 {
			room = 1
		}
		if utf8.RuneCountInString(name) > room {
			name = string([]rune(name)[:room-1]) + "…"
		}
	}
	return head + name + tail
}

// formatElapsed shows a step's time to a tenth of a second, minutes beyond one.
func formatElapsed(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	d = d.Round(time.Second)
	return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
}

// housekeeping tells the classic builder's own lines in a step's output (layer ids, the
// container a RUN ran in) from the step's: they say nothing to a function's developer.
func housekeeping(line string) bool {
	t := strings.TrimSpace(line)
	return strings.HasPrefix(t, "---> ") || strings.HasPrefix(t, "Removing intermediate container")
}
