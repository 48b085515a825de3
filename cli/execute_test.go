package cli_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/hearthfn/hearth/cli"
)

func TestUnreachableServer(t *testing.T) {
	e := newEnv(t)
	down := httptest.NewServer(nil)
	down.Close()
	e.opts.Getenv = func(k string) string {
		if k == "HEARTH_API" {
			return down.URL
		}
		return ""
	}
	for _, args := range [][]string{{"list"}, {"inspect", "x"}, {"delete", "x"}, {"invoke", "x"}} {
		r := e.run(args...)
		r.wantCode(t, cli.ExitError)
		r.wantError(t, "cannot reach the hearth server at "+down.URL+": is it running? (set HEARTH_API)")
	}

	// --api wins over HEARTH_API.
	e.run("list", "--api", e.srv.URL).wantCode(t, cli.ExitOK)
}

func TestBadServerURL(t *testing.T) {
	e := newEnv(t)
	e.opts.Getenv = func(string) string { return "localhost:8080" }
	r := e.run("list")
	r.wantCode(t, cli.ExitError)
	r.wantError(t, `HEARTH_API: invalid server URL "localhost:8080": want an address like http://127.0.0.1:8080`)

	r = e.run("list", "--api", "nope")
	r.wantError(t, `--api: invalid server URL "nope": want an address like http://127.0.0.1:8080`)
}

// recordingTransport answers every request itself and records its URL, so that a test can
// see where a request would have gone without any network.
type recordingTransport struct{ urls []string }

func (rt *recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rt.urls = append(rt.urls, r.URL.String())
	return &http.Response{
		StatusCode: 200,
		Header:     http.Header{"Content-Type": {"application/json"}},
		Body:       io.NopCloser(strings.NewReader(`{"version":"v0"}`)),
		Request:    r,
	}, nil
}

func TestDefaultServerURL(t *testing.T) {
	e := newEnv(t)
	e.opts.Getenv = nil
	rt := &recordingTransport{}
	e.opts.HTTPClient = &http.Client{Transport: rt}
	e.run("version").wantCode(t, cli.ExitOK)
	if len(rt.urls) != 1 || rt.urls[0] != cli.DefaultAPI+"/v1/info" {
		t.Errorf("requests = %v, want %s/v1/info", rt.urls, cli.DefaultAPI)
	}
}

func TestUsageErrors(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		args []string
		msg  string
	}{
		{[]string{"lst"}, `Error: unknown command "lst" for "hearth": did you mean "list"?`},
		{[]string{"list", "--bogus"}, "Error: unknown flag: --bogus"},
		{[]string{"--bogus"}, "Error: unknown flag: --bogus"},
		{[]string{"inspect"}, "Error: hearth inspect needs NAME"},
		{[]string{"delete", "a", "b"}, `Error: hearth delete takes 1 argument(s), got extra "b"`},
		{[]string{"list", "extra"}, `Error: hearth list takes 0 argument(s), got extra "extra"`},
	}
	for _, tt := range tests {
		r := e.run(tt.args...)
		r.wantCode(t, cli.ExitUsage)
		if !strings.HasPrefix(r.stderr, tt.msg+"\n\nUsage:") {
			t.Errorf("%v: stderr = %q, want %q then usage", tt.args, r.stderr, tt.msg)
		}
	}
}

func TestHelp(t *testing.T) {
	e := newEnv(t)
	for _, args := range [][]string{nil, {"--help"}, {"help", "deploy"}, {"deploy", "-h"}} {
		r := e.run(args...)
		r.wantCode(t, cli.ExitOK)
		if !strings.Contains(r.stdout, "Usage:") || r.stderr != "" {
			t.Errorf("%v: stdout %q, stderr %q", args, r.stdout, r.stderr)
		}
	}
	r := e.run("--version")
	r.wantCode(t, cli.ExitOK)
	if !strings.Contains(r.stdout, "v1.0.0-test") {
		t.Errorf("--version printed %q", r.stdout)
	}
}

// TestAttachedCommands checks that commands added by cmd/hearth get the same error handling.
func TestAttachedCommands(t *testing.T) {
	var out, errOut bytes.Buffer
	root := cli.NewRoot(cli.Options{Stdout: &out, Stderr: &errOut})
	root.AddCommand(
		&cobra.Command{Use: "server", Args: cobra.NoArgs, RunE: func(*cobra.Command, []string) error {
			return errors.New("listen tcp :8080: address already in use\n(is another server running?)")
		}},
		&cobra.Command{Use: "boom", Run: func(*cobra.Command, []string) { panic("nil map") }},
		&cobra.Command{Use: "stop", RunE: func(*cobra.Command, []string) error { return context.Canceled }},
	)
	tests := []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"server"}, cli.ExitError, "Error: listen tcp :8080: address already in use (is another server running?)\n"},
		{[]string{"boom"}, cli.ExitError, "Error: internal error (a bug in hearth, please report it): nil map\n"},
		{[]string{"stop"}, cli.ExitInterrupted, "Error: interrupted\n"},
	}
	for _, tt := range tests {
		errOut.Reset()
		if code := cli.Execute(context.Background(), root, tt.args); code != tt.code {
			t.Errorf("%v: exit code %d, want %d", tt.args, code, tt.code)
		}
		if errOut.String() != tt.stderr {
			t.Errorf("%v: stderr = %q, want %q", tt.args, errOut.String(), tt.stderr)
		}
	}
	// Running the same tree again must not wrap the hooks twice or change the outcome.
	errOut.Reset()
	if code := cli.Execute(context.Background(), root, []string{"server", "x"}); code != cli.ExitUsage {
		t.Errorf("server x: exit code %d, want %d (%s)", code, cli.ExitUsage, errOut.String())
	}
}
