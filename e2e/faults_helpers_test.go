//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/internal/testimage"
	"github.com/hearthfn/hearth/runtimes/contract"
)

// Helpers of the fault tests (faults_test.go, engine_test.go). Every raw request goes through
// s.do or carries the server's token, so that they work as well once the API asks for one.

// echoFunction writes a `runtime: docker` function named name into a new temp dir and returns
// the dir: a FROM scratch image of internal/testimage's echo server, which needs no base image
// (so it builds on an engine that has none) and lets each call choose its behaviour (?sleep=2s;
// X-Instance names the instance). settings are extra func.yaml lines.
func echoFunction(t *testing.T, s *server, name string, settings map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := testimage.BuildServer(filepath.Join(dir, "echo")); err != nil {
		t.Fatal(err)
	}
	yaml := fmt.Sprintf("name: %s\nversion: 0.1.0\nruntime: docker\nmemory: 64\n", name)
	for k, v := range settings {
		yaml += k + ": " + v + "\n"
	}
	writeFiles(t, dir, map[string]string{
		"func.yaml":  yaml,
		"Dockerfile": "FROM scratch\nCOPY echo /echo\nENV PORT=8080\nEXPOSE 8080\nENTRYPOINT [\"/echo\"]\n",
	})
	return dir
}

// answer is one call's outcome, as the fault tests look at it.
type answer struct {
	status   int
	code     string // the error body's code, for an error
	message  string
	instance string // X-Instance: the instance that answered
	retry    string // Retry-After
	callID   string
	began    time.Time
	took     time.Duration
	err      error // the request itself failed
}

// tryInvoke calls function with token and never fails the test: load goroutines use it and send
// what they got back to the test's goroutine. query is added to the URL as it is.
func tryInvoke(ctx context.Context, url, token, function, query string, header http.Header) (a answer) {
	a.began = time.Now()
	defer func() { a.took = time.Since(a.began) }()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/invoke/"+function+query, strings.NewReader("ping"))
	if err != nil {
		a.err = err
		return a
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.err = err
		return a
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	a.status, a.instance, a.retry, a.err = resp.StatusCode, resp.Header.Get("X-Instance"), resp.Header.Get("Retry-After"), err
	a.callID = resp.Header.Get(contract.HeaderCallID)
	if resp.StatusCode >= 400 {
		var e api.ErrorBody
		if json.Unmarshal(b, &e) == nil {
			a.code, a.message = e.Error.Code, e.Error.Message
		}
	} else {
		a.message = string(b)
	}
	return a
}

// invokeNow is tryInvoke from the test's goroutine, bounded by a minute.
func (s *server) invokeNow(t *testing.T, function, query string, header http.Header) answer {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	return tryInvoke(ctx, s.URL, s.adminToken(t), function, query, header)
}

// mustInvoke calls function and fails the test unless it answers 200; it returns the answer.
func (s *server) mustInvoke(t *testing.T, function, query string) answer {
	t.Helper()
	a := s.invokeNow(t, function, query, nil)
	if a.err != nil || a.status != http.StatusOK {
		t.Fatalf("call %s%s: %d %s %s (%v)", function, query, a.status, a.code, a.message, a.err)
	}
	return a
}

// getJSON GETs path with the server's token into v and returns the status.
func (s *server) getJSON(t *testing.T, path string, v any) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp := s.do(t, req)
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK && v != nil {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
	}
	return resp.StatusCode
}

// info reads GET /v1/info.
func (s *server) info(t *testing.T) api.Info {
	t.Helper()
	var info api.Info
	if st := s.getJSON(t, "/v1/info", &info); st != http.StatusOK {
		t.Fatalf("GET /v1/info: %d", st)
	}
	return info
}

// pool reads a function's pool.
func (s *server) pool(t *testing.T, name string) api.PoolStatus {
	t.Helper()
	var fn api.Function
	if st := s.getJSON(t, "/v1/functions/"+name, &fn); st != http.StatusOK || fn.Pool == nil {
		t.Fatalf("GET function %s: %d (pool %v)", name, st, fn.Pool)
	}
	return *fn.Pool
}

// nodeID is the server's node id, which labels its containers.
func (s *server) nodeID(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.dataDir, "node-id"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// containersOn lists the containers of node on an engine (host "" for the machine's own), all
// states, as "instance-id state" lines; function "" for all of the node's.
func containersOn(t *testing.T, host, node, function string) []string {
	t.Helper()
	args := []string{"ps", "-a", "--format", `{{.Label "hearth.instance"}} {{.State}}`, "--filter", "label=hearth.node=" + node}
	if function != "" {
		args = append(args, "--filter", "label=hearth.function="+function)
	}
	if host != "" {
		args = append([]string{"-H", host}, args...)
	}
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// containerOf returns the id of the container of an instance on an engine (host "" for the
// machine's own).
func containerOf(t *testing.T, host, instanceID string) string {
	t.Helper()
	args := []string{"ps", "-aq", "--filter", "label=hearth.instance=" + instanceID}
	if host != "" {
		args = append([]string{"-H", host}, args...)
	}
	out, err := exec.Command("docker", args...).CombinedOutput()
	ids := strings.Fields(string(out))
	if err != nil || len(ids) != 1 {
		t.Fatalf("docker %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return ids[0]
}

// serverLogShows waits until the server's log has a line containing text.
func serverLogShows(t *testing.T, s *server, text string) {
	t.Helper()
	eventually(t, "the server's log to say "+text, func() bool { return strings.Contains(s.logs(), text) })
}

// lockStoreWrites takes the write lock of the server's store from this process, as another
// program writing to hearth.db would hold it, and returns what gives it back (also called at
// cleanup). The store's writes then fail once they have waited out its busy timeout, while its
// reads go on.
//
// Why this way: the tests run as root, whom file modes do not stop; a full disk is unreliable,
// since SQLite rewrites its WAL file in place without growing it; and this package may not link
// the SQLite driver (scripts/check-imports.sh). The store runs in WAL mode, where the write
// lock is a POSIX lock on byte 120 of the "-shm" file (https://www.sqlite.org/walformat.html,
// "the WAL-index lock bytes"), which fcntl takes from any process. Like every process that has
// the database open, this one also holds a shared lock on the "DMS" byte after the lock bytes
// (128): without it, a connection the server opens anew would take the shared memory for its
// own alone and rebuild it, which needs the write lock, and fail in a different way
// (SQLITE_PROTOCOL after ten seconds) than against a real second writer.
func lockStoreWrites(t *testing.T, dataDir string) (release func()) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(dataDir, "hearth.db-shm"), os.O_RDWR, 0)
	if err != nil {
		t.Fatalf("open the store's shared-memory file: %v", err)
	}
	// The server may hold either byte this instant (opening, writing): wait for it, as another
	// SQLite process would.
	deadline := time.Now().Add(30 * time.Second)
	for _, lock := range []syscall.Flock_t{
		{Type: syscall.F_RDLCK, Whence: io.SeekStart, Start: 128, Len: 1},
		{Type: syscall.F_WRLCK, Whence: io.SeekStart, Start: 120, Len: 1},
	} {
		for {
			err := syscall.FcntlFlock(f.Fd(), syscall.F_SETLK, &lock)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				f.Close()
				t.Fatalf("take the store's lock byte %d: %v", lock.Start, err)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	released := false
	release = func() {
		if released {
			return
		}
		released = true
		unlock := syscall.Flock_t{Type: syscall.F_UNLCK, Whence: io.SeekStart, Start: 120, Len: 9}
		if err := syscall.FcntlFlock(f.Fd(), syscall.F_SETLK, &unlock); err != nil {
			t.Errorf("release the store's write lock: %v", err)
		}
		f.Close()
	}
	t.Cleanup(release)
	return release
}
