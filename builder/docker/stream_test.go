package docker

import (
	"errors"
	"reflect"
	"strings"
	"testing"

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
			err := readBuildStream(strings.NewReader(tt.stream), func(l string) { lines = append(lines, l) })
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
	err := readBuildStream(strings.NewReader(`{"stream":"a\n"} not json`), nil)
	if err == nil || errors.Is(err, builder.ErrBuildFailed) {
		t.Fatalf("readBuildStream(garbage) = %v, want a decode error", err)
	}
}
