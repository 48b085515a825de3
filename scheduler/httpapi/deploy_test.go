package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/builder"
	"github.com/hearthfn/hearth/runtimes/funcfile"
	"github.com/hearthfn/hearth/scheduler/httpapi"
)

const deployPath = "/v1/functions/hello/versions"

// readEvents reads a whole deploy stream, checking its status and Content-Type.
func readEvents(t *testing.T, resp *http.Response) []api.DeployEvent {
	t.Helper()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("deploy status = %d (%s), want 200", resp.StatusCode, b)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/x-ndjson" {
		t.Errorf("Content-Type = %q, want application/x-ndjson", ct)
	}
	var events []api.DeployEvent
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var ev api.DeployEvent
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ev); err != nil {
			t.Fatalf("stream line %q is not a DeployEvent: %v", sc.Text(), err)
		}
		events = append(events, ev)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read stream: %v", err)
	}
	return events
}

func logLines(events []api.DeployEvent) []string {
	var lines []string
	for _, ev := range events {
		if ev.Type == api.EventLog {
			lines = append(lines, ev.Line)
		}
	}
	return lines
}

func TestDeployErrorBeforeProgressIsPlainJSON(t *testing.T) {
	for _, tt := range []struct {
		name   string
		err    error
		status int
		code   string
		field  string
		retry  string
	}{
		{"bad func.yaml field", fmt.Errorf("read func.yaml: %w", &funcfile.FieldError{Field: "timeout", Reason: "must be positive"}),
			http.StatusBadRequest, api.CodeInvalid, "timeout", ""},
		{"unknown runtime", fmt.Errorf("build: %w", builder.ErrUnknownRuntime),
			http.StatusBadRequest, api.CodeInvalid, "runtime", ""},
		{"docker down", fmt.Errorf("build: %w", builder.ErrUnavailable),
			http.StatusServiceUnavailable, api.CodeUnavailable, "", "5"},
		{"engine down", fmt.Errorf("pull: %w", driver.ErrUnavailable),
			http.StatusServiceUnavailable, api.CodeUnavailable, "", "5"},
		{"build failed before any log line", fmt.Errorf("%w: no output", builder.ErrBuildFailed),
			http.StatusUnprocessableEntity, api.CodeBuildFailed, "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			reg := &fakeRegistry{deploy: func(context.Context, string, io.Reader, func(string)) (api.Function, bool, error) {
				return api.Function{}, false, tt.err
			}}
			srv, _ := serve(t, reg)
			resp := do(t, http.MethodPost, srv.URL+deployPath, strings.NewReader("archive"))
			e := errorBody(t, resp, tt.status)
			if e.Code != tt.code || e.Field != tt.field || e.Message != tt.err.Error() {
				t.Errorf("error = %+v, want code %q field %q message %q", e, tt.code, tt.field, tt.err)
			}
			if got := resp.Header.Get("Retry-After"); got != tt.retry {
				t.Errorf("Retry-After = %q, want %q", got, tt.retry)
			}
			if got := reg.Calls(); !reflect.DeepEqual(got, []string{"Deploy hello"}) {
				t.Errorf("registry calls = %q, want one Deploy of hello", got)
			}
		})
	}
}

func TestDeployStreamsLogThenResult(t *testing.T) {
	for _, cached := range []bool{false, true} {
		t.Run(fmt.Sprintf("cached=%v", cached), func(t *testing.T) {
			want := sampleFunction("hello", 2)
			var got []byte
			reg := &fakeRegistry{deploy: func(_ context.Context, name string, src io.Reader, progress func(string)) (api.Function, bool, error) {
				var err error
				if got, err = io.ReadAll(src); err != nil {
					return api.Function{}, false, err
				}
				progress("Step 1/2 : FROM golang")
				progress("Step 2/2 : RUN go build")
				return want, cached, nil
			}}
			srv, _ := serve(t, reg)
			upload := []byte("\x1f\x8b gzip bytes of the function")
			events := readEvents(t, do(t, http.MethodPost, srv.URL+deployPath, bytes.NewReader(upload)))

			if !bytes.Equal(got, upload) {
				t.Errorf("registry read %q, want the upload %q", got, upload)
			}
			if len(events) != 3 {
				t.Fatalf("events = %+v, want 2 log lines and a result", events)
			}
			if lines := logLines(events[:2]); !reflect.DeepEqual(lines, []string{"Step 1/2 : FROM golang", "Step 2/2 : RUN go build"}) {
				t.Errorf("log lines = %q", lines)
			}
			res := events[2]
			if res.Type != api.EventResult || res.Function == nil || res.Error != nil || res.Cached != cached {
				t.Fatalf("last event = %+v, want a result with cached=%v", res, cached)
			}
			if !reflect.DeepEqual(*res.Function, want) {
				t.Errorf("result function =\n%+v\nwant\n%+v", *res.Function, want)
			}
		})
	}
}

func TestDeployWithoutProgressStillStreamsResult(t *testing.T) {
	reg := &fakeRegistry{deploy: func(context.Context, string, io.Reader, func(string)) (api.Function, bool, error) {
		return sampleFunction("hello", 1), true, nil
	}}
	srv, _ := serve(t, reg)
	events := readEvents(t, do(t, http.MethodPost, srv.URL+deployPath, strings.NewReader("archive")))
	if len(events) != 1 || events[0].Type != api.EventResult || !events[0].Cached {
		t.Errorf("events = %+v, want one cached result", events)
	}
}

// TestDeployFlushesEachLine proves the stream is a stream: the client reads the first log line
// while the build is still running.
func TestDeployFlushesEachLine(t *testing.T) {
	seen := make(chan struct{})
	reg := &fakeRegistry{deploy: func(ctx context.Context, _ string, _ io.Reader, progress func(string)) (api.Function, bool, error) {
		progress("building")
		select {
		case <-seen:
		case <-ctx.Done():
			return api.Function{}, false, ctx.Err()
		case <-time.After(10 * time.Second):
			return api.Function{}, false, errors.New("the client never saw the first line")
		}
		return sampleFunction("hello", 1), false, nil
	}}
	srv, _ := serve(t, reg)
	resp := do(t, http.MethodPost, srv.URL+deployPath, strings.NewReader("archive"))
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	if err != nil {
		t.Fatalf("read first line: %v", err)
	}
	close(seen)
	var ev api.DeployEvent
	if err := json.Unmarshal([]byte(line), &ev); err != nil || ev.Type != api.EventLog || ev.Line != "building" {
		t.Fatalf("first line %q (%v), want the log event \"building\"", line, err)
	}
	rest, _ := io.ReadAll(br)
	if !strings.Contains(string(rest), `"type":"result"`) {
		t.Errorf("rest of the stream %q has no result", rest)
	}
}

func TestDeployErrorAfterProgressEndsTheStream(t *testing.T) {
	for _, tt := range []struct {
		name    string
		err     error
		code    string
		field   string
		message string
	}{
		{"build failed", fmt.Errorf("build hello: %w: ./main.go:3: undefined: x", builder.ErrBuildFailed),
			api.CodeBuildFailed, "", "undefined: x"},
		{"docker went away", fmt.Errorf("build hello: %w", builder.ErrUnavailable),
			api.CodeUnavailable, "", "image builder unavailable"},
		{"unexpected", errors.New("disk full"), api.CodeInternal, "", "internal error: disk full"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			reg := &fakeRegistry{deploy: func(_ context.Context, _ string, _ io.Reader, progress func(string)) (api.Function, bool, error) {
				progress("Step 1/2 : FROM golang")
				progress("./main.go:3: undefined: x")
				return api.Function{}, false, tt.err
			}}
			srv, _ := serve(t, reg)
			events := readEvents(t, do(t, http.MethodPost, srv.URL+deployPath, strings.NewReader("archive")))
			if len(events) != 3 || len(logLines(events)) != 2 {
				t.Fatalf("events = %+v, want 2 log lines and an error", events)
			}
			last := events[2]
			if last.Type != api.EventError || last.Error == nil || last.Function != nil {
				t.Fatalf("last event = %+v, want an error event", last)
			}
			if last.Error.Code != tt.code || last.Error.Field != tt.field || !strings.Contains(last.Error.Message, tt.message) {
				t.Errorf("error = %+v, want code %q field %q message containing %q", *last.Error, tt.code, tt.field, tt.message)
			}
		})
	}
}

func TestDeployContentLengthOverLimit(t *testing.T) {
	reg := &fakeRegistry{deploy: func(context.Context, string, io.Reader, func(string)) (api.Function, bool, error) {
		return sampleFunction("hello", 1), false, nil
	}}
	srv, _ := serve(t, reg, func(d *httpapi.Deps) { d.MaxUploadBytes = 2 << 20 })

	// bytes.Reader gives the request a Content-Length.
	resp := do(t, http.MethodPost, srv.URL+deployPath, bytes.NewReader(make([]byte, 2<<20+1)))
	e := errorBody(t, resp, http.StatusRequestEntityTooLarge)
	if e.Code != api.CodeTooLarge || !strings.Contains(e.Message, "2 MiB") {
		t.Errorf("error = %+v, want too_large naming the 2 MiB limit", e)
	}
	if calls := reg.Calls(); len(calls) != 0 {
		t.Errorf("registry was called: %q", calls)
	}

	// Exactly at the limit is fine.
	events := readEvents(t, do(t, http.MethodPost, srv.URL+deployPath, bytes.NewReader(make([]byte, 2<<20))))
	if len(events) != 1 || events[0].Type != api.EventResult {
		t.Errorf("upload at the limit: events %+v, want a result", events)
	}
}

func TestDeployChunkedBodyOverLimit(t *testing.T) {
	var readErr error
	reg := &fakeRegistry{deploy: func(_ context.Context, _ string, src io.Reader, _ func(string)) (api.Function, bool, error) {
		_, readErr = io.Copy(io.Discard, src)
		if readErr != nil {
			return api.Function{}, false, fmt.Errorf("unpack upload: %w", readErr)
		}
		return sampleFunction("hello", 1), false, nil
	}}
	srv, _ := serve(t, reg, func(d *httpapi.Deps) { d.MaxUploadBytes = 1024 })

	// A reader of unknown length makes the client send the body chunked, without a
	// Content-Length, so only the server's read limit can catch it.
	body := io.MultiReader(strings.NewReader(strings.Repeat("x", 1000)), strings.NewReader(strings.Repeat("y", 1000)))
	e := errorBody(t, do(t, http.MethodPost, srv.URL+deployPath, body), http.StatusRequestEntityTooLarge)
	if e.Code != api.CodeTooLarge {
		t.Errorf("code = %q, want too_large", e.Code)
	}
	var mbe *http.MaxBytesError
	if !errors.As(readErr, &mbe) || mbe.Limit != 1024 {
		t.Errorf("registry's read error = %v, want an *http.MaxBytesError with limit 1024", readErr)
	}
}
