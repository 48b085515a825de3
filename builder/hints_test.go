package builder

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestOfflineHint(t *testing.T) {
	tests := []struct {
		runtime string
		log     string
		want    string // a part of the hint; "" for none
	}{
		{"go", "handler.go:5:2: github.com/google/uuid@v1.6.0: module lookup disabled by GOPROXY=off", "go mod vendor"},
		{"go", "handler.go:5:2: no required module provides package github.com/google/uuid; to add it:", "go mod vendor"},
		{"go", "./handler.go:9:2: undefined: foo", ""},
		{"python", "ERROR: Could not find a version that satisfies the requirement left-pad (from versions: none)", "wheels/"},
		{"python", "ERROR: No matching distribution found for left-pad", "wheels/"},
		{"python", "WARNING: Retrying ... NewConnectionError: Failed to establish a new connection: [Errno 101] Network is unreachable", "wheels/"},
		{"python", "main.py:3:5: SyntaxError: invalid syntax", ""},
		{"node", "npm ERR! code EAI_AGAIN", "node_modules"},
		{"node", "npm ERR! errno ENOTFOUND", "node_modules"},
		{"node", "npm ERR! network request to https://registry.npmjs.org/left-pad failed, reason: connect ETIMEDOUT", "node_modules"},
		{"node", "npm ERR! code E404", ""},
		{"java", "[ERROR] Failed to execute goal on project x: Could not resolve dependencies for project", "lib/"},
		{"java", "Handler.java:3: error: ';' expected", ""},
		{"docker", "npm ERR! code EAI_AGAIN", "Dockerfile"},
		{"cobol", "npm ERR! code EAI_AGAIN", ""},
	}
	for _, tt := range tests {
		t.Run(tt.runtime+" "+tt.log, func(t *testing.T) {
			got := OfflineHint(tt.runtime, []string{"Step 3/7 : RUN build", tt.log, "done"})
			switch {
			case tt.want == "" && got != "":
				t.Errorf("hint %q, want none", got)
			case tt.want != "" && !strings.Contains(got, tt.want):
				t.Errorf("hint %q, want one that says %q", got, tt.want)
			case tt.want != "" && !strings.Contains(got, OfflineDoc):
				t.Errorf("hint %q does not link %s", got, OfflineDoc)
			}
		})
	}
}

func TestHintError(t *testing.T) {
	err := fmt.Errorf("deploy: %w", &HintError{Err: fmt.Errorf("build x: %w: exit 1", ErrBuildFailed), Hint: "hint: vendor"})
	if !errors.Is(err, ErrBuildFailed) {
		t.Errorf("%v does not wrap ErrBuildFailed", err)
	}
	if HintOf(err) != "hint: vendor" || HintOf(ErrBuildFailed) != "" {
		t.Errorf("HintOf = %q / %q", HintOf(err), HintOf(ErrBuildFailed))
	}
	if want := "deploy: build x: build failed: exit 1\nhint: vendor"; err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
}

func TestTrace(t *testing.T) {
	TraceFrom(context.Background())(Step{N: 1}) // no trace: a no-op, not a nil call
	var got []Step
	ctx := WithTrace(context.Background(), func(s Step) { got = append(got, s) })
	TraceFrom(ctx)(Step{N: 2, Name: "COPY . ."})
	if len(got) != 1 || got[0].N != 2 {
		t.Fatalf("trace got %+v", got)
	}
}
