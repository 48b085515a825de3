package runtimes

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/hearthfn/hearth/internal/syncbuf"
	"github.com/hearthfn/hearth/runtimes/contract"
	"github.com/hearthfn/hearth/runtimes/contract/contracttest"
)

// These tests run the node runtime's shim, rendered from the embedded catalog, with the
// machine's node (any Node.js 18 or newer; the image has Debian's 18), so the function contract
// is checked on every `go test` without Docker. e2e/runtime_node_test.go builds and runs the real
// images.

// nodeProbe exercises every return convention and every field of req and ctx.
const nodeProbe = `'use strict';
let waiting = [];

module.exports = async function handle(req, ctx) {
  if (req.rawPath.startsWith('/req')) {
    let parsed;
    try { parsed = req.json(); } catch { parsed = 'invalid'; }
    return {
      method: req.method, url: req.url, path: req.path, rawPath: req.rawPath, query: req.query, rawQuery: req.rawQuery,
      all: req.searchParams.getAll('a'), ct: req.header('Content-Type'), multi: req.headers['x-multi'],
      text: req.text(), json: parsed, len: req.body.length, isBuffer: Buffer.isBuffer(req.body),
    };
  }
  switch (req.path) {
    case '/str': return 'h\u00e9llo';
    case '/buffer': return Buffer.from([0, 1]);
    case '/uint8': return new Uint8Array([2, 3]);
    case '/object': return { a: 1 };
    case '/array': return [1, 'two'];
    case '/number': return 42;
    case '/false': return false;
    case '/undefined': return undefined;
    case '/null': return null;
    case '/response':
      return ctx.response({ status: 418, headers: { 'X-Tea': 'earl grey', 'Set-Cookie': ['a=1', 'b=2'], constructor: 'c' }, body: 'teapot' });
    case '/response-json': return ctx.response({ status: 201, body: { id: 7 } });
    case '/response-pairs':
      return ctx.response({ headers: [['X-Pair', '1'], ['X-Pair', '2'], ['Content-Type', 'text/x-probe'], ['Content-Length', '999']], body: 'p' });
    case '/marker': return { [Symbol.for('hearth.response')]: true, status: 202, body: 'marked' };
    case '/lookalike': return { status: 500, headers: { a: 'b' }, body: 'not a response' };
    case '/web': return new Response('web', { status: 203, headers: { 'X-Web': 'yes' } });
    case '/no-content': return ctx.response({ status: 204, body: 'dropped' });
    case '/sync': return 'not async';
    case '/bad-return': return () => 1;
    case '/bad-status': return ctx.response({ status: 99, body: 'x' });
    case '/bad-header': return ctx.response({ headers: { 'X-Bad': 'a\nb' }, body: 'x' });
    case '/cycle': { const o = {}; o.o = o; return o; }
    case '/throw': throw new TypeError('boom');
    case '/reject': return Promise.reject(new Error('rejected'));
    case '/throw-string': throw 'a string';
    case '/ctx':
      return {
        callId: ctx.callId, deadline: ctx.deadline && ctx.deadline.toISOString(), isDate: ctx.deadline instanceof Date,
        remaining: ctx.remainingMs(), config: ctx.config.PROBE_CONFIG, aborted: ctx.signal.aborted,
      };
    case '/signal':
      await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
      return 'aborted: ' + ctx.signal.reason.message;
    case '/log':
      ctx.log('hello from %s', 'the handler');
      ctx.log.warn('careful');
      return 'logged';
    case '/slow':
      console.log('slow call started');
      await new Promise((resolve) => setTimeout(resolve, 500));
      return 'done';
    case '/barrier':
      // Answers only when 16 calls wait in the handler together.
      await new Promise((resolve) => {
        waiting.push(resolve);
        if (waiting.length === 16) { waiting.forEach((r) => r()); waiting = []; }
      });
      return 'together';
    case '/echo':
      return ctx.response({ headers: { 'Content-Type': req.headers['content-type'] }, body: req.body });
    default:
      return req.method + ' ' + req.path + '?' + req.rawQuery;
  }
};
`

// nodeCommand returns `node server.cjs args...` for the function in dir, with the shim rendered
// from the embedded runtime into a folder of its own, as the image has it.
func nodeCommand(t *testing.T, dir string, env []string, args ...string) (*exec.Cmd, *syncbuf.Buffer) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("the node runtime's shim tests need node (18 or newer) on PATH: %v", err)
	}
	rt := lookup(t, "node")
	root := t.TempDir()
	writeShim(t, root, render(t, rt, Source{Function: "probe", FS: fstest.MapFS{"index.js": {}}}))
	server := filepath.Join(root, filepath.FromSlash(rt.ShimDir), "server.cjs")
	cmd := exec.Command(node, append([]string{server}, args...)...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HEARTH_FUNCTION_DIR=" + dir}, env...)
	out := &syncbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	return cmd, out
}

// startNode runs the shim for the function in dir and waits until it is ready.
func startNode(t *testing.T, dir string, env ...string) *shimProc {
	t.Helper()
	port := freePort(t)
	cmd, out := nodeCommand(t, dir, append([]string{fmt.Sprintf("PORT=%d", port)}, env...))
	return startShim(t, cmd, out, port, 15*time.Second)
}

// runNode runs the shim to its end and returns its exit code and output.
func runNode(t *testing.T, dir string, env []string, args ...string) (int, string) {
	t.Helper()
	cmd, out := nodeCommand(t, dir, env, args...)
	return exitCode(t, runToEnd(t, cmd, 20*time.Second)), out.String()
}

func TestNodeScaffold(t *testing.T) {
	dir := t.TempDir()
	if err := lookup(t, "node").WriteScaffold(dir, "hello"); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"func.yaml", "index.js", "package.json", ".hearthignore"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("the scaffold has no %s: %v", f, err)
		}
	}
	var pkg struct{ Name string }
	if b, err := os.ReadFile(filepath.Join(dir, "package.json")); err != nil || json.Unmarshal(b, &pkg) != nil || pkg.Name != "hello" {
		t.Errorf("package.json: %s, %v", b, err)
	}
	p := startNode(t, dir)
	for _, tt := range []struct {
		body, want string
		status     int
	}{
		{`{"name":"Ada"}`, "Hello, Ada!", 200},
		{"", "Hello, world!", 200},
		{`{"other":1}`, "Hello, world!", 200},
		{`[1]`, "Hello, world!", 200},
		{"not json", `send JSON such as {"name": "Ada"}`, 400},
	} {
		resp, body := p.call(t, "POST", "/", strings.NewReader(tt.body), "Content-Type", "application/json")
		if resp.StatusCode != tt.status || string(body) != tt.want ||
			resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
			t.Errorf("POST %q = %d %q (%s), want %d %q", tt.body, resp.StatusCode, body,
				resp.Header.Get("Content-Type"), tt.status, tt.want)
		}
	}
}

func TestNodeReturnConventions(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"index.js": nodeProbe})
	p := startNode(t, dir)
	for _, tt := range []struct {
		path, body, contentType string
		status                  int
		headers                 map[string][]string
	}{
		{"/str", "h\u00e9llo", "text/plain; charset=utf-8", 200, nil},
		{"/buffer", "\x00\x01", "application/octet-stream", 200, nil},
		{"/uint8", "\x02\x03", "application/octet-stream", 200, nil},
		{"/object", `{"a":1}`, "application/json", 200, nil},
		{"/array", `[1,"two"]`, "application/json", 200, nil},
		{"/number", `42`, "application/json", 200, nil},
		{"/false", `false`, "application/json", 200, nil},
		{"/undefined", "", "", 200, nil},
		{"/null", "", "", 200, nil},
		{"/response", "teapot", "text/plain; charset=utf-8", 418,
			map[string][]string{"X-Tea": {"earl grey"}, "Set-Cookie": {"a=1", "b=2"}, "Constructor": {"c"}}},
		{"/response-json", `{"id":7}`, "application/json", 201, nil},
		{"/response-pairs", "p", "text/x-probe", 200, map[string][]string{"X-Pair": {"1", "2"}, "Content-Length": {"1"}}},
		{"/marker", "marked", "text/plain; charset=utf-8", 202, nil},
		{"/lookalike", `{"status":500,"headers":{"a":"b"},"body":"not a response"}`, "application/json", 200, nil},
		{"/web", "web", "text/plain;charset=UTF-8", 203, map[string][]string{"X-Web": {"yes"}}},
		{"/no-content", "", "", 204, nil},
		{"/sync", "not async", "text/plain; charset=utf-8", 200, nil},
	} {
		resp, body := p.call(t, "GET", tt.path, nil)
		if resp.StatusCode != tt.status || string(body) != tt.body || resp.Header.Get("Content-Type") != tt.contentType {
			t.Errorf("%s = %d %q (Content-Type %q), want %d %q (%q)", tt.path, resp.StatusCode, body,
				resp.Header.Get("Content-Type"), tt.status, tt.body, tt.contentType)
		}
		for k, want := range tt.headers {
			if got := resp.Header.Values(k); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s: header %s = %q, want %q", tt.path, k, got, want)
			}
		}
		if resp.Header.Get(contract.HeaderFailed) != "" {
			t.Errorf("%s: %s set on a good answer", tt.path, contract.HeaderFailed)
		}
	}

	// Everything the handler gets wrong is the contract's 500, and the instance reports itself
	// failed.
	for path, message := range map[string]string{
		"/throw":        "boom",
		"/reject":       "rejected",
		"/throw-string": "a string",
		"/bad-return":   "the handler returned a body of type function",
		"/bad-status":   "status 99 is not an HTTP status code from 200 to 599",
		"/bad-header":   `response header "X-Bad"`,
		"/cycle":        "circular structure",
	} {
		resp, body := p.call(t, "POST", path, strings.NewReader("x"))
		var eb contract.ErrorBody
		if err := json.Unmarshal(body, &eb); err != nil || resp.StatusCode != 500 ||
			eb.Error.Code != contract.CodeHandlerError || !strings.Contains(eb.Error.Message, message) ||
			resp.Header.Get(contract.HeaderFailed) != "true" || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s = %d %q %v, want 500 handler_error with %q and %s: true", path, resp.StatusCode, body,
				resp.Header, message, contract.HeaderFailed)
		}
	}
	waitFor(t, func() bool { return strings.Count(p.out.String(), "status=500") == 7 })
	if !strings.Contains(p.out.String(), `msg="handler threw" call_id="" error=boom stack="TypeError: boom\n    at handle (`) {
		t.Errorf("the handler's error is not logged with its stack:\n%s", p.out)
	}
	if strings.Contains(p.out.String(), "server.cjs") {
		t.Errorf("the logged stack shows the shim's own frames:\n%s", p.out)
	}
}

func TestNodeRequestAndContext(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"index.js": nodeProbe})
	p := startNode(t, dir, "PROBE_CONFIG=from-env")

	t.Run("request", func(t *testing.T) {
		req, _ := http.NewRequest("PATCH", p.url+"/req/a%20b%2Fc?a=1&a=2&b=x+y&c&__proto__=p", strings.NewReader(`{"k":"é"}`))
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
		req.Header.Add("X-Multi", "1")
		req.Header.Add("X-Multi", "2")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var got map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
			t.Fatal(err)
		}
		want := map[string]any{
			"method": "PATCH", "url": "/req/a%20b%2Fc?a=1&a=2&b=x+y&c&__proto__=p", "path": "/req/a b/c",
			"rawPath": "/req/a%20b%2Fc", "rawQuery": "a=1&a=2&b=x+y&c&__proto__=p",
			"query": map[string]any{"a": []any{"1", "2"}, "b": "x y", "c": "", "__proto__": "p"},
			"all":   []any{"1", "2"}, "ct": "application/json; charset=utf-8", "multi": "1, 2",
			"text": `{"k":"é"}`, "json": map[string]any{"k": "é"}, "len": float64(len(`{"k":"é"}`)), "isBuffer": true,
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("req =\n%v\nwant\n%v", got, want)
		}
	})
	t.Run("text decodes the charset", func(t *testing.T) {
		_, body := p.call(t, "POST", "/req", bytes.NewReader([]byte{'c', 'a', 'f', 0xe9}), "Content-Type", "text/plain; charset=iso-8859-1")
		var got struct{ Text, JSON string }
		if err := json.Unmarshal(body, &got); err != nil || got.Text != "café" || got.JSON != "invalid" {
			t.Errorf("latin-1 body: %s", body)
		}
		_, body = p.call(t, "GET", "/req", nil)
		if !strings.Contains(string(body), `"json":null`) || !strings.Contains(string(body), `"len":0`) {
			t.Errorf("no body: req.json() should be null, req.body empty: %s", body)
		}
	})
	t.Run("ctx", func(t *testing.T) {
		deadline := time.Now().Add(time.Hour).UTC()
		_, body := p.call(t, "GET", "/ctx", nil, contract.HeaderCallID, "call-7",
			contract.HeaderDeadline, deadline.Format(time.RFC3339Nano))
		var got struct {
			CallID, Deadline, Config string
			IsDate, Aborted          bool
			Remaining                float64
		}
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if got.CallID != "call-7" || got.Deadline != deadline.Format("2006-01-02T15:04:05.000Z") || !got.IsDate ||
			got.Config != "from-env" || got.Aborted || got.Remaining < 3500e3 || got.Remaining > 3600e3 {
			t.Errorf("ctx = %s", body)
		}
		_, body = p.call(t, "GET", "/ctx", nil)
		if string(body) != `{"callId":"","deadline":null,"isDate":false,"remaining":null,"config":"from-env","aborted":false}` {
			t.Errorf("ctx without platform headers = %s", body)
		}
		_, body = p.call(t, "GET", "/ctx", nil, contract.HeaderDeadline, "1")
		if !strings.Contains(string(body), `"deadline":null`) {
			t.Errorf("malformed deadline: %s", body)
		}
		waitFor(t, func() bool {
			return strings.Contains(p.out.String(), `msg="ignoring a malformed deadline" call_id="" value=1`)
		})
	})
	t.Run("signal", func(t *testing.T) {
		start := time.Now()
		_, body := p.call(t, "GET", "/signal", nil, contract.HeaderDeadline,
			time.Now().Add(200*time.Millisecond).Format(time.RFC3339Nano))
		if string(body) != "aborted: the call reached its deadline" || time.Since(start) > 5*time.Second {
			t.Errorf("/signal = %q after %s", body, time.Since(start))
		}
		// A caller that goes away aborts the signal too; the shim carries on.
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", p.url+"/signal", nil)
		req.Header.Set(contract.HeaderCallID, "gone")
		if _, err := http.DefaultClient.Do(req); err == nil {
			t.Fatal("the call should have been cut off by the client")
		}
		waitFor(t, func() bool {
			return strings.Contains(p.out.String(), "call_id=gone method=GET path=/signal status=200")
		})
	})
	t.Run("logs", func(t *testing.T) {
		p.call(t, "GET", "/log", nil, contract.HeaderCallID, "call-log")
		// The call's line is written once the answer is sent: wait for it.
		waitFor(t, func() bool { return strings.Contains(p.out.String(), "call_id=call-log method=GET") })
		out := p.out.String()
		for _, want := range []string{
			`level=INFO msg="hello from the handler" call_id=call-log`,
			`level=WARN msg=careful call_id=call-log`,
			`level=INFO msg=call call_id=call-log method=GET path=/log status=200 duration=`,
		} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})
	t.Run("ready and every method", func(t *testing.T) {
		if resp, body := p.call(t, "HEAD", contract.ReadyPath, nil); resp.StatusCode != 200 || len(body) != 0 {
			t.Errorf("HEAD ready = %d", resp.StatusCode)
		}
		if _, body := p.call(t, "POST", contract.ReadyPath, nil); string(body) != "POST /_/ready?" {
			t.Errorf("POST %s is a call, got %q", contract.ReadyPath, body)
		}
		for _, m := range []string{"GET", "PUT", "DELETE", "OPTIONS", "PROPFIND"} {
			if _, body := p.call(t, m, "/x?y=1", nil); string(body) != m+" /x?y=1" {
				t.Errorf("%s = %q", m, body)
			}
		}
	})
}

func TestNodeBodiesAndConnections(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"index.js": nodeProbe})
	testBodiesAndConnections(t, startNode(t, dir), "timeout=120")
}

func TestNodeHandlerForms(t *testing.T) {
	for _, tt := range []struct {
		name, handler string
		files         map[string]string
	}{
		{"module.exports", "", map[string]string{"index.js": "module.exports = async (req) => 'ok ' + req.path;"}},
		{"exports.handle", "", map[string]string{"index.js": "exports.handle = async (req) => 'ok ' + req.path;"}},
		{"exports.default", "", map[string]string{"index.js": "exports.default = async (req) => 'ok ' + req.path;"}},
		{"named export", "app.js:greet", map[string]string{"app.js": "exports.greet = (req) => 'ok ' + req.path;"}},
		{"no extension", "lib/app", map[string]string{"lib/app.js": "module.exports = (req) => 'ok ' + req.path;"}},
		{"folder", "lib", map[string]string{"lib/index.js": "module.exports = (req) => 'ok ' + req.path;"}},
		{"this", "", map[string]string{"index.js": "exports.prefix = 'ok '; exports.handle = function (req) { return this.prefix + req.path; };"}},
		{"mjs default", "index.mjs", map[string]string{"index.mjs": "export default async function handle(req) { return 'ok ' + req.path; }"}},
		{"mjs handle", "index.mjs", map[string]string{"index.mjs": "export async function handle(req) { return 'ok ' + req.path; }"}},
		{"type module", "", map[string]string{"package.json": `{"type": "module"}`,
			"index.js": "import { setTimeout } from 'node:timers/promises';\nexport async function handle(req) { await setTimeout(1); return 'ok ' + req.path; }"}},
		{"node_modules", "", map[string]string{"node_modules/dep/index.js": "module.exports = 'ok ';",
			"index.js": "const dep = require('dep'); module.exports = async (req) => dep + req.path;"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tt.files)
			if code, out := runNode(t, dir, []string{"HEARTH_HANDLER=" + tt.handler}, "--check"); code != 0 {
				t.Fatalf("--check: exit %d\n%s", code, out)
			}
			p := startNode(t, dir, "HEARTH_HANDLER="+tt.handler)
			if _, body := p.call(t, "GET", "/x", nil); string(body) != "ok /x" {
				t.Errorf("call = %q", body)
			}
		})
	}
}

func TestNodeSIGTERMDrains(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"index.js": nodeProbe})
	p := startNode(t, dir)
	// An idle keep-alive connection must not hold the shim up.
	idle := &http.Client{Transport: &http.Transport{}}
	defer idle.CloseIdleConnections()
	if resp, err := idle.Get(p.url + "/str"); err != nil {
		t.Fatal(err)
	} else {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	done := p.getLater("/slow")
	waitFor(t, func() bool { return strings.Contains(p.out.String(), "slow call started") })
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if r := <-done; r.err != nil || r.body != "done" || !r.close {
		t.Fatalf("call in flight during shutdown = %q (Connection: close %v), %v", r.body, r.close, r.err)
	}
	if err := p.exited(t, 10*time.Second); err != nil {
		t.Fatalf("shim exit after SIGTERM: %v\n%s", err, p.out)
	}
	if !strings.Contains(p.out.String(), "msg=\"shutting down\" signal=SIGTERM in_flight=1") ||
		!strings.Contains(p.out.String(), "msg=stopped") {
		t.Errorf("shutdown not logged:\n%s", p.out)
	}
	if _, err := http.Get(p.url + contract.ReadyPath); err == nil {
		t.Error("the shim still accepts connections after it exited")
	}
}

// TestNodeContractFunction runs the conformance suite on testdata/contract served by the shim,
// behind a stand-in for the platform's front door that adds the call id and deadline headers
// (the timeout check needs the real platform and is left to the e2e test).
func TestNodeContractFunction(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("node/testdata/contract")); err != nil {
		t.Fatal(err)
	}
	p := startNode(t, dir, "CONTRACT_ENV="+contracttest.EnvValue)
	target, err := url.Parse(p.url)
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int64
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		r.Out.URL.Path = strings.TrimPrefix(r.In.URL.Path, "/invoke/contract-node")
		r.Out.URL.RawPath = ""
		id := fmt.Sprintf("call-%d", calls.Add(1))
		r.Out.Header.Set(contract.HeaderCallID, id)
		r.Out.Header.Set(contract.HeaderDeadline, time.Now().Add(2*time.Second).Format(time.RFC3339Nano))
	}, ModifyResponse: func(resp *http.Response) error {
		resp.Header.Set(contract.HeaderCallID, resp.Request.Header.Get(contract.HeaderCallID))
		resp.Header.Del(contract.HeaderFailed)
		return nil
	}}
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// As the router does: without full duplex the large echo can be cut off (see Invoke).
		_ = http.NewResponseController(w).EnableFullDuplex()
		proxy.ServeHTTP(w, r)
	}))
	defer front.Close()
	contracttest.Run(t, front.URL+"/invoke/contract-node", contracttest.Options{})
}

func TestNodeStartFailures(t *testing.T) {
	for _, tt := range []struct {
		name, handler string
		files         map[string]string
		env           []string
		want          string
	}{
		{"no file", "", map[string]string{"app.js": "module.exports = () => 1;"}, nil,
			"handler index.js: no file index.js in the function's folder: add it or set func.yaml's handler to FILE or FILE:EXPORT"},
		{"no function", "", map[string]string{"index.js": "exports.other = () => 1;"}, nil,
			"handler index.js: index.js exports no handler function"},
		{"no named export", "index.js:run", map[string]string{"index.js": "exports.handle = () => 1;"}, nil,
			"index.js exports no function run"},
		{"bad form", "index.js:not-a-name", map[string]string{"index.js": ""}, nil, "is not of the form FILE or FILE:EXPORT"},
		{"missing dependency", "", map[string]string{"index.js": "require('not-installed-anywhere');"}, nil,
			"Cannot find module 'not-installed-anywhere'"},
		{"error at load", "", map[string]string{"index.js": "throw new Error('no config');"}, nil,
			`error="loading handler index.js: no config"`},
		{"bad port", "", map[string]string{"index.js": "module.exports = () => 1;"}, []string{"PORT=http"},
			`PORT=\"http\" is not a port number`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tt.files)
			env := append([]string{"HEARTH_HANDLER=" + tt.handler, fmt.Sprintf("PORT=%d", freePort(t))}, tt.env...)
			code, out := runNode(t, dir, env)
			if code != 1 || !strings.Contains(out, `msg="shim stopped"`) || !strings.Contains(out, tt.want) {
				t.Errorf("exit %d, output:\n%s\nwant exit 1 and %q", code, out, tt.want)
			}
		})
	}
}

// TestNodeCheck covers `node server.cjs --check`, the build's handler check: it finds and parses
// the handler's file and runs none of the function's code.
func TestNodeCheck(t *testing.T) {
	for _, tt := range []struct {
		name, handler string
		files         map[string]string
		want          string // "" means the check passes
	}{
		{"default", "", map[string]string{"index.js": "module.exports = async () => 1;"}, ""},
		{"not run", "", map[string]string{"index.js": "process.exit(3);"}, ""},
		{"json", "data.json", map[string]string{"data.json": "{}"}, ""},
		{"no file", "", map[string]string{"app.js": ""}, "no file index.js in the function's folder"},
		{"no file named", "src/app.js:go", map[string]string{"index.js": ""}, "no file src/app.js"},
		{"syntax error", "", map[string]string{"index.js": "module.exports = async (req => 1;"}, "index.js does not parse"},
		{"esm syntax error", "app.mjs", map[string]string{"app.mjs": "export default function (req {}"}, "app.mjs does not parse"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tt.files)
			code, out := runNode(t, dir, []string{"HEARTH_HANDLER=" + tt.handler}, "--check")
			switch {
			case tt.want == "" && code != 0:
				t.Errorf("check failed (exit %d):\n%s", code, out)
			case tt.want != "" && (code != 1 || !strings.Contains(out, "hearth: ") || !strings.Contains(out, tt.want)):
				t.Errorf("exit %d, output:\n%s\nwant exit 1 and %q", code, out, tt.want)
			}
		})
	}
}

func TestRenderNode(t *testing.T) {
	rt := lookup(t, "node")
	if rt.Version != "18" || rt.BuildImage != "hearth/node-build:18" || rt.RunImage != "hearth/node:18" ||
		rt.DefaultHandler != "index.js" || rt.ShimDir != ".hearth/shim" || len(rt.Images) != 2 ||
		rt.Images[0].Tag != "hearth/node:18" || rt.Images[1].Tag != "hearth/node-build:18" {
		t.Fatalf("manifest: %+v", rt)
	}
	dockerfile := func(s Source) string {
		t.Helper()
		files := render(t, rt, s)
		if got := paths(files); fmt.Sprint(got) != "[.hearth/Dockerfile .hearth/shim/hearth.cjs .hearth/shim/server.cjs]" {
			t.Fatalf("rendered files %v", got)
		}
		return string(files[0].Data)
	}

	plain := dockerfile(Source{Function: "fn", FS: fstest.MapFS{"index.js": {}}})
	for _, want := range []string{"FROM hearth/node-build:18 AS build", "hearth.function=fn", "\nFROM hearth/node:18\n",
		`HEARTH_HANDLER="index.js"`, "USER 65534:65534", "ENV PORT=8080", "server.cjs --check", "rm -rf .hearth",
		`ENTRYPOINT ["node", "/opt/hearth/shim/server.cjs"]`} {
		if !strings.Contains(plain, want) {
			t.Errorf("Dockerfile without package.json lacks %q:\n%s", want, plain)
		}
	}
	for _, unwanted := range []string{"RUN npm", "ca-bundle", "CA_CERTS"} {
		if strings.Contains(plain, unwanted) {
			t.Errorf("Dockerfile without package.json or CA bundle mentions %q:\n%s", unwanted, plain)
		}
	}

	install := dockerfile(Source{Function: "fn", FS: fstest.MapFS{"index.js": {}, "package.json": {}}, CABundle: true,
		Handler: "app.js:greet", RunImage: "node:18-slim"})
	for _, want := range []string{"COPY .hearth/ca-bundle.crt /etc/hearth/ca-bundle.crt",
		"NODE_EXTRA_CA_CERTS=/etc/hearth/ca-bundle.crt", "NPM_CONFIG_CAFILE=/etc/hearth/ca-bundle.crt",
		"COPY package.json ./", "RUN npm install --omit=dev", `HEARTH_HANDLER="app.js:greet"`, "\nFROM node:18-slim\n"} {
		if !strings.Contains(install, want) {
			t.Errorf("Dockerfile with package.json and a CA bundle lacks %q:\n%s", want, install)
		}
	}
	if fin := finalStage(install); strings.Contains(fin, "npm ") || strings.Contains(fin, "ca-bundle") || strings.Contains(fin, "CA_CERTS") {
		t.Errorf("the final stage has npm or the CA bundle:\n%s", fin)
	}

	locked := dockerfile(Source{Function: "fn", FS: fstest.MapFS{"index.js": {}, "package.json": {}, "package-lock.json": {}, ".npmrc": {}}})
	for _, want := range []string{"COPY package.json package-lock.json .npmrc ./", "RUN npm ci --omit=dev"} {
		if !strings.Contains(locked, want) {
			t.Errorf("Dockerfile with a lock file lacks %q:\n%s", want, locked)
		}
	}

	vendored := dockerfile(Source{Function: "fn", FS: fstest.MapFS{"index.js": {}, "package.json": {}, "node_modules/x/index.js": {}}})
	if strings.Contains(vendored, "RUN npm") || !strings.Contains(vendored, "used as they are") {
		t.Errorf("Dockerfile with node_modules/ runs npm:\n%s", vendored)
	}
	if _, err := rt.PrepareSource(Source{Function: "fn", FS: fstest.MapFS{".hearth/shim/x.js": {}}}); !errors.Is(err, ErrInvalidSource) {
		t.Errorf("a source with .hearth/: %v, want ErrInvalidSource", err)
	}
}
