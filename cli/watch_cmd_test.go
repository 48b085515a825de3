package cli_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hearthfn/hearth/cli"
	"github.com/hearthfn/hearth/internal/syncbuf"
)

// TestDeployWatch runs deploy --watch in-process against the fake server: the first deploy,
// a redeploy on a change, a failed build that does not end the watch, and Ctrl-C.
func TestDeployWatch(t *testing.T) {
	e := newEnv(t)
	e.writeFunc("echo", map[string]string{
		"func.yaml": "name: echo\nruntime: go\n",
		"main.go":   "package main // 1",
	})
	var out, errOut syncbuf.Buffer
	opts := e.opts
	opts.Stdout, opts.Stderr = &out, &errOut
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	code := make(chan int, 1)
	go func() {
		code <- cli.Execute(ctx, cli.NewRoot(opts), []string{"deploy", "--watch", "--dir", "echo", "--invoke-with", `{"n":1}`})
	}()
	waitFor := func(b *syncbuf.Buffer, want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(b.String(), want) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q in time\nstdout:\n%s\nstderr:\n%s", want, out.String(), errOut.String())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	edit := func(name, data string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(e.opts.Dir, "echo", name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	url := e.srv.URL + "/invoke/echo"
	// The first deploy shows its build log, then the URL and the call's answer.
	waitFor(&out, "deployed echo version 1 in 0.0s: "+url+"\n200 OK in 0s\n{")
	waitFor(&errOut, "Watching echo for changes (Ctrl-C stops)\n")
	waitFor(&out, `"body":"{\"n\":1}"`)
	if !strings.Contains(errOut.String(), "Step 2/2 : RUN go build\n") {
		t.Errorf("the first deploy shows no build log:\n%s", errOut.String())
	}

	edit("main.go", "package main // 2")
	waitFor(&out, "deployed echo version 2 in 0.0s: "+url+"\n")

	// A failed build prints the compiler's output and keeps watching.
	e.api.mu.Lock()
	e.api.buildFail = "./main.go:1:1: expected 'package'\n"
	e.api.mu.Unlock()
	edit("main.go", "pakage main")
	waitFor(&errOut, "./main.go:1:1: expected 'package'\ndeploy failed: the build of echo failed (see the build output above)\n")
	e.api.mu.Lock()
	e.api.buildFail = ""
	e.api.mu.Unlock()
	edit("main.go", "package main // 3")
	waitFor(&out, "deployed echo version 3 in 0.0s: ")

	// Redeploys print no build log.
	if n := strings.Count(errOut.String(), "Step 2/2"); n != 1 {
		t.Errorf("build log printed %d times, want once (the first deploy):\n%s", n, errOut.String())
	}
	cancel()
	select {
	case c := <-code:
		if c != cli.ExitOK {
			t.Fatalf("exit code after Ctrl-C = %d, want 0\nstderr:\n%s", c, errOut.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("deploy --watch did not stop when its context was cancelled")
	}
	if strings.Contains(errOut.String(), "Error:") {
		t.Errorf("stderr has an error after a clean stop:\n%s", errOut.String())
	}
}

func TestDeployWatchErrors(t *testing.T) {
	e := newEnv(t)
	e.writeFunc("fn", map[string]string{"func.yaml": "name: fn\nruntime: go\n"})
	r := e.run("deploy", "--dir", "fn", "--invoke-with", "x")
	r.wantCode(t, cli.ExitUsage)
	if !strings.HasPrefix(r.stderr, "Error: --invoke-with is for --watch: add --watch, or use hearth invoke\n") {
		t.Errorf("stderr = %q", r.stderr)
	}
	r = e.run("deploy", "--dir", "fn", "--watch", "-o", "json")
	r.wantCode(t, cli.ExitUsage)
	if !strings.HasPrefix(r.stderr, "Error: --watch prints one line per deploy: -o json is not available with it\n") {
		t.Errorf("stderr = %q", r.stderr)
	}
	// Nothing to watch: the same error as deploy, at once.
	r = e.run("deploy", "--dir", ".", "--watch")
	r.wantCode(t, cli.ExitError)
	r.wantError(t, "no func.yaml in .: deploy a function's directory (--dir), or create one with: hearth init --runtime RUNTIME NAME")
	if e.api.uploads != 0 {
		t.Errorf("uploads = %d, want 0", e.api.uploads)
	}
}
