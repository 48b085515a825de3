package httpapi_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/builder"
)

// TestDeployStreamsSteps checks that the steps a builder reports on the context become
// "step"/"step_end" events, in order with the log lines, and that a failed build's hint travels
// in the error event (and in its message, for clients that do not read hints).
func TestDeployStreamsSteps(t *testing.T) {
	reg := &fakeRegistry{deploy: func(ctx context.Context, _ string, _ io.Reader, progress func(string)) (api.Function, bool, error) {
		trace := builder.TraceFrom(ctx)
		trace(builder.Step{N: 1, Total: 2, Name: "COPY . ."})
		progress("Step 1/2 : COPY . .")
		trace(builder.Step{N: 1, Total: 2, Name: "COPY . .", Done: true, Elapsed: 1500 * time.Millisecond, Cached: true})
		trace(builder.Step{N: 2, Total: 2, Name: "RUN go build"})
		progress("Step 2/2 : RUN go build")
		progress("go: module lookup disabled by GOPROXY=off")
		trace(builder.Step{N: 2, Total: 2, Name: "RUN go build", Done: true, Elapsed: 2 * time.Second, Failed: true})
		return api.Function{}, false, &builder.HintError{Err: fmt.Errorf("build hello: %w: exit 1", builder.ErrBuildFailed), Hint: "hint: vendor"}
	}}
	srv, _ := serve(t, reg)
	events := readEvents(t, do(t, http.MethodPost, srv.URL+deployPath, strings.NewReader("archive")))
	var got []string
	for _, ev := range events {
		switch ev.Type {
		case api.EventLog:
			got = append(got, "log "+ev.Line)
		case api.EventStep, api.EventStepEnd:
			got = append(got, fmt.Sprintf("%s %+v", ev.Type, *ev.Step))
		case api.EventError:
			got = append(got, fmt.Sprintf("error %s %q hint=%q", ev.Error.Code, ev.Error.Message, ev.Hint))
		}
	}
	want := []string{
		"step {N:1 Total:2 Name:COPY . . ElapsedMS:0 Failed:false Cached:false}",
		"log Step 1/2 : COPY . .",
		"step_end {N:1 Total:2 Name:COPY . . ElapsedMS:1500 Failed:false Cached:true}",
		"step {N:2 Total:2 Name:RUN go build ElapsedMS:0 Failed:false Cached:false}",
		"log Step 2/2 : RUN go build",
		"log go: module lookup disabled by GOPROXY=off",
		"step_end {N:2 Total:2 Name:RUN go build ElapsedMS:2000 Failed:true Cached:false}",
		`error build_failed "build hello: build failed: exit 1\nhint: vendor" hint="hint: vendor"`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
