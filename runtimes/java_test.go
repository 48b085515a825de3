package runtimes

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/hearthfn/hearth/internal/syncbuf"
	"github.com/hearthfn/hearth/runtimes/contract"
	"github.com/hearthfn/hearth/runtimes/contract/contracttest"
)

// These tests compile the java runtime's shim, as Render gives it, and the function with the
// machine's JDK 17 (javac, jar) and run it with its java, the way the image does: jars, the
// image's JAVA_OPTS, hearth.Shim as the main class. So the function contract and the runtime's
// own promises are checked on every `go test` without Docker; e2e/runtime_java_test.go builds
// the real images.

// javaProbe exercises the parts of the API and the contract that contracttest does not. It is
// in a package and in src/, so the tests also cover package-qualified handler names and the
// "every .java file, whatever the folder" rule.
const javaProbe = `package com.example;

import hearth.Context;
import hearth.Handler;
import hearth.Request;
import hearth.Response;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;

public class Probe implements Handler, AutoCloseable {
    private final CyclicBarrier together = new CyclicBarrier(8);

    @Override
    public Response handle(Request req, Context ctx) throws Exception {
        switch (req.path()) {
            case "/request":
                return Response.ok(req.method() + " " + req.path() + " raw=" + req.rawQuery()
                        + " a=" + req.query().get("a") + " b=" + req.query("b") + " none=" + req.query("none")
                        + " mixed=" + req.header("x-MIXED-case") + " multi=" + req.headers().get("x-multi")
                        + " text=" + req.text() + " len=" + req.body().length);
            case "/context":
                return Response.ok("id=" + ctx.callId() + " deadline=" + ctx.deadline()
                        + " remaining=" + (ctx.remaining() == null ? "none" : ctx.remaining().isZero() ? "zero" : "some")
                        + " conf=" + ctx.config("PROBE_CONF") + " missing=" + ctx.config("NOPE", "fallback")
                        + " greeting=" + Greeting.of("Ada"));
            case "/log":
                ctx.log("hello from the handler");
                return Response.ok("logged");
            case "/null":
                return null;
            case "/empty":
                return Response.empty(204);
            case "/json":
                return Response.json(201, "{\"ok\":true}");
            case "/bytes":
                return Response.ok(new byte[] {1, 2, 3});
            case "/headers":
                return Response.ok("h").header("X-One", "1").header("x-one", "one")
                        .addHeader("Set-Cookie", "a=1").addHeader("Set-Cookie", "b=2")
                        .header("Content-Length", "999").header("Hearth-Call-Id", "mine");
            case "/bad-header":
                return Response.ok("x").header("X-Bad", "a\r\nInjected: yes");
            case "/bad-status":
                return Response.of(42, "x");
            case "/error":
                throw new AssertionError("an Error, not an Exception");
            case "/together":
                together.await(20, TimeUnit.SECONDS);
                return Response.ok("together");
            case "/slow":
                System.out.println("slow call started");
                Thread.sleep(Long.parseLong(req.query("ms")));
                return Response.ok("done");
            default:
                return Response.of(404, "no " + req.path());
        }
    }

    @Override
    public void close() {
        System.out.println("probe closed");
    }
}
`

const javaGreeting = `package com.example;

final class Greeting {
    static String of(String name) {
        return "Hello," + name;
    }
}
`

// javaTool finds one of the JDK's commands; the tests fail, never skip, without it.
func javaTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("the java runtime's shim tests need JDK 17's %s on PATH (Debian: openjdk-17-jdk-headless): %v", name, err)
	}
	return p
}

var javaOptsRe = regexp.MustCompile(`JAVA_OPTS="([^"]*)"`)

// javaBuild runs the shim's build.sh, as the image's build stage does, with the machine's JDK:
// the shim and the function in dir are compiled into jars and the class path is written to an
// argument file, returned with the image's JAVA_OPTS. handler ("" for the default) must pass
// build.sh's check. dir is copied first, so that nothing is written next to it.
func javaBuild(t *testing.T, dir, handler string) (argsFile string, opts []string) {
	t.Helper()
	javaTool(t, "javac")
	javaTool(t, "jar")
	rt := lookup(t, "java")
	d, err := rt.PrepareSource(Source{Function: "probe", Handler: handler, FS: os.DirFS(dir)})
	if err != nil {
		t.Fatal(err)
	}
	files, err := rt.Render(d)
	if err != nil {
		t.Fatal(err)
	}
	m := javaOptsRe.FindSubmatch(files[0].Data)
	if m == nil {
		t.Fatalf("the rendered Dockerfile sets no JAVA_OPTS:\n%s", files[0].Data)
	}
	opts = strings.Fields(string(m[1]))

	out, src := t.TempDir(), filepath.Join(t.TempDir(), "function")
	if err := os.CopyFS(src, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	for _, f := range files[1:] { // the Dockerfile is for Docker only
		rel, ok := strings.CutPrefix(f.Path, rt.ShimDir+"/")
		if !ok {
			t.Fatalf("rendered file %s is outside the shim folder %s", f.Path, rt.ShimDir)
		}
		p := filepath.Join(out, "shim", filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Data, f.Mode); err != nil {
			t.Fatal(err)
		}
	}
	script := filepath.Join(out, "shim", "build.sh")
	for _, step := range []string{"shim", "function"} {
		cmd := exec.Command("sh", script, step)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HEARTH_OUT=" + out, "HEARTH_SRC=" + src, "HEARTH_HANDLER=" + d.Handler}
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build.sh %s: %v\n%s", step, err, b)
		}
	}
	return filepath.Join(out, "app.args"), opts
}

// javaCommand is `java $JAVA_OPTS extra... @app.args args...` in dir, as the image's
// entrypoint runs it, with env.
func javaCommand(t *testing.T, dir, argsFile string, opts, extra, env []string, args ...string) (*exec.Cmd, *syncbuf.Buffer) {
	t.Helper()
	argv := append(append(append([]string{}, opts...), extra...), "@"+argsFile)
	cmd := exec.Command(javaTool(t, "java"), append(argv, args...)...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	out := &syncbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	return cmd, out
}

// javaProcess is the shim serving a function.
// startJava builds the function in dir and serves it; handler "" is the default. It returns
// once GET /_/ready answers 200.
func startJava(t *testing.T, dir, handler string, env ...string) *shimProc {
	t.Helper()
	args, opts := javaBuild(t, dir, handler)
	return startJavaBuilt(t, dir, args, opts, nil, handler, env...)
}

func startJavaBuilt(t *testing.T, dir, argsFile string, opts, extra []string, handler string, env ...string) *shimProc {
	t.Helper()
	port := freePort(t)
	env = append([]string{fmt.Sprintf("PORT=%d", port)}, env...)
	if handler != "" {
		env = append(env, "HEARTH_HANDLER="+handler)
	}
	cmd, out := javaCommand(t, dir, argsFile, opts, extra, env)
	return startShim(t, cmd, out, port, 20*time.Second)
}

func writeJavaProbe(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"src/com/example/Probe.java":    javaProbe,
		"src/com/example/Greeting.java": javaGreeting,
	})
	return dir
}

// platformHeaders adds what the platform's front door adds to every call: a call id and a
// deadline.
type platformHeaders struct{}

func (platformHeaders) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	id := make([]byte, 8)
	_, _ = rand.Read(id)
	r.Header.Set(contract.HeaderCallID, hex.EncodeToString(id))
	r.Header.Set(contract.HeaderDeadline, time.Now().Add(time.Minute).UTC().Format(time.RFC3339Nano))
	return http.DefaultTransport.RoundTrip(r)
}

// TestJavaContract runs the conformance suite on the runtime's contract function (the cut-off
// at the timeout is the platform's, so it is left to the end-to-end test).
func TestJavaContract(t *testing.T) {
	t.Parallel()
	p := startJava(t, filepath.Join("java", "testdata", "contract"), "", "CONTRACT_ENV="+contracttest.EnvValue)
	contracttest.Run(t, p.url, contracttest.Options{Client: &http.Client{Transport: platformHeaders{}, Timeout: time.Minute}})
}

func TestJavaScaffold(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := lookup(t, "java").WriteScaffold(dir, "hello"); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"func.yaml", "Handler.java", ".hearthignore"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatalf("the scaffold has no %s: %v", f, err)
		}
	}
	p := startJava(t, dir, "")
	for _, tt := range []struct {
		body   string
		status int
		want   string
	}{
		{`{"name":"Ada"}`, 200, "Hello, Ada!"},
		{`{ "name" : "Grace \"Amazing\" Hopper", "x": 1 }`, 200, `Hello, Grace "Amazing" Hopper!`},
		{"", 200, "Hello, world!"},
		{`{"name":""}`, 200, "Hello, world!"},
		{"not json", 400, `send JSON such as {"name": "Ada"}`},
	} {
		resp, got := p.callText(t, http.MethodPost, "/", tt.body, "Content-Type", "application/json")
		if resp.StatusCode != tt.status || got != tt.want {
			t.Errorf("POST %q = %d %q, want %d %q", tt.body, resp.StatusCode, got, tt.status, tt.want)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
			t.Errorf("POST %q: Content-Type %q", tt.body, ct)
		}
	}
}

func TestJavaShim(t *testing.T) {
	t.Parallel()
	dir := writeJavaProbe(t)
	p := startJava(t, dir, "com.example.Probe", "PROBE_CONF=from-env")

	t.Run("Request", func(t *testing.T) {
		_, got := p.callText(t, http.MethodPut, "/request?a=1&a=2&b=two%20words&b=x+y", "héllo",
			"X-Mixed-Case", "yes", "X-Multi", "1", "X-Multi", "2")
		want := "PUT /request raw=a=1&a=2&b=two%20words&b=x+y a=[1, 2] b=two words none=null mixed=yes " +
			"multi=[1, 2] text=héllo len=6"
		if got != want {
			t.Errorf("got  %q\nwant %q", got, want)
		}
	})

	t.Run("Context", func(t *testing.T) {
		deadline := "2099-01-02T03:04:05.123456789Z"
		resp, got := p.callText(t, http.MethodGet, "/context", "", contract.HeaderCallID, "call-1", contract.HeaderDeadline, deadline)
		want := "id=call-1 deadline=" + deadline + " remaining=some conf=from-env missing=fallback greeting=Hello,Ada"
		if got != want || resp.Header.Get(contract.HeaderCallID) != "call-1" {
			t.Errorf("got %q (call id header %q)\nwant %q", got, resp.Header.Get(contract.HeaderCallID), want)
		}
		// An offset instead of Z is RFC 3339 too.
		_, got = p.callText(t, http.MethodGet, "/context", "", contract.HeaderDeadline, "2000-01-01T01:00:00+01:00")
		if !strings.HasPrefix(got, "id= deadline=2000-01-01T00:00:00Z remaining=zero") {
			t.Errorf("past deadline with an offset: %q", got)
		}
		_, got = p.callText(t, http.MethodGet, "/context", "", contract.HeaderDeadline, "tomorrow")
		if !strings.HasPrefix(got, "id= deadline=null remaining=none") {
			t.Errorf("malformed deadline: %q", got)
		}
		p.waitLog(t, `level=WARN msg="ignoring a malformed deadline" call_id="" value=tomorrow`)
	})

	t.Run("Responses", func(t *testing.T) {
		resp, got := p.callText(t, http.MethodGet, "/null", "")
		if resp.StatusCode != 200 || got != "" {
			t.Errorf("null response = %d %q, want 200 and no body", resp.StatusCode, got)
		}
		resp, got = p.callText(t, http.MethodGet, "/empty", "")
		if resp.StatusCode != 204 || got != "" {
			t.Errorf("Response.empty(204) = %d %q", resp.StatusCode, got)
		}
		resp, got = p.callText(t, http.MethodPost, "/json", "")
		if resp.StatusCode != 201 || got != `{"ok":true}` || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("Response.json = %d %q %q", resp.StatusCode, got, resp.Header.Get("Content-Type"))
		}
		resp, got = p.callText(t, http.MethodGet, "/bytes", "")
		if resp.StatusCode != 200 || got != "\x01\x02\x03" || resp.Header.Get("Content-Type") != "application/octet-stream" {
			t.Errorf("Response.ok(byte[]) = %d %q %q", resp.StatusCode, got, resp.Header.Get("Content-Type"))
		}
		resp, got = p.callText(t, http.MethodGet, "/headers", "", contract.HeaderCallID, "c")
		if got != "h" || resp.ContentLength != 1 || resp.Header.Values("X-One")[0] != "one" ||
			len(resp.Header.Values("X-One")) != 1 || strings.Join(resp.Header.Values("Set-Cookie"), ",") != "a=1,b=2" ||
			resp.Header.Get(contract.HeaderCallID) != "mine" {
			t.Errorf("headers: %q, length %d, %v", got, resp.ContentLength, resp.Header)
		}
		resp, got = p.callText(t, http.MethodHead, "/request", "")
		if resp.StatusCode != 200 || got != "" {
			t.Errorf("HEAD = %d %q", resp.StatusCode, got)
		}
		resp, got = p.callText(t, http.MethodGet, "/nope", "")
		if resp.StatusCode != 404 || got != "no /nope" || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
			t.Errorf("Response.of(404, ...) = %d %q %q", resp.StatusCode, got, resp.Header.Get("Content-Type"))
		}
	})

	t.Run("Failures", func(t *testing.T) {
		for path, want := range map[string]string{
			"/error":      "java.lang.AssertionError: an Error, not an Exception",
			"/bad-header": "java.lang.IllegalArgumentException",
			"/bad-status": "java.lang.IllegalArgumentException: HTTP status 42 is not between 200 and 599",
		} {
			resp, got := p.callText(t, http.MethodPost, path, "", contract.HeaderCallID, "fail-"+path[1:])
			var eb contract.ErrorBody
			if err := json.Unmarshal([]byte(got), &eb); err != nil || resp.StatusCode != 500 ||
				eb.Error.Code != contract.CodeHandlerError || !strings.Contains(eb.Error.Message, want) {
				t.Errorf("%s = %d %q (%v), want 500 handler_error with %q", path, resp.StatusCode, got, err, want)
			}
			if resp.Header.Get(contract.HeaderFailed) != "true" || resp.Header.Get("Content-Type") != "application/json" ||
				resp.Header.Get(contract.HeaderCallID) != "fail-"+path[1:] || resp.Header.Get("X-Bad") != "" {
				t.Errorf("%s: headers %v", path, resp.Header)
			}
		}
		// The stack trace is logged, without the frames below the handler, and never sent.
		p.waitLog(t, `level=ERROR msg="handler threw" call_id=fail-error error="java.lang.AssertionError: an Error, not an Exception" `+
			`stack="java.lang.AssertionError: an Error, not an Exception\n\tat com.example.Probe.handle(Probe.java:`+
			fmt.Sprint(strings.Count(javaProbe[:strings.Index(javaProbe, "throw new AssertionError")], "\n")+1)+`)"`+"\n")
		// The instance still serves; the platform decides to replace it.
		if resp, got := p.callText(t, http.MethodGet, "/null", ""); resp.StatusCode != 200 || got != "" {
			t.Errorf("after the failures: %d %q", resp.StatusCode, got)
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		// Eight calls meet at a barrier: each returns only once all eight are in the handler.
		var wg sync.WaitGroup
		errs := make(chan string, 8)
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := http.Get(p.url + "/together")
				if err != nil {
					errs <- err.Error()
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || string(b) != "together" {
					errs <- fmt.Sprintf("%d %q", resp.StatusCode, b)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Error(e)
		}
	})

	t.Run("Log", func(t *testing.T) {
		p.callText(t, http.MethodGet, "/log", "", contract.HeaderCallID, "log-1")
		for _, want := range []string{
			`level=INFO msg=function call_id=log-1 message="hello from the handler"`,
			`level=INFO msg=call call_id=log-1 method=GET path=/log status=200 duration=`,
			`level=ERROR msg=call call_id=fail-error method=POST path=/error status=500 duration=`,
		} {
			p.waitLog(t, want)
		}
		out := p.out.String()
		if n := strings.Count(out, "call_id=log-1 method=GET path=/log"); n != 1 {
			t.Errorf("%d call lines for one call", n)
		}
		if strings.Contains(out, "_/ready") {
			t.Errorf("the readiness check is logged as a call:\n%s", out)
		}
	})
}

// TestJavaShutdown: SIGTERM stops new connections, lets the call in flight finish, closes an
// AutoCloseable handler, and ends the process.
func TestJavaShutdown(t *testing.T) {
	t.Parallel()
	p := startJava(t, writeJavaProbe(t), "com.example.Probe")
	slow := p.getLater("/slow?ms=1500")
	waitFor(t, func() bool { return strings.Contains(p.out.String(), "slow call started") })
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return strings.Contains(p.out.String(), `msg="shutting down" in_flight=1`) })
	// New connections are refused while the call finishes.
	waitFor(t, func() bool {
		c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: time.Second}
		resp, err := c.Get(p.url + contract.ReadyPath)
		if err == nil {
			resp.Body.Close()
		}
		return err != nil
	})
	select {
	case r := <-slow:
		if r.err != nil || r.status != 200 || r.body != "done" {
			t.Fatalf("the call in flight at SIGTERM: %d %q %v", r.status, r.body, r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the call in flight did not finish")
	}
	// The JVM's status after SIGTERM is 143 (128 + 15) once the shutdown hooks have run.
	if code := exitCode(t, p.exited(t, 10*time.Second)); code != 0 && code != 143 {
		t.Errorf("exit code %d after SIGTERM, want 143", code)
	}
	out := p.out.String()
	iCall := strings.Index(out, "path=/slow status=200")
	iClosed := strings.Index(out, "probe closed")
	iStopped := strings.Index(out, "msg=stopped")
	if iCall < 0 || iClosed < iCall || iStopped < iClosed {
		t.Errorf("want the slow call, then the handler closed, then stopped:\n%s", out)
	}
}

// TestJavaStartFailures: a handler that cannot be made stops the process before it is ready,
// with one log line saying what to change; --check (the image build runs it) says the same
// without running any code of the function.
func TestJavaStartFailures(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"NotAHandler.java": "public class NotAHandler { }\n",
		"NeedsArgs.java": "public class NeedsArgs implements hearth.Handler {\n" +
			"  public NeedsArgs(String s) { }\n" +
			"  public hearth.Response handle(hearth.Request r, hearth.Context c) { return null; }\n}\n",
		"Throws.java": "public class Throws implements hearth.Handler {\n" +
			"  public Throws() { throw new IllegalStateException(\"no database\"); }\n" +
			"  public hearth.Response handle(hearth.Request r, hearth.Context c) { return null; }\n}\n",
		"Abstract.java": "public abstract class Abstract implements hearth.Handler { }\n",
		"Quiet.java": "class Quiet implements hearth.Handler {\n" +
			"  static { System.out.println(\"static init ran\"); }\n" +
			"  public hearth.Response handle(hearth.Request r, hearth.Context c) { return hearth.Response.ok(\"q\"); }\n}\n",
	})
	args, opts := javaBuild(t, dir, "Quiet")
	for _, tt := range []struct {
		handler, check, serve string
	}{
		{"Handler", "no class Handler in the function", ""},
		{"com.example.Missing", "no class com.example.Missing in the function", ""},
		{"Handler.java", "looks like a file; name the class instead", ""},
		{"NotAHandler", "class NotAHandler does not implement hearth.Handler", ""},
		{"NeedsArgs", "class NeedsArgs has no constructor without arguments", ""},
		{"Abstract", "class Abstract is abstract", ""},
		{"Throws", "", "the constructor of Throws threw java.lang.IllegalStateException: no database"},
	} {
		t.Run(tt.handler, func(t *testing.T) {
			t.Parallel()
			env := []string{"HEARTH_HANDLER=" + tt.handler, fmt.Sprintf("PORT=%d", freePort(t))}
			for _, mode := range []string{"--check", ""} {
				want := tt.check
				if want == "" && mode == "" {
					want = tt.serve
				}
				var extra []string
				if mode != "" {
					extra = append(extra, mode)
				}
				cmd, out := javaCommand(t, dir, args, opts, nil, env, extra...)
				err := runToEnd(t, cmd, 20*time.Second)
				if want == "" {
					if err != nil || !strings.Contains(out.String(), "is a hearth.Handler") {
						t.Errorf("%s: %v\n%s", mode, err, out)
					}
					continue
				}
				if err == nil || !strings.Contains(out.String(), want) || !strings.Contains(out.String(), "level=ERROR msg=\"cannot start\"") {
					t.Errorf("java hearth.Shim %s with handler %s: %v, want a failure saying %q:\n%s", mode, tt.handler, err, want, out)
				}
			}
		})
	}

	t.Run("CheckRunsNoCode", func(t *testing.T) {
		t.Parallel()
		cmd, out := javaCommand(t, dir, args, opts, nil, []string{"HEARTH_HANDLER=Quiet"}, "--check")
		if err := runToEnd(t, cmd, 20*time.Second); err != nil || strings.Contains(out.String(), "static init ran") ||
			!strings.Contains(out.String(), "handler Quiet is a hearth.Handler") {
			t.Errorf("--check of a package-private class with a static initializer: %v\n%s", err, out)
		}
	})

	t.Run("BadPort", func(t *testing.T) {
		t.Parallel()
		cmd, out := javaCommand(t, dir, args, opts, nil, []string{"HEARTH_HANDLER=Quiet", "PORT=http"})
		if err := runToEnd(t, cmd, 20*time.Second); err == nil || !strings.Contains(out.String(), "PORT=http is not a port number") {
			t.Errorf("PORT=http: %v\n%s", err, out)
		}
	})
}

// TestJavaBuild runs build.sh on a function with a jar in lib/ (made here), a file in
// resources/ and its handler in a folder whose name has a space: the jar is on the class path
// at compile and run time, the resource in function.jar.
func TestJavaBuild(t *testing.T) {
	t.Parallel()
	javac, jar := javaTool(t, "javac"), javaTool(t, "jar")
	dep := t.TempDir()
	writeFiles(t, dep, map[string]string{"org/shout/Shout.java": `package org.shout;
public final class Shout {
    public static String shout(String s) { return s.toUpperCase() + "!"; }
}
`})
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"resources/greeting.txt": "hello",
		"my src/Handler.java": `import hearth.*;
public class Handler implements hearth.Handler {
    public Response handle(Request req, Context ctx) throws Exception {
        try (var in = Handler.class.getResourceAsStream("/greeting.txt")) {
            return Response.ok(org.shout.Shout.shout(new String(in.readAllBytes()) + " " + req.text()));
        }
    }
}
`,
		"lib/notes.txt": "not a jar",
	})
	for _, cmd := range [][]string{
		{javac, "--release", "17", "-d", filepath.Join(dep, "classes"), filepath.Join(dep, "org", "shout", "Shout.java")},
		{jar, "--create", "--file", filepath.Join(dir, "lib", "shout.jar"), "-C", filepath.Join(dep, "classes"), "."},
	} {
		if out, err := exec.Command(cmd[0], cmd[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(cmd, " "), err, out)
		}
	}
	p := startJava(t, dir, "")
	if resp, got := p.callText(t, http.MethodPost, "/", "ada"); resp.StatusCode != 200 || got != "HELLO ADA!" {
		t.Fatalf("call = %d %q, want the jar's shout of the resource", resp.StatusCode, got)
	}
}

// TestJavaTrain: the image build's training run records a class data sharing archive that a
// start with -Xshare:on (which fails rather than ignore an unusable archive) can map.
func TestJavaTrain(t *testing.T) {
	t.Parallel()
	dir := writeJavaProbe(t)
	args, opts := javaBuild(t, dir, "com.example.Probe")
	jsa := filepath.Join(t.TempDir(), "app.jsa")
	cmd, out := javaCommand(t, dir, args, opts, []string{"-XX:ArchiveClassesAtExit=" + jsa}, []string{"HEARTH_HANDLER=com.example.Probe"}, "--train")
	if err := runToEnd(t, cmd, 30*time.Second); err != nil || !strings.Contains(out.String(), "msg=trained handler=com.example.Probe") {
		t.Fatalf("--train: %v\n%s", err, out)
	}
	if strings.Contains(out.String(), "msg=call") || strings.Contains(out.String(), "training failure") {
		t.Errorf("the training run logs its calls:\n%s", out)
	}
	if fi, err := os.Stat(jsa); err != nil || fi.Size() == 0 {
		t.Fatalf("no archive: %v", err)
	}
	p := startJavaBuilt(t, dir, args, opts, []string{"-XX:SharedArchiveFile=" + jsa, "-Xshare:on"}, "com.example.Probe")
	if resp, got := p.callText(t, http.MethodGet, "/json", ""); resp.StatusCode != 201 || got != `{"ok":true}` {
		t.Fatalf("with the archive: %d %q", resp.StatusCode, got)
	}
}

// TestJavaRender checks the Dockerfile the java runtime renders for the choices a function's
// source makes: the handler, pom.xml (refused with the fix), the operator's images.
func TestJavaRender(t *testing.T) {
	rt := lookup(t, "java")
	if rt.Version != "17" || rt.DefaultHandler != "Handler" || rt.BuildImage != "hearth/java-build:17" ||
		rt.RunImage != "hearth/java:17" || len(rt.Images) != 2 || rt.Images[0].Tag != rt.BuildImage ||
		rt.Images[1].Tag != rt.RunImage {
		t.Fatalf("runtime = %+v; the run image is jlinked from the build image, so the build image comes first", rt)
	}
	dockerfile := func(src fstest.MapFS, s Source) string {
		t.Helper()
		s.Function, s.FS = "fn", src
		files := render(t, rt, s)
		var shim []string
		for _, f := range files[1:] {
			shim = append(shim, f.Path)
		}
		if got := strings.Join(shim, " "); !strings.Contains(got, ".hearth/shim/hearth/Handler.java") ||
			!strings.Contains(got, ".hearth/shim/hearth/Shim.java") {
			t.Errorf("shim files = %s", got)
		}
		return string(files[0].Data)
	}

	df := dockerfile(fstest.MapFS{"Handler.java": {}}, Source{CABundle: true})
	for _, want := range []string{"FROM hearth/java-build:17 AS build", "\nFROM hearth/java:17\n",
		`ENV HEARTH_HANDLER="Handler"`, "COPY .hearth/shim/ /opt/hearth/shim/", "RUN sh /opt/hearth/shim/build.sh shim\n",
		"RUN sh /opt/hearth/shim/build.sh function\n",
		"-XX:ArchiveClassesAtExit=/opt/hearth/app.jsa", "USER 65534:65534",
		`ENTRYPOINT ["/bin/sh", "-c", "exec java -XX:SharedArchiveFile=/opt/hearth/app.jsa -Xshare:auto $JAVA_OPTS @/opt/hearth/app.args", "java"]`} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q:\n%s", want, df)
		}
	}
	// The build reaches no network, so the CA bundle is not used, and pom.xml is not refused
	// when there is none.
	if strings.Contains(df, "ca-bundle") || strings.Contains(df, "pom.xml builds") {
		t.Errorf("Dockerfile:\n%s", df)
	}

	df = dockerfile(fstest.MapFS{"src/com/example/Greeter.java": {}, "pom.xml": {}},
		Source{Handler: "com.example.Greeter", BuildImage: "eclipse-temurin:17-jdk", RunImage: "eclipse-temurin:17-jre"})
	for _, want := range []string{"FROM eclipse-temurin:17-jdk AS build", "\nFROM eclipse-temurin:17-jre\n",
		`HEARTH_HANDLER="com.example.Greeter"`,
		"pom.xml builds are not supported yet: put the dependency jars in lib/ instead"} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q:\n%s", want, df)
		}
	}
	if i, j := strings.Index(df, "pom.xml builds"), strings.Index(df, "COPY"); i < 0 || i > j {
		t.Errorf("the pom.xml refusal is not the build's first step:\n%s", df)
	}
}
