package cli

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/api/client"
)

// stepClock is a clock a test moves by hand.
type stepClock struct{ t time.Time }

func (c *stepClock) now() time.Time { return c.t }

// buildEvents is a deploy stream as a server sends it: a cached step, a step with output, and
// the last step failing (fail) or not.
func buildEvents(fail bool) []api.DeployEvent {
	step := func(typ string, n int, name string, ms int64, failed, cached bool) api.DeployEvent {
		return api.DeployEvent{Type: typ, Step: &api.BuildStep{N: n, Total: 3, Name: name, ElapsedMS: ms, Failed: failed, Cached: cached}}
	}
	log := func(l string) api.DeployEvent { return api.DeployEvent{Type: api.EventLog, Line: l} }
	evs := []api.DeployEvent{
		log("waiting for a build slot: 2 builds are running, the most this server runs at once"),
		step(api.EventStep, 1, "COPY . .", 0, false, false),
		log("Step 1/3 : COPY . ."),
		log(" ---> Using cache"),
		step(api.EventStepEnd, 1, "COPY . .", 40, false, true),
		step(api.EventStep, 2, "RUN go vet ./...", 0, false, false),
		log("Step 2/3 : RUN go vet ./..."),
		log(" ---> Running in 5"),
		log("vetting"),
		log("Removing intermediate container 5"),
		step(api.EventStepEnd, 2, "RUN go vet ./...", 4200, false, false),
		step(api.EventStep, 3, "RUN go build -o /f ./hearthmain", 0, false, false),
		log("Step 3/3 : RUN go build -o /f ./hearthmain"),
		log(" ---> Running in 6"),
		log("# hello"),
		log("./handler.go:9:2: undefined: foo"),
	}
	if fail {
		return append(evs, step(api.EventStepEnd, 3, "RUN go build -o /f ./hearthmain", 65_000, true, false),
			api.DeployEvent{Type: api.EventError, Error: &api.ErrorDetail{Code: api.CodeBuildFailed,
				Message: "build hello: build failed: The command returned a non-zero code: 1\n# hello\n./handler.go:9:2: undefined: foo\nhint: vendor"},
				Hint: "hint: vendor"})
	}
	return append(evs, log("Successfully built 7"), step(api.EventStepEnd, 3, "RUN go build -o /f ./hearthmain", 1300, false, false),
		api.DeployEvent{Type: api.EventResult, Function: &api.Function{Name: "hello"}})
}

func TestBuildViewCondensed(t *testing.T) {
	var out, errw bytes.Buffer
	v := newBuildView(&out, &errw, false, (&stepClock{}).now)
	for _, ev := range buildEvents(false) {
		v.event(ev)
	}
	v.stop()
	want := `waiting for a build slot: 2 builds are running, the most this server runs at once
✓ Step 1/3 COPY . .  0.0s (cached)
✓ Step 2/3 RUN go vet ./...  4.2s
✓ Step 3/3 RUN go build -o /f ./hearthmain  1.3s
`
	if out.String() != want {
		t.Errorf("out:\n%s\nwant:\n%s", out.String(), want)
	}
	if errw.Len() != 0 || strings.Contains(out.String(), "\x1b") {
		t.Errorf("errw %q, out %q: want nothing on errw and no control codes", errw.String(), out.String())
	}
}

func TestBuildViewFailedStep(t *testing.T) {
	for _, verbose := range []bool{false, true} {
		t.Run(fmt.Sprintf("verbose=%v", verbose), func(t *testing.T) {
			var out, errw bytes.Buffer
			v := newBuildView(&out, &errw, verbose, (&stepClock{}).now)
			evs := buildEvents(true)
			for _, ev := range evs {
				v.event(ev)
			}
			v.stop()
			if !verbose {
				if !strings.HasSuffix(out.String(), "✗ Step 3/3 RUN go build -o /f ./hearthmain  1m05s\n") {
					t.Errorf("out does not end with the failed step:\n%s", out.String())
				}
				// The failed step's whole log, without its announcement and the engine's
				// housekeeping; nothing of the steps that passed.
				if want := "# hello\n./handler.go:9:2: undefined: foo\n"; errw.String() != want {
					t.Errorf("errw:\n%s\nwant:\n%s", errw.String(), want)
				}
			} else if !strings.Contains(out.String(), "vetting\n") || !strings.Contains(out.String(), "Step 3/3 : RUN go build") ||
				strings.Contains(out.String(), "✓") || errw.Len() != 0 {
				t.Errorf("verbose: out (want every line, no step lines):\n%s\nerrw:\n%s", out.String(), errw.String())
			}
			// The error's message then shows only its first line and the hint.
			var msg bytes.Buffer
			err := deployError(&msg, "hello", "func.yaml", &client.Error{Detail: *evs[len(evs)-1].Error}, v)
			if want := "build hello: build failed: The command returned a non-zero code: 1\nhint: vendor\n"; msg.String() != want {
				t.Errorf("deployError wrote %q, want %q", msg.String(), want)
			}
			if err == nil || strings.Contains(err.Error(), "\n") {
				t.Errorf("deployError = %v, want one line", err)
			}
		})
	}
}

// TestBuildViewOldServer: a server that sends no steps gets its log shown line by line, and a
// failed build's whole message, as before.
func TestBuildViewOldServer(t *testing.T) {
	var out, errw bytes.Buffer
	v := newBuildView(&out, &errw, false, (&stepClock{}).now)
	for _, l := range []string{"Step 1/1 : RUN go build", "./handler.go:9:2: undefined: foo"} {
		v.event(api.DeployEvent{Type: api.EventLog, Line: l})
	}
	detail := api.ErrorDetail{Code: api.CodeBuildFailed, Message: "build failed: exit 1\n./handler.go:9:2: undefined: foo"}
	v.event(api.DeployEvent{Type: api.EventError, Error: &detail})
	v.stop()
	if want := "Step 1/1 : RUN go build\n./handler.go:9:2: undefined: foo\n"; out.String() != want {
		t.Errorf("out %q, want %q", out.String(), want)
	}
	var msg bytes.Buffer
	_ = deployError(&msg, "hello", "func.yaml", &client.Error{Detail: detail}, v)
	if msg.String() != detail.Message+"\n" {
		t.Errorf("deployError wrote %q, want the whole message", msg.String())
	}
}

func TestBuildViewTerminal(t *testing.T) {
	var out, errw bytes.Buffer
	clock := &stepClock{t: time.Unix(100, 0)}
	v := newBuildView(&out, &errw, false, clock.now)
	v.tty, v.width = true, 40 // as newBuildView sets them for a terminal 40 columns wide
	v.event(api.DeployEvent{Type: api.EventStep, Step: &api.BuildStep{N: 2, Total: 9, Name: "RUN go build -trimpath -o /hearth-function ./hearthmain"}})
	clock.t = clock.t.Add(1500 * time.Millisecond)
	v.tick()
	v.event(api.DeployEvent{Type: api.EventLog, Line: "compiling"})
	v.event(api.DeployEvent{Type: api.EventStepEnd, Step: &api.BuildStep{N: 2, Total: 9, Name: "RUN go build -trimpath -o /hearth-function ./hearthmain", ElapsedMS: 4200}})
	v.stop()
	got := out.String()
	want := "\r\x1b[K⠋ Step 2/9 RUN go build -trimpat…  0.0s" +
		"\r\x1b[K⠙ Step 2/9 RUN go build -trimpat…  1.5s" +
		"\r\x1b[K✓ Step 2/9 RUN go build -trimpat…  4.2s\n"
	if got != want {
		t.Errorf("terminal output:\n%q\nwant:\n%q", got, want)
	}
	for _, line := range strings.Split(strings.ReplaceAll(got, "\r\x1b[K", "\n"), "\n") {
		if n := len([]rune(line)); n > 39 {
			t.Errorf("line %q is %d columns wide, more than the terminal's 40 less one", line, n)
		}
	}
}

// TestBuildViewSpinnerStops checks that start's ticker goroutine ends with stop, and that
// stop leaves the terminal's line clean when the stream ends in the middle of a step.
func TestBuildViewSpinnerStops(t *testing.T) {
	var out bytes.Buffer
	v := newBuildView(&out, &out, false, time.Now)
	v.tty = true
	v.start()
	v.event(api.DeployEvent{Type: api.EventStep, Step: &api.BuildStep{N: 1, Total: 1, Name: "RUN sleep"}})
	v.stop()
	if !strings.HasSuffix(out.String(), "\r\x1b[K") {
		t.Errorf("the spinner's line was not cleared: %q", out.String())
	}
}

func TestFormatElapsed(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0.0s", 40 * time.Millisecond: "0.0s", 4200 * time.Millisecond: "4.2s",
		59900 * time.Millisecond: "59.9s", 65 * time.Second: "1m05s", 10 * time.Minute: "10m00s",
	} {
		if got := formatElapsed(d); got != want {
			t.Errorf("formatElapsed(%s) = %q, want %q", d, got, want)
		}
	}
}
