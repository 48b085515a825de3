package docker

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hearthfn/hearth/builder"
)

// buildMessage is one JSON object of the engine's build output (the jsonmessage format).
type buildMessage struct {
	Stream      string `json:"stream"`
	Status      string `json:"status"`
	Error       string `json:"error"`
	ErrorDetail *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
}

// ansiEscape matches the colour codes the classic builder puts around a step's stderr; they mean
// nothing in a deploy stream, a JSON error or the dashboard.
var ansiEscape = regexp.MustCompile(`\x1b\[[0-9;]*[A-Za-z]`)

// maxTail bounds how much of a failing step's output an error carries.
const maxTail = 50

// readBuildStream follows a build's output: each complete line of "stream" text goes to
// progress (if not nil), the steps' starts and ends to trace (timed on now), and an error
// message ends the build with builder.ErrBuildFailed, carrying the output of the step that
// failed, where the compiler's messages are (and, in a *failedStepError, all of it). trace and
// now may be nil: no trace, the wall clock.
func readBuildStream(r io.Reader, progress func(string), trace builder.Trace, now func() time.Time) error {
	if trace == nil {
		trace = func(builder.Step) {}
	}
	if now == nil {
		now = time.Now
	}
	dec := json.NewDecoder(r)
	var partial strings.Builder
	steps := &stepTracker{trace: trace, now: now}
	emit := func(line string) {
		line = strings.TrimRight(ansiEscape.ReplaceAllString(line, ""), "\r")
		steps.line(line)
		if progress != nil {
			progress(line)
		}
	}
	for {
		var m buildMessage
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			steps.end(true)
			return err
		}
		text := m.Stream
		if text == "" && m.Status != "" {
			text = m.Status + "\n"
		}
		partial.WriteString(text)
		if s := partial.String(); strings.Contains(s, "\n") {
			lines := strings.Split(s, "\n")
			for _, l := range lines[:len(lines)-1] {
				emit(l)
			}
			partial.Reset()
			partial.WriteString(lines[len(lines)-1])
		}
		if msg := m.message(); msg != "" {
			if partial.Len() > 0 {
				emit(partial.String())
			}
			log := steps.log
			steps.end(true)
			return &failedStepError{err: buildFailure(msg, log), log: log}
		}
	}
	if partial.Len() > 0 {
		emit(partial.String())
	}
	steps.end(false)
	return nil
}

func (m buildMessage) message() string {
	if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
		return m.ErrorDetail.Message
	}
	return m.Error
}

// stepLine is the classic builder's announcement of a Dockerfile step: "Step 3/9 : COPY . .".
var stepLine = regexp.MustCompile(`^Step (\d+)/(\d+) : (.*)$`)

// stepTracker turns the classic builder's step announcements into builder.Steps: a step lasts
// from its "Step n/m" line to the next one or the stream's end (the last step's output thus
// ends with the engine's "Successfully built" and "Successfully tagged" lines, which take no
// time worth telling apart).
type stepTracker struct {
	trace  builder.Trace
	now    func() time.Time
	cur    *builder.Step // nil between steps
	start  time.Time
	cached bool
	log    []string // the output since the last "Step" line, that line included
}

func (t *stepTracker) line(l string) {
	if m := stepLine.FindStringSubmatch(l); m != nil {
		t.end(false)
		n, _ := strconv.Atoi(m[1])
		total, _ := strconv.Atoi(m[2])
		t.cur = &builder.Step{N: n, Total: total, Name: stepName(m[3])}
		t.start, t.cached, t.log = t.now(), false, nil
		t.trace(*t.cur)
	}
	if t.cur == nil {
		return
	}
	t.log = append(t.log, l)
	if strings.TrimSpace(l) == "---> Using cache" {
		t.cached = true
	}
}

// end reports the current step's end, if a step is running.
func (t *stepTracker) end(failed bool) {
	if t.cur == nil {
		return
	}
	s := *t.cur
	s.Done, s.Elapsed, s.Failed, s.Cached = true, t.now().Sub(t.start), failed, t.cached && !failed
	t.cur = nil
	t.trace(s)
}

// stepName shows a Dockerfile instruction as a person would write it: an exec-form argument
// list (RUN ["go", "build"]) becomes a command line (RUN go build).
func stepName(instr string) string {
	op, rest, ok := strings.Cut(instr, " ")
	if !ok || !strings.HasPrefix(rest, "[") {
		return instr
	}
	var args []string
	if json.Unmarshal([]byte(rest), &args) != nil || len(args) == 0 {
		return instr
	}
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\"'") {
			args[i] = strconv.Quote(a)
		}
	}
	return op + " " + strings.Join(args, " ")
}

// failedStepError is a failed build with the whole output of the step that failed (the error's
// own message carries at most maxTail lines of it), for the hints that read it.
type failedStepError struct {
	err error
	log []string
}

func (e *failedStepError) Error() string { return e.err.Error() }
func (e *failedStepError) Unwrap() error { return e.err }

// buildFailure words a failed build as the engine's message followed by the failing step's
// output: "build failed: The command '...' returned a non-zero code: 1" and then, for a Go
// function, "./handler.go:9:2: undefined: foo".
func buildFailure(msg string, step []string) error {
	var tail []string
	for _, l := range step {
		// Layer ids and container housekeeping say nothing to a function's developer.
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "---> ") &&
			!strings.HasPrefix(t, "Removing intermediate container") {
			tail = append(tail, l)
		}
	}
	if len(tail) > maxTail {
		tail = tail[len(tail)-maxTail:]
	}
	if len(tail) == 0 {
		return fmt.Errorf("%w: %s", builder.ErrBuildFailed, msg)
	}
	return fmt.Errorf("%w: %s\n%s", builder.ErrBuildFailed, strings.TrimSpace(msg), strings.Join(tail, "\n"))
}
