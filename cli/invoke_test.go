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
		{"unknown function", []string{"invoke", "nope"}, cli.ExitError, "", `nope answered 404 Not Found (not_found): function "nope" not found`},
		{"timeout", []string{"invoke", "slow", "-d", "x"}, cli.ExitError, "", "slow answered 504 Gateway Timeout (timeout): slow did not answer within 30s"},
		{"handler error", []string{"invoke", "crash"}, cli.ExitError, "", "crash answered 500 Internal Server Error (handler_error): handler panicked: nil map"},
		{"path twice", []string{"invoke", "echo/a", "--path", "/b"}, cli.ExitUsage, "", ""},
		{"no name before the path", []string{"invoke", "/a"}, cli.ExitUsage, "", ""},
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

// TestInvokeTargetHeadAndJSON: the path and query may follow the name as in the URL; -i
// prints the status line and headers first; -o json prints the whole answer. (That a piped
// body is written byte for byte is TestInvokeFailures' exact stdout.)
func TestInvokeTargetHeadAndJSON(t *testing.T) {
	e := newEnv(t)

	r := e.run("invoke", "echo/items/1?x=1&y=2")
	r.wantCode(t, cli.ExitOK)
	var got echoed
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("stdout is not the echo: %v\n%s", err, r.stdout)
	}
	if got.Path != "/invoke/echo/items/1" || got.Query != "x=1&y=2" {
		t.Errorf("NAME/PATH?QUERY reached the function as %q ? %q", got.Path, got.Query)
	}
	r = e.run("invoke", "echo?x=1")
	r.wantCode(t, cli.ExitOK)
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || got.Path != "/invoke/echo" || got.Query != "x=1" {
		t.Errorf("NAME?QUERY: %+v (%v)", got, err)
	}

	r = e.run("invoke", "-i", "echo", "-d", "hi")
	r.wantCode(t, cli.ExitOK)
	head, body, ok := strings.Cut(r.stdout, "\n\n")
	if !ok || !strings.HasPrefix(head, "HTTP/1.1 200 OK\n") || !strings.Contains(head, "\nContent-Type: ") {
		t.Fatalf("-i printed %q", r.stdout)
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil || got.Body != "hi" {
		t.Errorf("-i: the body after the headers is %q (%v)", body, err)
	}

	r = e.run("invoke", "echo", "-o", "json", "-d", "hi")
	r.wantCode(t, cli.ExitOK)
	var ans struct {
		Status     int                 `json:"status"`
		Headers    map[string][]string `json:"headers"`
		Body       string              `json:"body"`
		DurationMS *float64            `json:"duration_ms"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &ans); err != nil {
		t.Fatalf("-o json printed %q: %v", r.stdout, err)
	}
	if ans.Status != 200 || len(ans.Headers["Content-Type"]) == 0 || ans.DurationMS == nil {
		t.Errorf("-o json: %+v", ans)
	}
	if err := json.Unmarshal([]byte(ans.Body), &got); err != nil || got.Body != "hi" {
		t.Errorf("-o json body %q (%v)", ans.Body, err)
	}

	// A failure in JSON: the answer is printed, and the command fails with the status and code.
	r = e.run("invoke", "nope", "-o", "json")
	r.wantCode(t, cli.ExitError)
	if !strings.Contains(r.stdout, `"status": 404`) {
		t.Errorf("-o json of a failed call printed %q", r.stdout)
	}
	r.wantError(t, `nope answered 404 Not Found (not_found): function "nope" not found`)
}
