package cli_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/cli"
	"github.com/hearthfn/hearth/runtimes/funcfile"
)

// now is the fake clock of every test: ages in tables are relative to it.
var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// fakeAPI mimics the hearth server's REST API and invoke front door closely enough for the
// CLI: the routes, the status codes, the ErrorBody shape and the ndjson deploy stream.
type fakeAPI struct {
	mu        sync.Mutex
	functions map[string]api.Function // guarded by mu
	hashes    map[string]string       // function -> source hash of its current version; guarded by mu
	uploads   int                     // deploys received; guarded by mu
	files     []string                // names in the last uploaded archive; guarded by mu
	// buildFail, when set, is the compiler output of a failed build.
	buildFail string
}

func newFakeAPI(t *testing.T) (*fakeAPI, *httptest.Server) {
	t.Helper()
	f := &fakeAPI{functions: map[string]api.Function{}, hashes: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/info", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"version":"v9.9.9","node":"n1","drivers":["docker"]}`)
	})
	mux.HandleFunc("GET /v1/functions", f.list)
	mux.HandleFunc("GET /v1/functions/{name}", f.get)
	mux.HandleFunc("DELETE /v1/functions/{name}", f.delete)
	mux.HandleFunc("POST /v1/functions/{name}/versions", f.deploy)
	mux.HandleFunc("/invoke/{name}", f.invoke)
	mux.HandleFunc("/invoke/{name}/{rest...}", f.invoke)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeAPI) put(fn api.Function) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.functions[fn.Name] = fn
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status int, code, msg, field string) {
	writeJSON(w, status, api.ErrorBody{Error: api.ErrorDetail{Code: code, Message: msg, Field: field}})
}

func (f *fakeAPI) list(w http.ResponseWriter, _ *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	l := api.FunctionList{Items: []api.Function{}}
	for _, fn := range f.functions {
		fn.Pool = nil
		l.Items = append(l.Items, fn)
	}
	writeJSON(w, 200, l)
}

func (f *fakeAPI) get(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn, ok := f.functions[r.PathValue("name")]
	if !ok {
		writeErr(w, 404, api.CodeNotFound, fmt.Sprintf("function %q not found", r.PathValue("name")), "")
		return
	}
	if fn.Pool == nil {
		fn.Pool = &api.PoolStatus{Instances: []api.InstanceStatus{}}
	}
	writeJSON(w, 200, fn)
}

func (f *fakeAPI) delete(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.functions[r.PathValue("name")]; !ok {
		writeErr(w, 404, api.CodeNotFound, fmt.Sprintf("function %q not found", r.PathValue("name")), "")
		return
	}
	delete(f.functions, r.PathValue("name"))
	w.WriteHeader(http.StatusNoContent)
}

// deploy reads the uploaded archive like the real server: func.yaml at its root, validated
// before the build; then it streams log lines and one result or error event.
func (f *fakeAPI) deploy(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if r.Header.Get("Content-Type") != "application/gzip" {
		writeErr(w, 415, api.CodeInvalid, "want application/gzip", "")
		return
	}
	files, hash, err := readArchive(r.Body)
	if err != nil {
		writeErr(w, 400, api.CodeInvalid, "bad archive: "+err.Error(), "")
		return
	}
	f.mu.Lock()
	f.uploads++
	f.files = slices.Sorted(func(yield func(string) bool) {
		for n := range files {
			if !yield(n) {
				return
			}
		}
	})
	f.mu.Unlock()
	spec, err := funcfile.Parse(files["func.yaml"])
	if err != nil {
		var fe *funcfile.FieldError
		if errors.As(err, &fe) {
			writeErr(w, 400, api.CodeInvalid, fe.Reason, fe.Field)
			return
		}
		writeErr(w, 400, api.CodeInvalid, err.Error(), "")
		return
	}
	if spec.Runtime == "cobol" {
		writeErr(w, 400, api.CodeInvalid, `"cobol" is not a known language`, "runtime")
		return
	}
	if spec.Name != name {
		writeErr(w, 400, api.CodeInvalid, "name does not match the URL", "name")
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	f.mu.Lock()
	defer f.mu.Unlock()
	cached := f.hashes[name] == hash
	if !cached {
		_ = enc.Encode(api.DeployEvent{Type: api.EventLog, Line: "Step 1/2 : FROM hearth/go-base"})
		_ = enc.Encode(api.DeployEvent{Type: api.EventLog, Line: "Step 2/2 : RUN go build"})
	}
	if f.buildFail != "" {
		_ = enc.Encode(api.DeployEvent{Type: api.EventError, Error: &api.ErrorDetail{Code: api.CodeBuildFailed, Message: f.buildFail}})
		return
	}
	fn := f.functions[name]
	fn.Name = name
	fn.Version = api.Version{Number: fn.Version.Number + 1, Image: "hearth/" + name + ":" + hash[:12], Spec: spec, SourceHash: hash, CreatedAt: now}
	if fn.CreatedAt.IsZero() {
		fn.CreatedAt = now
	}
	fn.UpdatedAt = now
	fn.URL = "/invoke/" + name
	f.functions[name] = fn
	f.hashes[name] = hash
	_ = enc.Encode(api.DeployEvent{Type: api.EventResult, Function: &fn, Cached: cached})
}

// invoke plays a few functions: "echo" answers with what it received; the others show the
// platform's error answers and a function's own non-2xx answer.
func (f *fakeAPI) invoke(w http.ResponseWriter, r *http.Request) {
	switch r.PathValue("name") {
	case "echo":
		body, _ := io.ReadAll(r.Body)
		writeJSON(w, 200, map[string]any{
			"method":       r.Method,
			"path":         r.URL.Path,
			"query":        r.URL.RawQuery,
			"content_type": r.Header.Get("Content-Type"),
			"x_trace":      r.Header.Values("X-Trace"),
			"body":         string(body),
		})
	case "slow":
		writeErr(w, 504, api.CodeTimeout, "slow did not answer within 30s", "")
	case "crash":
		writeErr(w, 500, api.CodeHandlerError, "handler panicked: nil map", "")
	case "teapot":
		w.WriteHeader(http.StatusTeapot)
		_, _ = io.WriteString(w, "I am short and stout\n")
	default:
		writeErr(w, 404, api.CodeNotFound, fmt.Sprintf("function %q not found", r.PathValue("name")), "")
	}
}

// readArchive reads a gzip tar into a map of file name to content, and hashes it.
func readArchive(r io.Reader) (map[string][]byte, string, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, "", err
	}
	files := map[string][]byte{}
	h := sha256.New()
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, "", err
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return nil, "", err
		}
		files[hdr.Name] = b
		fmt.Fprintf(h, "%s\x00%d\x00", hdr.Name, len(b))
		h.Write(b)
	}
	if _, ok := files["func.yaml"]; !ok {
		return nil, "", errors.New("no func.yaml at the root")
	}
	return files, hex.EncodeToString(h.Sum(nil)), nil
}

// packDir stands in for buildctx.PackDir: a gzip tar of dir's regular files, minus the names
// listed in .hearthignore.
func packDir(w io.Writer, dir string) error {
	ignore := map[string]bool{}
	if b, err := os.ReadFile(filepath.Join(dir, ".hearthignore")); err == nil {
		for _, l := range strings.Fields(string(b)) {
			ignore[l] = true
		}
	}
	zw := gzip.NewWriter(w)
	tw := tar.NewWriter(zw)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if ignore[filepath.ToSlash(rel)] {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: filepath.ToSlash(rel), Mode: 0o644, Size: int64(len(b))}); err != nil {
			return err
		}
		_, err = tw.Write(b)
		return err
	})
	if err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

// fakeCatalog stands in for the runtime catalog.
type fakeCatalog struct{}

func (fakeCatalog) Names() []string { return []string{"go", "python"} }

func (fakeCatalog) WriteScaffold(runtime, function, dir string) error {
	files := map[string]string{
		"func.yaml": "name: " + function + "\nruntime: " + runtime + "\n",
		"handler":   "// a " + runtime + " handler\n",
	}
	for n, c := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(c), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// result is what one CLI run printed and returned.
type result struct {
	stdout, stderr string
	code           int
}

// env is a test's surroundings: a fake server, a work directory and the CLI options.
type env struct {
	t    *testing.T
	api  *fakeAPI
	srv  *httptest.Server
	opts cli.Options
}

func newEnv(t *testing.T) *env {
	t.Helper()
	f, srv := newFakeAPI(t)
	e := &env{t: t, api: f, srv: srv}
	e.opts = cli.Options{
		Getenv: func(k string) string {
			if k == "HEARTH_API" {
				return srv.URL
			}
			return ""
		},
		Version:    "v1.0.0-test",
		Dir:        t.TempDir(),
		Now:        func() time.Time { return now },
		HTTPClient: srv.Client(),
		Runtimes:   fakeCatalog{},
		PackDir:    packDir,
	}
	return e
}

// run runs the CLI with args and returns what it printed and its exit code.
func (e *env) run(args ...string) result {
	e.t.Helper()
	return e.runWithStdin(nil, args...)
}

func (e *env) runWithStdin(stdin io.Reader, args ...string) result {
	e.t.Helper()
	var out, errOut bytes.Buffer
	opts := e.opts
	opts.Stdout, opts.Stderr, opts.Stdin = &out, &errOut, stdin
	code := cli.Execute(context.Background(), cli.NewRoot(opts), args)
	return result{stdout: out.String(), stderr: errOut.String(), code: code}
}

// writeFunc writes a function directory under the env's work directory.
func (e *env) writeFunc(dir string, files map[string]string) {
	e.t.Helper()
	for n, c := range files {
		p := filepath.Join(e.opts.Dir, dir, n)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			e.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			e.t.Fatal(err)
		}
	}
}

// wantCode fails the test when r.code is not code, showing what was printed.
func (r result) wantCode(t *testing.T, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code = %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
}

// wantError checks that stderr is exactly one "Error: msg" line.
func (r result) wantError(t *testing.T, msg string) {
	t.Helper()
	if want := "Error: " + msg + "\n"; r.stderr != want {
		t.Errorf("stderr = %q, want %q", r.stderr, want)
	}
}
