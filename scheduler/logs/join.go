package logs

import (
	"strings"
	"sync"
	"time"
)

// Bounds of one entry: a message that keeps going (a deep recursion's trace, a program that
// prints indented output without end) is cut into entries of at most this many lines and bytes,
// so that one of them cannot push everything else out of the function's ring.
const (
	maxEntryLines = 200
	maxEntryBytes = 64 << 10
)

// block is what kind of multi-line message an entry is, as far as its lines tell: it decides
// which unindented lines may still continue it.
type block int

const (
	plain    block = iota
	pyFrames       // after Python's "Traceback (most recent call last):": frames, then the exception line
	pyEnd          // after the exception line: only a chained exception continues it
	pyChain        // after "During handling of the above exception...": the next Traceback line
	goTrace        // a Go panic, fatal error or goroutine dump
)

const pyTraceback = "Traceback (most recent call last):"

// startBlock is the block of an entry whose first line is line.
func startBlock(line string) block {
	switch {
	case line == pyTraceback:
		return pyFrames
	case strings.HasPrefix(line, "panic: "), strings.HasPrefix(line, "fatal error: "), goroutineHeader(line):
		return goTrace
	}
	return plain
}

// joins reports whether line continues an entry of block b, within the time window, and the
// block the entry is then. The rule, documented in docs/user/logs.md:
//   - a line that starts with a space or a tab continues any entry: stack frames (Python's
//     "  File", Java's "\tat" and "\t... 3 more", Go's "\t/src/x.go:12", Node's "    at");
//   - so does Java's "Caused by: ";
//   - in a Python traceback, the first unindented line after the frames (the exception,
//     "ValueError: bad"), then a chained exception's "During handling of..." or "The above
//     exception was..." and its "Traceback" line;
//   - in a Go panic or goroutine dump, the frames' function lines ("main.main()"), the next
//     goroutine's header, "created by ...", "[signal ...".
//
// A blank line continues a Python traceback after its exception line, or a Go trace, only if a
// line that continues the entry follows it (the joiner keeps it aside until then).
func joins(b block, line string) (bool, block) {
	if line != "" && (line[0] == ' ' || line[0] == '\t') || strings.HasPrefix(line, "Caused by: ") {
		return true, b
	}
	switch b {
	case pyFrames:
		return line != "", pyEnd
	case pyEnd:
		if line == "During handling of the above exception, another exception occurred:" ||
			line == "The above exception was the direct cause of the following exception:" {
			return true, pyChain
		}
		return line == "", b
	case pyChain:
		if line == pyTraceback {
			return true, pyFrames
		}
		return line == "", b
	case goTrace:
		return line == "" || goroutineHeader(line) || goFrame(line) || strings.HasPrefix(line, "created by ") ||
			strings.HasPrefix(line, "[signal ") || strings.HasPrefix(line, "...additional frames elided..."), b
	}
	return false, b
}

// goroutineHeader reports whether line is "goroutine 7 [running]:" (or another state).
func goroutineHeader(line string) bool {
	rest, ok := strings.CutPrefix(line, "goroutine ")
	if !ok || !strings.HasSuffix(rest, "]:") {
		return false
	}
	n, _, ok := strings.Cut(rest, " [")
	return ok && n != "" && strings.Trim(n, "0123456789") == ""
}

// goFrame reports whether line looks like the function line of a Go frame: "main.main()",
// "net/http.(*conn).serve(0xc0000a8000, ...)": a call, with no space before its first
// parenthesis (which an ordinary sentence in parentheses has).
func goFrame(line string) bool {
	i := strings.IndexByte(line, '(')
	return i > 0 && strings.HasSuffix(line, ")") && !strings.ContainsAny(line[:i], " \t")
}

// pending is the entry a joiner is gathering.
type pending struct {
	time, last time.Time // of its first line and of its last (blank ones included)
	text       strings.Builder
	lines      int
	block      block
	// blanks are the times of the blank lines after its text, kept aside: they become part of
	// it if a line that continues it follows, and are entries of their own otherwise.
	blanks []time.Time
}

// joiner gathers the lines of one stream of one instance into entries: a line that continues
// the entry before it (joins), written at most window after that entry's last line (by the
// engine's timestamps), becomes part of it. An entry is handed to emit when a line that does not
// continue it comes, or window after its last line was read (a timer), so that a lone line is
// never held back longer than that; stop hands over the last one. A negative window turns
// joining off. It is safe for use by one reader (and its timer).
type joiner struct {
	window time.Duration
	emit   func(t time.Time, text string)

	mu      sync.Mutex
	p       *pending
	due     time.Time   // when the wall clock lets the timer hand p over
	timer   *time.Timer // made on the first line; armed while p may be waiting
	armed   bool
	stopped bool
}

func newJoiner(window time.Duration, emit func(time.Time, string)) *joiner {
	return &joiner{window: window, emit: emit}
}

// line takes the next line of the stream, written at t.
func (j *joiner) line(t time.Time, text string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.stopped {
		return
	}
	if j.window < 0 {
		j.emit(t, text)
		return
	}
	if p := j.p; p != nil && t.Sub(p.last) <= j.window && p.fits(text) {
		if ok, next := joins(p.block, text); ok {
			p.last = t
			if text == "" {
				p.blanks = append(p.blanks, t)
				return
			}
			for range p.blanks {
				p.text.WriteByte('\n')
			}
			p.lines += len(p.blanks) + 1
			p.blanks = nil
			p.text.WriteByte('\n')
			p.text.WriteString(text)
			p.block = next
			j.arm()
			return
		}
	}
	j.flushLocked()
	j.p = &pending{time: t, last: t, lines: 1, block: startBlock(text)}
	j.p.text.WriteString(text)
	j.arm()
}

// fits reports whether text (and the blank lines kept aside) can still be added within the
// entry's bounds.
func (p *pending) fits(text string) bool {
	return p.lines+len(p.blanks)+1 <= maxEntryLines && p.text.Len()+len(p.blanks)+1+len(text) <= maxEntryBytes
}

// arm makes the timer hand the pending entry over window from now, unless more comes. The
// timer is reset only when it has fired: a burst of lines costs one deadline update each.
func (j *joiner) arm() {
	j.due = time.Now().Add(j.window)
	if j.armed {
		return
	}
	j.armed = true
	if j.timer == nil {
		j.timer = time.AfterFunc(j.window, j.expire)
	} else {
		j.timer.Reset(j.window)
	}
}

func (j *joiner) expire() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.armed = false
	if j.stopped || j.p == nil {
		return
	}
	if wait := time.Until(j.due); wait > 0 {
		j.armed = true
		j.timer.Reset(wait)
		return
	}
	j.flushLocked()
}

// flushLocked hands the pending entry over, and then the blank lines kept aside after it.
func (j *joiner) flushLocked() {
	p := j.p
	if p == nil {
		return
	}
	j.p = nil
	j.emit(p.time, p.text.String())
	for _, t := range p.blanks {
		j.emit(t, "")
	}
}

// stop hands the pending entry over and ends the joiner: lines after it are dropped. A timer
// that fires meanwhile does nothing.
func (j *joiner) stop() {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.stopped {
		return
	}
	j.stopped = true
	if j.timer != nil {
		j.timer.Stop()
	}
	j.flushLocked()
}
