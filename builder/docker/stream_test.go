package docker

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hearthfn/hearth/builder"
)

func TestReadBuildStream(t *testing.T) {
	tests := []struct {
		name      string
		stream    string
		lines     []string
		errParts  []string // nil: success
		notInErrs []string
	}{
		{
			name: "success",
			stream: `{"stream":"Step 1/2 : FROM x\n"}
{"stream":" ---\u003e abc\n"}
{"aux":{"ID":"sha256:1"}}
{"stream":"Successfully built 1\n"}`,
			lines: []string{"Step 1/2 : FROM x", " ---> abc", "Successfully built 1"},
		},
		{
			name:   "partial lines are joined",
			stream: `{"stream":"hel"}{"stream":"lo\nwor"}{"stream":"ld\n"}{"stream":"end"}`,
			lines:  []string{"hello", "world", "end"},
		},
		{
			name:   "status messages are progress too",
			stream: `{"status":"Downloading"}`,
			lines:  []string{"Downloading"},
		},
		{
			name: "compile error",
			stream: `{"stream":"Step 5/9 : COPY . .\n"}
{"stream":" ---\u003e 1\n"}
{"stream":"Step 6/9 : RUN [\"go\", \"build\"]\n"}
{"stream":" ---\u003e Running in 9\n"}
{"stream":"\u001b[91m# hello\n./handler.go:9:2: undefined: foo\n"}
{"stream":"\u001b[0mRemoving intermediate container 9\n"}
{"errorDetail":{"code":1,"message":"The command 'go build' returned a non-zero code: 1"},"error":"The command 'go build' returned a non-zero code: 1"}`,
			lines: []string{"Step 5/9 : COPY . .", " ---> 1", `Step 6/9 : RUN ["go", "build"]`,
				" ---> Running in 9", "# hello", "./handler.go:9:2: undefined: foo", "Removing intermediate container 9"},
			errParts:  []string{"build failed", "returned a non-zero code: 1", "./handler.go:9:2: undefined: foo", "Step 6/9"},
			notInErrs: []string{"Step 5/9", "Running in", "Removing intermediate", "\x1b"},
		},
		{
			name:     "error without detail",
			stream:   `{"error":"pull access denied"}`,
			errParts: []string{"build failed: pull access denied"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var lines []string
			err := readBuildStream(strings.NewReader(tt.stream), func(l string) { lines = append(lines, l) }, nil, nil)
			if !reflect.DeepEqual(lines, tt.lines) {
				t.Errorf("progress lines %q, want %q", lines, tt.lines)
			}
			if tt.errParts == nil {
				if err != nil {
					t.Fatalf("readBuildStream: %v", err)
				}
				return
			}
			if !errors.Is(err, builder.ErrBuildFailed) {
				t.Fatalf("error %v does not wrap ErrBuildFailed", err)
			}
			for _, p := range tt.errParts {
				if !strings.Contains(err.Error(), p) {
					t.Errorf("error %q lacks %q", err, p)
				}
			}
			for _, p := range tt.notInErrs {
				if strings.Contains(err.Error(), p) {
					t.Errorf("error %q has %q", err, p)
				}
			}
		})
	}
}

func TestReadBuildStreamBadJSON(t *testing.T) {
	err := readBuildStream(strings.NewReader(`{"stream":"a\n"} not json`), nil, nil, nil)
	if err == nil || errors.Is(err, builder.ErrBuildFailed) {
		t.Fatalf("readBuildStream(garbage) = %v, want a decode error", err)
	}
}

// fakeClock advances by a second each time it is read, so that each step's elapsed time says how
// many clock readings it spanned.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time {
	c.t = c.t.Add(time.Second)
	return c.t
}

func TestReadBuildStreamSteps(t *testing.T) {
	stream := `{"stream":"Step 1/3 : FROM hearth/go-build:1.26 AS build\n"}
{"stream":" ---\u003e 1\n"}
{"stream":"Step 2/3 : COPY . .\n"}
{"stream":" ---\u003e Using cache\n ---\u003e 2\n"}
{"stream":"Step 3/3 : RUN [\"go\", \"build\", \"-ldflags\", \"-s -w\", \"./hearthmain\"]\n"}
{"stream":" ---\u003e Running in 9\n"}
{"stream":"Removing intermediate container 9\n ---\u003e 3\n"}
{"stream":"Successfully built 3\n"}
{"stream":"Successfully tagged hearth/hello:abc\n"}`
	var events []string
	var lines int
	trace := func(s builder.Step) {
		events = append(events, fmt.Sprintf("%d/%d %s done=%v elapsed=%s failed=%v cached=%v (after %d lines)",
			s.N, s.Total, s.Name, s.Done, s.Elapsed, s.Failed, s.Cached, lines))
	}
	clock := &fakeClock{t: time.Unix(0, 0)}
	if err := readBuildStream(strings.NewReader(stream), func(string) { lines++ }, trace, clock.now); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"1/3 FROM hearth/go-build:1.26 AS build done=false elapsed=0s failed=false cached=false (after 0 lines)",
		"1/3 FROM hearth/go-build:1.26 AS build done=true elapsed=1s failed=false cached=false (after 2 lines)",
		"2/3 COPY . . done=false elapsed=0s failed=false cached=false (after 2 lines)",
		"2/3 COPY . . done=true elapsed=1s failed=false cached=true (after 5 lines)",
		`3/3 RUN go build -ldflags "-s -w" ./hearthmain done=false elapsed=0s failed=false cached=false (after 5 lines)`,
		`3/3 RUN go build -ldflags "-s -w" ./hearthmain done=true elapsed=1s failed=false cached=false (after 11 lines)`,
	}
	if !reflect.DeepEqual(events, want) {
		t.Errorf("steps:\n%s\nwant:\n%s", strings.Join(events, "\n"), strings.Join(want, "\n"))
	}
}

func TestReadBuildStreamFailedStep(t *testing.T) {
	stream := `{"stream":"Step 1/2 : COPY . .\n"}
{"stream":"Step 2/2 : RUN pip install -r requirements.txt\n"}
{"stream":" ---\u003e Running in 9\n"}
` + strings.Repeat(`{"stream":"noise\n"}`+"\n", maxTail+10) + `{"stream":"ERROR: No matching distribution found for left-pad\n"}
{"errorDetail":{"message":"The command returned a non-zero code: 1"}}`
	var ends []builder.Step
	trace := func(s builder.Step) {
		if s.Done {
			ends = append(ends, s)
		}
	}
	err := readBuildStream(strings.NewReader(stream), nil, trace, (&fakeClock{}).now)
	if len(ends) != 2 || ends[0].Failed || !ends[1].Failed || ends[1].N != 2 {
		t.Fatalf("step ends %+v: want step 1 ok and step 2 failed", ends)
	}
	var failed *failedStepError
	if !errors.As(err, &failed) || !errors.Is(err, builder.ErrBuildFailed) {
		t.Fatalf("error %v: want a failedStepError wrapping ErrBuildFailed", err)
	}
	// The error carries maxTail lines; the step's whole log is kept for the hints.
	if n := len(failed.log); n != maxTail+13 {
		t.Errorf("failed step's log has %d lines, want %d", n, maxTail+13)
	}
	if got := strings.Count(err.Error(), "noise"); got >= maxTail+10 {
		t.Errorf("the error carries %d noise lines, want at most %d", got, maxTail)
	}
}

func TestStepName(t *testing.T) {
	for in, want := range map[string]string{
		`COPY . .`:                          `COPY . .`,
		`RUN ["go", "build", "-o", "/f"]`:   `RUN go build -o /f`,
		`RUN ["sh", "-c", "echo 'hi' x"]`:   `RUN sh -c "echo 'hi' x"`,
		`ENTRYPOINT ["/function"]`:          `ENTRYPOINT /function`,
		`RUN [not json`:                     `RUN [not json`,
		`RUN python3 -m pip install -r r.t`: `RUN python3 -m pip install -r r.t`,
	} {
		if got := stepName(in); got != want {
			t.Errorf("stepName(%q) = %q, want %q", in, got, want)
		}
	}
}
