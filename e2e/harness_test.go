//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/internal/syncbuf"
)

// hearthBin is the binary under test; make test sets HEARTH_BIN.
func hearthBin(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("HEARTH_BIN")
	if bin == "" {
		t.Fatal("HEARTH_BIN is not set: run the end-to-end tests through `make test`, which builds bin/hearth")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("HEARTH_BIN: %v", err)
	}
	return bin
}

// server is a running `hearth server --dev` with its own data directory and port.
type server struct {
	URL     string
	dataDir string
	cmd     *exec.Cmd
	log     *syncbuf.Buffer
	done    chan error
	// nomad is true for a server running its instances on the Nomad dev agent.
	nomad bool
}

type serverOpts struct {
	extraArgs []string
	// dataDir, when set, is used instead of a new temp dir: a restart on the same store.
	dataDir string
	// https says that extraArgs make the server serve HTTPS (--tls-cert, --tls-key).
	https bool
	// addr, when set, is the listen address instead of a free loopback port.
	addr string
	// nomad runs the server against the Nomad dev agent and the loopback registry that
	// scripts/nomad.sh and scripts/registry.sh start, instead of --dev.
	nomad bool
	// node, when set, replaces --dev: the flags that say where instances run (a cluster
	// server's --cluster-addr and --registry: its instances run on agents only).
	node []string
	// owner, when set, is the test whose end stops the server, instead of t: a subtest that
	// restarts a server its parent's subtests share.
	owner *testing.T
}

// startServer runs a server for the test and stops it at cleanup, checking then that it left no
// container behind.
func startServer(t *testing.T, opts serverOpts) *server {
	t.Helper()
	bin := hearthBin(t)
	dataDir := opts.dataDir
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	addr := opts.addr
	if addr == "" {
		addr = freeAddr(t)
	}
	node := []string{"--dev"}
	if opts.nomad {
		node = []string{"--driver", "nomad", "--nomad-addr", nomadAddr, "--registry", registryAddr}
	}
	if opts.node != nil {
		node = opts.node
	}
	args := append(append([]string{"server", "--addr", addr, "--data-dir", dataDir}, node...), opts.extraArgs...)
	cmd := exec.Command(bin, args...)
	// A temp dir of the test's own: what the server and its driver plugin leave in TMPDIR when
	// they are killed (the plugin's socket) goes with the test.
	cmd.Env = append(os.Environ(), "TMPDIR="+t.TempDir())
	logs := &syncbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{URL: "http://" + addr, dataDir: dataDir, cmd: cmd, log: logs, done: make(chan error, 1), nomad: opts.nomad}
	// The probe only asks whether the server answers; the TLS test checks its certificate.
	probe := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	if opts.https {
		s.URL = "https://" + addr
	}
	go func() { s.done <- cmd.Wait() }()
	owner := t
	if opts.owner != nil {
		owner = opts.owner
	}
	owner.Cleanup(func() { s.stop(owner) })

	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := probe.Get(s.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		select {
		case err := <-s.done:
			t.Fatalf("server exited at start (%v):\n%s", err, s.logs())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not answer within 30 s:\n%s", s.logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return s
}

func (s *server) logs() string { return s.log.String() }

// stop sends SIGTERM, waits for a clean exit, and removes the instances the server left
// running: a server keeps its instances when it stops, for its next start to adopt
// (docs/operator/cluster.md, "Upgrades"), so the test removes them itself.
func (s *server) stop(t *testing.T) {
	t.Helper()
	if s.cmd.ProcessState == nil {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-s.done:
			if err != nil {
				t.Errorf("server exited with %v:\n%s", err, s.logs())
			}
		case <-time.After(60 * time.Second):
			_ = s.cmd.Process.Kill()
			t.Errorf("server did not stop within 60 s of SIGTERM:\n%s", s.logs())
		}
	}
	node, err := os.ReadFile(filepath.Join(s.dataDir, "node-id"))
	if err != nil {
		t.Errorf("read node id: %v", err)
		return
	}
	out, err := exec.Command("docker", "ps", "-aq", "--filter", "label=hearth.node="+strings.TrimSpace(string(node))).Output()
	if err != nil {
		t.Errorf("docker ps: %v", err)
		return
	}
	if left := strings.Fields(string(out)); len(left) > 0 {
		_ = exec.Command("docker", append([]string{"rm", "-f"}, left...)...).Run()
	}
	if s.nomad {
		for _, j := range nomadJobsOf(t, strings.TrimSpace(string(node))) {
			purgeNomadJob(t, j)
		}
	}
	removeServerImages(t, strings.TrimSpace(string(node)))
	if t.Failed() {
		t.Logf("server log:\n%s", s.logs())
	}
}

// result is what one CLI run did.
type result struct {
	stdout, stderr string
	code           int
}

// hearth runs the CLI in dir against s.
func (s *server) hearth(t *testing.T, dir string, args ...string) result {
	t.Helper()
	return s.hearthIn(t, dir, "", args...)
}

func (s *server) hearthIn(t *testing.T, dir, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, hearthBin(t), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HEARTH_API="+s.URL)
	if tok := s.adminToken(t); tok != "" && os.Getenv("HEARTH_TOKEN") == "" {
		cmd.Env = append(cmd.Env, "HEARTH_TOKEN="+tok)
	}
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("hearth %v: %v", args, err)
	}
	return r
}

// must runs the CLI and fails the test unless it exits 0.
func (s *server) must(t *testing.T, dir string, args ...string) result {
	t.Helper()
	r := s.hearth(t, dir, args...)
	if r.code != 0 {
		t.Fatalf("hearth %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// fails runs the CLI, expects a non-zero exit and one readable error line on stderr, and returns
// that line.
func (s *server) fails(t *testing.T, dir string, args ...string) string {
	t.Helper()
	r := s.hearth(t, dir, args...)
	if r.code == 0 {
		t.Fatalf("hearth %s: exit 0, want a failure\nstdout: %s", strings.Join(args, " "), r.stdout)
	}
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	last := lines[len(lines)-1]
	if last == "" || strings.Contains(r.stderr, "panic") || strings.Contains(r.stderr, "goroutine ") {
		t.Fatalf("hearth %s: want a readable error line, got stderr:\n%s", strings.Join(args, " "), r.stderr)
	}
	return last
}

// newFunction scaffolds a Go function named name in a temp dir and returns its directory. The
// images built for it are removed when the test ends.
func (s *server) newFunction(t *testing.T, name string) string {
	t.Helper()
	parent := t.TempDir()
	s.must(t, parent, "init", "--runtime", "go", name)
	return filepath.Join(parent, name)
}

var packageRe = regexp.MustCompile(`(?m)^package (\w+)`)

// writeHandler replaces the scaffold's handler with body (the inside of Handle), keeping the
// scaffold's package name; imports lists the packages body needs.
func writeHandler(t *testing.T, dir string, imports []string, body string) {
	t.Helper()
	path := filepath.Join(dir, "handler.go")
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the go scaffold has no handler.go: %v", err)
	}
	m := packageRe.FindSubmatch(old)
	if m == nil {
		t.Fatalf("no package clause in %s", path)
	}
	imports = append(imports, "net/http")
	var b strings.Builder
	fmt.Fprintf(&b, "package %s\n\nimport (\n", m[1])
	for _, imp := range imports {
		fmt.Fprintf(&b, "\t%q\n", imp)
	}
	fmt.Fprintf(&b, ")\n\n// Handle is the test's handler.\nfunc Handle(w http.ResponseWriter, r *http.Request) {\n%s\n}\n", body)
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// setFuncYAML rewrites func.yaml's field key (adding it when missing).
func setFuncYAML(t *testing.T, dir, key, value string) {
	t.Helper()
	path := filepath.Join(dir, "func.yaml")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(key) + `:.*$`)
	line := key + ": " + value
	var out string
	if re.Match(b) {
		out = re.ReplaceAllString(string(b), line)
	} else {
		out = strings.TrimRight(string(b), "\n") + "\n" + line + "\n"
	}
	if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// functionImage returns the image of the function's current version, as `hearth inspect` says.
func functionImage(t *testing.T, s *server, dir, name string) string {
	t.Helper()
	var fn api.Function
	out := s.must(t, dir, "inspect", name, "-o", "json")
	if err := json.Unmarshal([]byte(out.stdout), &fn); err != nil || fn.Version.Image == "" {
		t.Fatalf("inspect -o json: %v\n%s", err, out.stdout)
	}
	return fn.Version.Image
}

// writeFile writes data to the slash-separated path rel under dir, making its folders.
func writeFile(t *testing.T, dir, rel, data string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeFiles writes each slash-separated path of files under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for rel, data := range files {
		writeFile(t, dir, rel, data)
	}
}

// adminToken returns the admin token the server wrote into its data directory at its first
// start ("" before the server has written one).
func (s *server) adminToken(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.dataDir, "admin-token"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// do sends req with the server's admin token, unless req carries an Authorization header of
// its own, and returns the answer; the caller closes its body.
func (s *server) do(t *testing.T, req *http.Request) *http.Response {
	t.Helper()
	if req.Header.Get("Authorization") == "" {
		if tok := s.adminToken(t); tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	return resp
}

// request sends method path (on the server) with the server's admin token, as the CLI on the
// server's machine would: the tests of what functions do are not about tokens (auth_test.go is).
func (s *server) request(method, path, contentType string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequest(method, s.URL+path, body)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if b, err := os.ReadFile(filepath.Join(s.dataDir, "admin-token")); err == nil {
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(b)))
	}
	return http.DefaultClient.Do(req)
}

// get is http.Get of a path on the server, with the admin token.
func (s *server) get(path string) (*http.Response, error) {
	return s.request(http.MethodGet, path, "", nil)
}

// post is http.Post of a path on the server, with the admin token.
func (s *server) post(path, contentType string, body io.Reader) (*http.Response, error) {
	return s.request(http.MethodPost, path, contentType, body)
}

// postAs sends body to path on the server with the given content type and the admin token, and
// returns the status and the whole answer.
func (s *server) postAs(t *testing.T, contentType, path, body string) (int, string) {
	t.Helper()
	resp, err := s.post(path, contentType, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}
