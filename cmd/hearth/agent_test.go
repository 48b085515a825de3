package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/hearthfn/hearth/agent/remote"
	"github.com/hearthfn/hearth/agent/remote/remotetest"
	"github.com/hearthfn/hearth/cli"
)

// execAgent runs `hearth agent args...` as main does and returns the exit code and the output.
func execAgent(t *testing.T, args ...string) (int, string) {
	t.Helper()
	root := &cobra.Command{Use: "hearth"}
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.AddCommand(newAgentCmd())
	code := cli.Execute(context.Background(), root, append([]string{"agent"}, args...))
	return code, out.String()
}

const testToken = "hjt_0123456789abcdef_" +
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef_" +
	"fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

func TestAgentRefusesBadFlags(t *testing.T) {
	t.Setenv(joinTokenEnv, "")
	dir := t.TempDir()
	ok := []string{"--server", "https://127.0.0.1:7947", "--data-dir", dir}
	for _, tc := range []struct {
		args []string
		env  string
		want string
	}{
		{args: []string{"--data-dir", dir}, want: "--server is required"},
		{args: []string{"--server", "http://127.0.0.1:7947"}, want: "https://HOST:PORT"},
		{args: []string{"--server", "https://hearth.example"}, want: "has no port"},
		{args: append(ok, "--join-token", "hjt_123"), want: "--join-token: malformed join token"},
		{args: ok, env: testToken[:40], want: joinTokenEnv + ": malformed join token"},
		{args: append(ok, "--advertise-addr", "0.0.0.0"), want: "--advertise-addr"},
		{args: append(ok, "--advertise-addr", "node-1.example"), want: "not a name"},
		{args: append(ok, "--advertise-addr", "10.0.0.1:8080"), want: "--advertise-addr"},
		{args: append(ok, "--label", "zone"), want: `--label "zone": want key=value`},
		{args: append(ok, "--label", "-zone=a"), want: "want key=value"},
		{args: append(ok, "--label", "zone=a", "--label", "zone=b"), want: "--label zone is given twice"},
		{args: append(ok, "--log-level", "loud"), want: "--log-level"},
		{args: append(ok, "extra"), want: "unknown command"},
		{args: append(ok, "--no-such-flag"), want: "unknown flag"},
	} {
		t.Setenv(joinTokenEnv, tc.env)
		if tc.env == "" {
			// An empty variable is no token; unset is the same.
			t.Setenv(joinTokenEnv, "")
		}
		code, out := execAgent(t, tc.args...)
		first, _, _ := strings.Cut(out, "\n")
		if code != cli.ExitUsage || !strings.HasPrefix(first, "Error: ") || !strings.Contains(first, tc.want) {
			t.Errorf("hearth agent %v: exit %d, %q; want exit 2 saying %q", tc.args, code, first, tc.want)
		}
		if strings.Contains(out, testToken[:40]) {
			t.Errorf("hearth agent %v printed the token: %s", tc.args, out)
		}
	}
}

func TestAgentNeedsATokenToJoin(t *testing.T) {
	t.Setenv(joinTokenEnv, "")
	code, out := execAgent(t, "--server", "https://127.0.0.1:1", "--data-dir", filepath.Join(t.TempDir(), "agent"))
	if code != cli.ExitError || !strings.Contains(out, "has not joined yet") || !strings.Contains(out, joinTokenEnv) {
		t.Fatalf("exit %d: %s", code, out)
	}
}

// TestAgentJoinRefused checks that a 401 of the server's is one line with its message and
// exit 1, from the token in the environment.
func TestAgentJoinRefused(t *testing.T) {
	ca, err := remotetest.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.ServerCert("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		remote.WriteError(w, http.StatusUnauthorized, remote.CodeJoinTokenExpired,
			"join token expired: join token 0123456789abcdef expired at 2026-12-01T10:00:00Z; make a new one with `hearth node token create`")
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	defer srv.Close()
	tok, err := remote.NewJoinToken(nil, ca.Pin())
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(joinTokenEnv, tok.String())
	code, out := execAgent(t, "--server", srv.URL, "--data-dir", filepath.Join(t.TempDir(), "agent"), "--log-level", "error")
	if code != cli.ExitError || strings.Count(out, "\n") != 1 ||
		!strings.Contains(out, "expired at 2026-12-01T10:00:00Z; make a new one with `hearth node token create` (join_token_expired)") {
		t.Fatalf("exit %d: %q", code, out)
	}
}

func TestAgentDriverPlugin(t *testing.T) {
	a := agentFlags{advertiseAddr: "10.0.0.12", instanceNetwork: "hearth",
		registry: registryFlags{addr: "registry.example.com:5000", username: "puller", passwordFile: "/etc/hearth/pw"}}
	nf := nodeFlags{instanceNetwork: a.instanceNetwork}
	cmd := nf.command("/usr/local/bin/hearth", "unix:///var/run/docker.sock", "info", a.driverArgs())("docker")
	args := strings.Join(cmd.Args, " ")
	for _, want := range []string{"__driver docker", "--network hearth", "--publish-addr 10.0.0.12",
		"--registry registry.example.com:5000", "--registry-username puller", "--registry-password-file /etc/hearth/pw"} {
		if !strings.Contains(args, want) {
			t.Errorf("the plugin's command line %q lacks %q", args, want)
		}
	}
	a.advertiseAddr = ""
	if args := strings.Join(a.driverArgs(), " "); strings.Contains(args, "--publish-addr") {
		t.Errorf("without --advertise-addr: %s", args)
	}
}
