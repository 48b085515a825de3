package runtimes

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/hearthfn/hearth/internal/syncbuf"
)

// These tests run the python runtime's shim, rendered from the embedded catalog, with the
// machine's python3 (3.11, as in the image), so the function contract is checked on every
// `go test` without Docker. e2e/runtime_python_test.go builds and runs the real images.

// pyProbe exercises every return convention and every field of req and ctx.
const pyProbe = `import asyncio
import threading
import time

from hearth import Response

_barrier = threading.Barrier(16)


class Duck:
    """Not a hearth.Response, but shaped like one."""
    status = 202
    headers = {"X-Duck": "quack"}
    body = {"duck": True}


def handle(req, ctx):
    p = req.path
    if p == "/str":
        return "h\u00e9llo"
    if p == "/bytes":
        return b"\x00\x01"
    if p == "/dict":
        return {"a": 1}
    if p == "/list":
        return [1, "two"]
    if p == "/none":
        return None
    if p == "/tuple2":
        return "created", 201
    if p == "/tuple3":
        return b"x", 202, [("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"), ("Content-Type", "text/x-probe"),
                           ("Content-Length", "999")]
    if p == "/no-content":
        return "dropped", 204
    if p == "/response":
        return Response(body="teapot", status=418, headers={"X-Tea": "earl grey"})
    if p == "/duck":
        return Duck()
    if p == "/coroutine":
        return later()
    if p == "/bad-return":
        return 42
    if p == "/bad-status":
        return "x", 99
    if p == "/raise":
        raise ValueError("boom")
    if p == "/raise-empty":
        raise KeyError()
    if p == "/req":
        try:
            parsed = req.json()
        except ValueError:
            parsed = "invalid"
        return {"method": req.method, "path": req.path, "query": req.query, "query_string": req.query_string,
                "arg": req.arg("a"), "missing": req.arg("zz", "dflt"), "content_type": req.content_type,
                "text": req.text, "json": parsed, "multi": req.headers.get_all("x-multi"),
                "joined": req.headers.get("X-Multi"), "lower": req.headers.get("x-in"), "has": "X-IN" in req.headers,
                "len": len(req.body)}
    if p == "/ctx":
        return {"call_id": ctx.call_id, "deadline": ctx.deadline.isoformat() if ctx.deadline else None,
                "remaining": ctx.remaining(), "config": ctx.config.get("PROBE_CONFIG")}
    if p == "/log":
        ctx.logger.info("hello from %s", "the handler")
        return "logged"
    if p == "/slow":
        print("slow call started", flush=True)
        time.sleep(0.5)
        return "done"
    if p == "/barrier":
        _barrier.wait(timeout=10)  # passes only when 16 calls run at once
        return "together"
    if p == "/echo":
        return req.body, 200, {"Content-Type": req.headers.get("Content-Type", "application/octet-stream")}
    return f"{req.method} {req.path}?{req.query_string}"


async def later():
    await asyncio.sleep(0.01)
    return "awaited"


async def ahandle(req, ctx):
    await asyncio.sleep(0.01)
    return {"async": True, "path": req.path}
`

// pythonCommand returns `python3 -m hearth_shim args...` for the function in dir, with the shim
// rendered from the embedded runtime into a folder of its own, as the image has it.
func pythonCommand(t *testing.T, dir string, env []string, args ...string) (*exec.Cmd, *syncbuf.Buffer) {
	t.Helper()
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("the python runtime's shim tests need python3 (3.11) on PATH: %v", err)
	}
	rt := lookup(t, "python")
	root := t.TempDir()
	writeShim(t, root, render(t, rt, Source{Function: "probe", FS: os.DirFS(dir)}))
	cmd := exec.Command(python, append([]string{"-P", "-m", "hearth_shim"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append([]string{
		"PYTHONPATH=" + filepath.Join(root, filepath.FromSlash(rt.ShimDir)),
		"HEARTH_FUNCTION_PATH=" + dir,
		"PYTHONDONTWRITEBYTECODE=1",
		"PYTHONUNBUFFERED=1",
	}, env...)
	out := &syncbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	return cmd, out
}

// startPython runs the shim for the function in dir and waits until it is ready.
func startPython(t *testing.T, dir string, env ...string) *shimProc {
	t.Helper()
	port := freePort(t)
	cmd, out := pythonCommand(t, dir, append([]string{fmt.Sprintf("PORT=%d", port)}, env...))
	return startShim(t, cmd, out, port, 15*time.Second)
}

func TestPythonScaffold(t *testing.T) {
	dir := t.TempDir()
	if err := lookup(t, "python").WriteScaffold(dir, "hello"); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"func.yaml", "main.py", "requirements.txt", ".hearthignore"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatalf("the scaffold has no %s: %v", f, err)
		}
	}
	p := startPython(t, dir)
	for _, tt := range []struct {
		body   string
		status int
		want   string
	}{
		{`{"name":"Ada"}`, 200, "Hello, Ada!"},
		{"", 200, "Hello, world!"},
		{"{}", 200, "Hello, world!"},
		{"not json", 400, `send JSON such as {"name": "Ada"}`},
	} {
		resp, got := p.call(t, "POST", "/", strings.NewReader(tt.body), "Content-Type", "application/json")
		if resp.StatusCode != tt.status || string(got) != tt.want {
			t.Errorf("POST %q = %d %q, want %d %q", tt.body, resp.StatusCode, got, tt.status, tt.want)
		}
	}
}

func TestPythonReturnConventions(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"main.py": pyProbe})
	p := startPython(t, dir)
	for _, tt := range []struct {
		path, status, contentType, body string
		headers                         map[string]string
	}{
		{"/str", "200", "text/plain; charset=utf-8", "h\u00e9llo", nil},
		{"/bytes", "200", "application/octet-stream", "\x00\x01", nil},
		{"/dict", "200", "application/json", `{"a": 1}`, nil},
		{"/list", "200", "application/json", `[1, "two"]`, nil},
		{"/none", "200", "", "", nil},
		{"/tuple2", "201", "text/plain; charset=utf-8", "created", nil},
		{"/tuple3", "202", "text/x-probe", "x", nil},
		{"/response", "418", "text/plain; charset=utf-8", "teapot", map[string]string{"X-Tea": "earl grey"}},
		{"/duck", "202", "application/json", `{"duck": true}`, map[string]string{"X-Duck": "quack"}},
		{"/coroutine", "200", "text/plain; charset=utf-8", "awaited", nil},
		{"/no-content", "204", "", "", nil},
	} {
		resp, body := p.call(t, "GET", tt.path, nil)
		if got := fmt.Sprint(resp.StatusCode); got != tt.status || string(body) != tt.body ||
			resp.Header.Get("Content-Type") != tt.contentType {
			t.Errorf("GET %s = %s %q %q, want %s %q %q", tt.path, got, resp.Header.Get("Content-Type"), body,
				tt.status, tt.contentType, tt.body)
		}
		for k, v := range tt.headers {
			if resp.Header.Get(k) != v {
				t.Errorf("GET %s: header %s = %q, want %q", tt.path, k, resp.Header.Get(k), v)
			}
		}
	}

	resp, body := p.call(t, "GET", "/tuple3", nil)
	if got := resp.Header.Values("Set-Cookie"); len(got) != 2 || got[0] != "a=1" || got[1] != "b=2" {
		t.Errorf("a field named twice: Set-Cookie = %q", got)
	}
	if resp.ContentLength != int64(len(body)) {
		t.Errorf("the handler's Content-Length won over the body's: %d for %q", resp.ContentLength, body)
	}

	for _, path := range []string{"/bad-return", "/bad-status"} {
		resp, body := p.call(t, "GET", path, nil)
		var eb struct {
			Error struct{ Code, Message string }
		}
		if err := json.Unmarshal(body, &eb); err != nil || resp.StatusCode != 500 || eb.Error.Code != "handler_error" ||
			resp.Header.Get("Hearth-Instance-Failed") != "true" {
			t.Errorf("GET %s = %d %q, want the contract's 500", path, resp.StatusCode, body)
		}
	}
	_, body = p.call(t, "GET", "/bad-return", nil)
	if !strings.Contains(string(body), "type int") {
		t.Errorf("an unsendable return does not say what was returned: %s", body)
	}
}

func TestPythonRequestAndContext(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"main.py": pyProbe})
	p := startPython(t, dir, "PROBE_CONFIG=from-env")

	t.Run("request fields", func(t *testing.T) {
		resp, body := p.call(t, "PATCH", "/req?a=1&a=2&b=&c=%20x", strings.NewReader(`{"k": "vé"}`),
			"Content-Type", "Application/JSON; charset=utf-8", "X-In", "low", "X-Multi", "1", "X-Multi", "2")
		var got struct {
			Method, Path string
			QueryString  string `json:"query_string"`
			Arg, Missing string
			ContentType  string `json:"content_type"`
			Text, Joined string
			Lower        string
			Query        map[string][]string
			JSON         map[string]string
			Multi        []string
			Has          bool
			Len          int
		}
		if err := json.Unmarshal(body, &got); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%d %s: %v", resp.StatusCode, body, err)
		}
		want := `{PATCH /req a=1&a=2&b=&c=%20x 1 dflt application/json {"k": "vé"} 1, 2 low ` +
			`map[a:[1 2] b:[] c:[ x]] map[k:vé] [1 2] true 12}`
		if s := fmt.Sprint(got); s != want {
			t.Errorf("req =\n %s\nwant\n %s", s, want)
		}
		_, body = p.call(t, "POST", "/req", strings.NewReader("{oops"))
		if !strings.Contains(string(body), `"json": "invalid"`) {
			t.Errorf("req.json() of invalid JSON did not raise ValueError: %s", body)
		}
		_, body = p.call(t, "POST", "/req", nil)
		if !strings.Contains(string(body), `"json": null`) || !strings.Contains(string(body), `"len": 0`) {
			t.Errorf("an empty body: %s", body)
		}
	})
	t.Run("every method and path reaches the handler", func(t *testing.T) {
		for _, tt := range []struct{ method, path, want string }{
			{"POST", "/_/ready", "POST /_/ready?"},
			{"DELETE", "/a/b?x=1", "DELETE /a/b?x=1"},
			{"GET", "/a%20b%2Fc?q=%20", "GET /a b/c?q=%20"},
			{"PURGE", "/", "PURGE /?"},
			{"OPTIONS", "/o", "OPTIONS /o?"},
		} {
			if _, body := p.call(t, tt.method, tt.path, nil); string(body) != tt.want {
				t.Errorf("%s %s = %q, want %q", tt.method, tt.path, body, tt.want)
			}
		}
		resp, body := p.call(t, "HEAD", "/str", nil)
		if resp.StatusCode != 200 || len(body) != 0 || resp.ContentLength != int64(len("h\u00e9llo")) {
			t.Errorf("HEAD = %d, length %d, body %q", resp.StatusCode, resp.ContentLength, body)
		}
	})
	t.Run("context", func(t *testing.T) {
		_, body := p.call(t, "GET", "/ctx", nil, "Hearth-Call-Id", "call-ctx-1",
			"Hearth-Deadline", "2099-01-02T03:04:05.123456789Z")
		var got struct {
			CallID    string   `json:"call_id"`
			Deadline  *string  `json:"deadline"`
			Remaining *float64 `json:"remaining"`
			Config    string   `json:"config"`
		}
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if got.CallID != "call-ctx-1" || got.Deadline == nil || *got.Deadline != "2099-01-02T03:04:05.123456+00:00" ||
			got.Remaining == nil || *got.Remaining <= 0 || got.Config != "from-env" {
			t.Errorf("ctx = %s", body)
		}
		_, body = p.call(t, "GET", "/ctx", nil, "Hearth-Deadline", "2001-01-01T00:00:00+02:00")
		if !strings.Contains(string(body), `"deadline": "2000-12-31T22:00:00+00:00", "remaining": 0.0`) {
			t.Errorf("a past deadline, in another zone: %s", body)
		}
		for _, h := range [][]string{nil, {"Hearth-Deadline", "tomorrow"}} {
			_, body = p.call(t, "GET", "/ctx", nil, h...)
			if !strings.Contains(string(body), `"call_id": "", "deadline": null, "remaining": null`) {
				t.Errorf("ctx with %v = %s", h, body)
			}
		}
		// The shim's output reaches the buffer through a pipe, a moment after the response.
		waitFor(t, func() bool { return strings.Contains(p.out.String(), `msg="ignoring a malformed deadline"`) })
	})
	t.Run("handler exception", func(t *testing.T) {
		for path, message := range map[string]string{"/raise": "boom", "/raise-empty": "KeyError"} {
			resp, body := p.call(t, "GET", path, nil, "Hearth-Call-Id", "call-raise")
			var eb struct {
				Error struct{ Code, Message string }
			}
			if err := json.Unmarshal(body, &eb); err != nil {
				t.Fatalf("body %q: %v", body, err)
			}
			if resp.StatusCode != 500 || resp.Header.Get("Hearth-Instance-Failed") != "true" ||
				resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("Hearth-Call-Id") != "call-raise" ||
				eb.Error.Code != "handler_error" || eb.Error.Message != message {
				t.Errorf("GET %s = %d %v %q", path, resp.StatusCode, resp.Header, body)
			}
		}
		waitFor(t, func() bool { return strings.Contains(p.out.String(), "ValueError: boom") })
		if out := p.out.String(); strings.Contains(out, "hearth_shim.py") {
			t.Errorf("the log should hold the handler's traceback without the shim's frames:\n%s", out)
		}
	})
	t.Run("one log line per call, ctx.logger lines carry the call id", func(t *testing.T) {
		resp, _ := p.call(t, "GET", "/log", nil, "Hearth-Call-Id", "call-log-42")
		if resp.Header.Get("Hearth-Call-Id") != "call-log-42" {
			t.Errorf("call id not echoed: %v", resp.Header)
		}
		waitFor(t, func() bool { return strings.Contains(p.out.String(), "msg=call call_id=call-log-42") })
		out := p.out.String()
		if n := strings.Count(out, "msg=call call_id=call-log-42"); n != 1 {
			t.Errorf("%d call lines for one call:\n%s", n, out)
		}
		if !strings.Contains(out, `level=INFO call_id=call-log-42 msg="hello from the handler"`) {
			t.Errorf("ctx.logger's line:\n%s", out)
		}
	})
}

func TestPythonBodiesAndConnections(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"main.py": pyProbe})
	testBodiesAndConnections(t, startPython(t, dir), "")
}

func TestPythonAsyncHandler(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"main.py": pyProbe})
	p := startPython(t, dir, "HEARTH_HANDLER=main:ahandle")
	if _, body := p.call(t, "GET", "/x", nil); string(body) != `{"async": true, "path": "/x"}` {
		t.Fatalf("async handler = %q", body)
	}
}

func TestPythonSIGTERMDrains(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"main.py": pyProbe})
	p := startPython(t, dir)
	done := p.getLater("/slow")
	waitFor(t, func() bool { return strings.Contains(p.out.String(), "slow call started") })
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if r := <-done; r.err != nil || r.body != "done" {
		t.Fatalf("call in flight during shutdown = %q, %v", r.body, r.err)
	}
	if err := p.exited(t, 10*time.Second); err != nil {
		t.Fatalf("shim exit after SIGTERM: %v\n%s", err, p.out)
	}
	if _, err := http.Get(p.url + "/_/ready"); err == nil {
		t.Error("the shim still accepts connections after it exited")
	}
}

func TestPythonContractFunction(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("python/testdata/contract")); err != nil {
		t.Fatal(err)
	}
	p := startPython(t, dir, "CONTRACT_ENV=from-func-yaml")

	resp, body := p.call(t, "PUT", "/echo?status=201", strings.NewReader("payload"),
		"Content-Type", "text/x-contract", "X-Echo-One", "1", "X-Echo-Two", "2", "X-Other", "no")
	if resp.StatusCode != 201 || string(body) != "payload" || resp.Header.Get("Content-Type") != "text/x-contract" ||
		resp.Header.Get("X-Echo-One") != "1" || resp.Header.Get("X-Echo-Two") != "2" || resp.Header.Get("X-Other") != "" {
		t.Errorf("/echo = %d %q %v", resp.StatusCode, body, resp.Header)
	}
	if resp, _ := p.call(t, "GET", "/echo?status=404", nil); resp.StatusCode != 404 {
		t.Errorf("/echo?status=404 = %d", resp.StatusCode)
	}
	resp, body = p.call(t, "GET", "/fail", nil)
	if resp.StatusCode != 500 || !strings.Contains(string(body), `"message": "contract failure"`) ||
		resp.Header.Get("Hearth-Instance-Failed") != "true" {
		t.Errorf("/fail = %d %q", resp.StatusCode, body)
	}
	if _, body = p.call(t, "GET", "/sleep?ms=20", nil); string(body) != "slept" {
		t.Errorf("/sleep = %q", body)
	}
	deadline := "2099-05-06T07:08:09.123456789Z"
	_, body = p.call(t, "DELETE", "/info?x=1&y=2", nil, "Hearth-Call-Id", "call-info", "Hearth-Deadline", deadline)
	var info map[string]string
	if err := json.Unmarshal(body, &info); err != nil {
		t.Fatalf("/info: %s: %v", body, err)
	}
	want := map[string]string{"method": "DELETE", "path": "/info", "query": "x=1&y=2", "call_id": "call-info",
		"deadline": "2099-05-06T07:08:09.123456Z", "env": "from-func-yaml"}
	if fmt.Sprint(info) != fmt.Sprint(want) {
		t.Errorf("/info = %v, want %v", info, want)
	}
	if _, err := time.Parse(time.RFC3339Nano, info["deadline"]); err != nil {
		t.Errorf("/info deadline: %v", err)
	}
}

func TestPythonStartFailures(t *testing.T) {
	for _, tt := range []struct {
		name, handler string
		files         map[string]string
		env           []string
		want          string
	}{
		{"no module", "", map[string]string{"app.py": "def handle(req, ctx): pass\n"}, nil,
			"no module 'main' in the function's folder: add main.py or set func.yaml's handler"},
		{"no function", "main.run", map[string]string{"main.py": "def handle(req, ctx): pass\n"}, nil,
			"module 'main' has no 'run'"},
		{"not a function", "main.handle", map[string]string{"main.py": "handle = 3\n"}, nil,
			"'handle' is not a function"},
		{"bad name", "main-handle", map[string]string{"main.py": ""}, nil, "is not of the form module.function"},
		{"import error", "", map[string]string{"main.py": "import not_installed_anywhere\n"}, nil,
			"ModuleNotFoundError: No module named 'not_installed_anywhere'"},
		{"error at import", "", map[string]string{"main.py": "raise RuntimeError('no config')\n"}, nil,
			"RuntimeError: no config"},
		{"bad port", "", map[string]string{"main.py": "def handle(req, ctx): pass\n"}, []string{"PORT=http"},
			`PORT='http' is not a port number`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tt.files)
			env := append([]string{"HEARTH_HANDLER=" + tt.handler, fmt.Sprintf("PORT=%d", freePort(t))}, tt.env...)
			code, out := runPython(t, dir, env)
			if code != 1 || !strings.Contains(out, "msg=\"shim stopped\"") || !strings.Contains(out, tt.want) {
				t.Errorf("exit %d, output:\n%s\nwant exit 1 and %q", code, out, tt.want)
			}
		})
	}
}

// TestPythonCheck covers `python3 -m hearth_shim --check`, the build's handler check: it reads
// the function's files and runs none of them.
func TestPythonCheck(t *testing.T) {
	for _, tt := range []struct {
		name, handler string
		files         map[string]string
		want          string // "" means the check passes
	}{
		{"default", "", map[string]string{"main.py": "def handle(req, ctx): pass\n"}, ""},
		{"not run", "", map[string]string{"main.py": "raise SystemExit('ran')\ndef handle(req, ctx): pass\n"}, ""},
		{"async", "", map[string]string{"main.py": "async def handle(req, ctx): pass\n"}, ""},
		{"colon", "app:run", map[string]string{"app.py": "def run(req, ctx): pass\n"}, ""},
		{"package", "pkg.mod.handle", map[string]string{"pkg/__init__.py": "", "pkg/mod.py": "def handle(req, ctx): pass\n"}, ""},
		{"package init", "pkg.handle", map[string]string{"pkg/__init__.py": "from .impl import handle\n", "pkg/impl.py": ""}, ""},
		{"assigned", "", map[string]string{"main.py": "import functools\nhandle = functools.partial(print)\n"}, ""},
		{"imported", "", map[string]string{"main.py": "from impl import handle as handle\n"}, ""},
		{"conditional", "", map[string]string{"main.py": "if True:\n    def handle(req, ctx): pass\n"}, ""},
		{"main guard", "", map[string]string{"main.py": "def handle(req, ctx): pass\nif __name__ == '__main__':\n    pass\n"}, ""},
		{"no module", "", map[string]string{"app.py": ""}, "no module 'main' in the function's folder: add main.py"},
		{"no package module", "pkg.nope.handle", map[string]string{"pkg/__init__.py": ""}, "add pkg/nope.py"},
		{"no function", "", map[string]string{"main.py": "def handler(req, ctx): pass\n"},
			"main.py defines no 'handle' at its top level"},
		{"bad name", "main.handle-it", map[string]string{"main.py": ""}, "is not of the form module.function"},
		{"syntax error", "", map[string]string{"main.py": "def handle(req, ctx):\nreturn\n"}, "expected an indented block"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tt.files)
			code, out := runPython(t, dir, []string{"HEARTH_HANDLER=" + tt.handler}, "--check")
			switch {
			case tt.want == "" && code != 0:
				t.Errorf("check failed (exit %d):\n%s", code, out)
			case tt.want != "" && (code != 1 || !strings.Contains(out, tt.want)):
				t.Errorf("exit %d, output:\n%s\nwant exit 1 and %q", code, out, tt.want)
			}
		})
	}
}

// runPython runs the shim to its end and returns its exit code and output.
func runPython(t *testing.T, dir string, env []string, args ...string) (int, string) {
	t.Helper()
	cmd, out := pythonCommand(t, dir, env, args...)
	return exitCode(t, runToEnd(t, cmd, 20*time.Second)), out.String()
}

func TestRenderPython(t *testing.T) {
	rt := lookup(t, "python")
	if rt.Version != "3.11" || rt.BuildImage != "hearth/python-build:3.11" || rt.RunImage != "hearth/python:3.11" ||
		rt.DefaultHandler != "main.handle" || len(rt.Images) != 2 {
		t.Fatalf("manifest: %+v", rt)
	}
	dockerfile := func(s Source) string {
		t.Helper()
		files := render(t, rt, s)
		if got := paths(files); fmt.Sprint(got) != "[.hearth/Dockerfile .hearth/shim/hearth.py .hearth/shim/hearth_shim.py]" {
			t.Fatalf("rendered files %v", got)
		}
		return string(files[0].Data)
	}

	plain := dockerfile(Source{Function: "fn", FS: fstest.MapFS{"main.py": {}}})
	for _, want := range []string{"FROM hearth/python-build:3.11 AS build", "\nFROM hearth/python:3.11\n", "RUN rm -rf .hearth \\\n",
		`HEARTH_HANDLER="main.handle"`, "USER 65534:65534", "ENV PORT=8080", "--check",
		`ENTRYPOINT ["python3", "-P", "-m", "hearth_shim"]`} {
		if !strings.Contains(plain, want) {
			t.Errorf("Dockerfile without requirements lacks %q:\n%s", want, plain)
		}
	}
	for _, unwanted := range []string{"pip install", "ca-bundle"} {
		if strings.Contains(plain, unwanted) {
			t.Errorf("Dockerfile without requirements or CA bundle mentions %q:\n%s", unwanted, plain)
		}
	}

	index := dockerfile(Source{Function: "fn", FS: fstest.MapFS{"main.py": {}, "requirements.txt": {}}, CABundle: true,
		Handler: "app.run", RunImage: "python:3.11-slim"})
	for _, want := range []string{"COPY .hearth/ca-bundle.crt", "PIP_CERT=", "COPY requirements.txt ./",
		"pip install --no-compile --target /deps -r requirements.txt", `HEARTH_HANDLER="app.run"`, "\nFROM python:3.11-slim\n"} {
		if !strings.Contains(index, want) {
			t.Errorf("Dockerfile with requirements and a CA bundle lacks %q:\n%s", want, index)
		}
	}
	if fin := finalStage(index); strings.Contains(fin, "pip") || strings.Contains(fin, "ca-bundle") || strings.Contains(fin, "ca-certificates") {
		t.Errorf("the final stage has pip or the CA bundle:\n%s", fin)
	}

	vendored := dockerfile(Source{Function: "fn", FS: fstest.MapFS{"main.py": {}, "requirements.txt": {},
		"wheels/a-1-py3-none-any.whl": {}, "vendor/b/setup.py": {}}})
	for _, want := range []string{"COPY wheels/ wheels/", "COPY vendor/ vendor/",
		"--no-index --no-build-isolation --find-links ./wheels --find-links ./vendor -r requirements.txt",
		"RUN rm -rf .hearth wheels vendor "} {
		if !strings.Contains(vendored, want) {
			t.Errorf("Dockerfile with wheels/ and vendor/ lacks %q:\n%s", want, vendored)
		}
	}
	wheelsOnly := dockerfile(Source{Function: "fn", FS: fstest.MapFS{"requirements.txt": {}, "wheels/a.whl": {}}})
	if strings.Contains(wheelsOnly, "COPY vendor") || strings.Contains(wheelsOnly, "./vendor") || !strings.Contains(wheelsOnly, "--no-index") {
		t.Errorf("Dockerfile with wheels/ only:\n%s", wheelsOnly)
	}
	if _, err := rt.PrepareSource(Source{Function: "fn", FS: fstest.MapFS{".hearth/shim/x.py": {}}}); !errors.Is(err, ErrInvalidSource) {
		t.Errorf("a source with .hearth/: %v, want ErrInvalidSource", err)
	}
}
