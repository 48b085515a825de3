package docker

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

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
// progress (if not nil), and an error message ends the build with builder.ErrBuildFailed,
// carrying the output of the step that failed, where the compiler's messages are.
func readBuildStream(r io.Reader, progress func(string)) error {
	dec := json.NewDecoder(r)
	var partial strings.Builder
	var step []string // lines since the last "Step n/m :" line
	emit := func(line string) {
		line = strings.TrimRight(ansiEscape.ReplaceAllString(line, ""), "\r")
		if strings.HasPrefix(line, "Step ") {
			step = step[:0]
		}
		step = append(step, line)
		if progress != nil {
			progress(line)
		}
	}
	for {
		var m buildMessage
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
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
			return buildFailure(msg, step)
		}
	}
	if partial.Len() > 0 {
		emit(partial.String())
	}
	return nil
}

func (m buildMessage) message() string {
	if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
		return m.ErrorDetail.Message
	}
	return m.Error
}

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
