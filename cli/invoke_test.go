package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hearthfn/hearth/cli"
)

// echoed is what the fake "echo" function answers.
type echoed struct {
	Method      string   `json:"method"`
	Path        string   `json:"path"`
	Query       string   `json:"query"`
	ContentType string   `json:"content_type"`
	XTrace      []string `json:"x_trace"`
	Body        string   `json:"body"`
}

func TestInvoke(t *testing.T) {
	e := newEnv(t)
	if err := os.WriteFile(filepath.Join(e.opts.Dir, "body.bin"), []byte{0xff, 0x00}, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		stdin string
		args  []string
		want  echoed
	}{
		{"json data", "", []string{"-d", `{"name":"world"}`},
			echoed{Method: "POST", Path: "/invoke/echo", ContentType: "application/json", Body: `{"name":"world"}`}},
		{"no body", "", nil,
			echoed{Method: "GET", Path: "/invoke/echo"}},
		{"text with headers", "", []string{"-d", "hi", "-H", "X-Trace: 1", "-H", "X-Trace: a, b"},
			echoed{Method: "POST", Path: "/invoke/echo", ContentType: "text/plain; charset=utf-8", XTrace: []string{"1", "a, b"}, Body: "hi"}},
		{"method, path and content type", "", []string{"-X", "put", "--path", "/items/1?x=1&y=2", "--content-type", "text/csv", "-d", "a,b"},
			echoed{Method: "PUT", Path: "/invoke/echo/items/1", Query: "x=1&y=2", ContentType: "text/csv", Body: "a,b"}},
		{"piped stdin", "from a pipe", nil,
			echoed{Method: "POST", Path: "/invoke/echo", ContentType: "text/plain; charset=utf-8", Body: "from a pipe"}},
		{"file", "", []string{"-f", "body.bin"},
			echoed{Method: "POST", Path: "/invoke/echo", ContentType: "application/octet-stream", Body: "\ufffd\x00"}},
		{"stdin by name", "[1,2]", []string{"-f", "-"},
			echoed{Method: "POST", Path: "/invoke/echo", ContentType: "application/json", Body: "[1,2]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r result
			if tt.stdin != "" {
				r = e.runWithStdin(strings.NewReader(tt.stdin), append([]string{"invoke", "echo"}, tt.args...)...)
			} else {
				r = e.run(append([]string{"invoke", "echo"}, tt.args...)...)
			}
			r.wantCode(t, cli.ExitOK)
			var got echoed
			if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
				t.Fatalf("stdout is not the echo: %v\n%s", err, r.stdout)
			}
			if got.Method != tt.want.Method || got.Path != tt.want.Path || got.Query != tt.want.Query ||
				got.ContentType != tt.want.ContentType || got.Body != tt.want.Body ||
				strings.Join(got.XTrace, "|") != strings.Join(tt.want.XTrace, "|") {
				t.Errorf("function received %+v, want %+v", got, tt.want)
			}
			if r.stderr != "" {
				t.Errorf("stderr = %q", r.stderr)
			}
		})
	}
}

func TestInvokeFailures(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		msg    string
	}{
		{"unknown function", []string{"invoke", "nope"}, cli.ExitError, "", `function "nope" not found`},
		{"timeout", []string{"invoke", "slow", "-d", "x"}, cli.ExitError, "", "slow did not answer within 30s"},
		{"handler error", []string{"invoke", "crash"}, cli.ExitError, "", "handler panicked: nil map"},
		{"function's own non-2xx", []string{"invoke", "teapot"}, cli.ExitError, "I am short and stout\n", "teapot answered 418 I'm a teapot"},
		{"both bodies", []string{"invoke", "echo", "-d", "x", "-f", "y"}, cli.ExitUsage, "", ""},
		{"bad header", []string{"invoke", "echo", "-H", "NoColon"}, cli.ExitUsage, "", ""},
		{"no name", []string{"invoke"}, cli.ExitUsage, "", ""},
		{"missing file", []string{"invoke", "echo", "-f", "nope.json"}, cli.ExitError, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.run(tt.args...)
			r.wantCode(t, tt.code)
			if r.stdout != tt.stdout {
				t.Errorf("stdout = %q, want %q", r.stdout, tt.stdout)
			}
			if tt.msg != "" {
				r.wantError(t, tt.msg)
			}
			if !strings.HasPrefix(r.stderr, "Error: ") {
				t.Errorf("stderr = %q, want an Error line", r.stderr)
			}
			if usage := strings.Contains(r.stderr, "Usage:"); usage != (tt.code == cli.ExitUsage) {
				t.Errorf("usage shown = %v for exit code %d:\n%s", usage, tt.code, r.stderr)
			}
		})
	}
}
