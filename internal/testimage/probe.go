package testimage

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Probe is the answer of GET /_probe: how the instance is confined, seen from inside. It has
// the same fields as the server's own type (echo/probe.go); TestProbeFields keeps them equal.
type Probe struct {
	UID, GID int
	// CapEff and NoNewPrivs are the lines of /proc/self/status ("0000000000000000", "1").
	CapEff     string
	NoNewPrivs string
	// RootWrite is the outcome of creating a file in /: "ok", "EROFS", "EACCES" or another
	// error's text; TmpWrite the same in /tmp, and TmpBytes the size of /tmp's file system.
	RootWrite string
	TmpWrite  string
	TmpBytes  int64
	// PidsMax is the pids cgroup's limit ("max" for none, "" when it cannot be read).
	PidsMax string
	// NoFileSoft and NoFileHard are RLIMIT_NOFILE.
	NoFileSoft, NoFileHard uint64
	// Pid is the server's PID; Init is PID 1's command line, arguments joined by spaces.
	Pid  int
	Init string
}

// DialResult is the answer of GET /_dial: whether a TCP connection from inside the instance
// could be opened.
type DialResult struct {
	Connected bool
	Error     string
}

// GetProbe asks the instance at endpoint (host:port) for its Probe.
func GetProbe(t testing.TB, endpoint string) Probe {
	t.Helper()
	var p Probe
	getJSON(t, "http://"+endpoint+"/_probe", &p)
	return p
}

// Dial asks the instance at endpoint to open a TCP connection to addr, giving up after timeout.
func Dial(t testing.TB, endpoint, addr string, timeout time.Duration) DialResult {
	t.Helper()
	var r DialResult
	getJSON(t, "http://"+endpoint+"/_dial?"+url.Values{"addr": {addr}, "timeout": {timeout.String()}}.Encode(), &r)
	return r
}

func getJSON(t testing.TB, u string, v any) {
	t.Helper()
	c := &http.Client{Timeout: time.Minute}
	resp, err := c.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer func() { _ = resp.Body.Close() }()
	dec := json.NewDecoder(resp.Body)
	dec.DisallowUnknownFields()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", u, resp.Status)
	}
	if err := dec.Decode(v); err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
}

// EnsureWithUser returns an image of the test server whose Dockerfile sets USER user (such as
// "1234:1234" or "0"), built once and kept like the image Ensure makes.
func EnsureWithUser(t testing.TB, user string) string {
	t.Helper()
	base := Ensure(t)
	df := fmt.Sprintf("FROM %s\nUSER %s\n", base, user)
	sum := sha256.Sum256([]byte(df))
	ref := Repository + ":user-" + hex.EncodeToString(sum[:])[:16]
	mu.Lock()
	defer mu.Unlock()
	if _, err := run(nil, "", "docker", "image", "inspect", "--format", "{{.Id}}", ref); err == nil {
		return ref
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := run([]string{"DOCKER_BUILDKIT=0"}, dir, "docker", "build", "-q", "-t", ref, "."); err != nil {
		t.Fatalf("testimage: build %s: %v\n%s", ref, err, strings.TrimSpace(out))
	}
	return ref
}
