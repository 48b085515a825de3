// Package testimage gives integration tests a function image to run on the real Docker Engine:
// a static Go HTTP server in a FROM scratch image, built locally because no registry is
// reachable from the test machines.
//
// The server (source in echo/) obeys the function contract and lets each request choose its
// behaviour:
//   - it serves on $PORT (default 8080) and answers GET /_/ready with 200;
//   - any other request gets its body echoed back, with the status of the "status" query
//     parameter (default 200), after sleeping for the "sleep" parameter (a Go duration such as
//     "2s", cut short if the caller goes away);
//   - "panic=1" makes the handler panic, which is answered with a 500 and the contract's JSON
//     error body, and the server keeps serving;
//   - "exit=N" makes the process exit with code N right after answering;
//   - every response carries the container's hostname in the X-Instance header (the Docker
//     driver sets it to the instance id);
//   - it prints a line to stdout when it starts and one per request ("GET /path?query");
//   - GET /_probe reports how the instance is confined, seen from inside (Probe: uid, gid,
//     capabilities, no-new-privileges, whether / and /tmp can be written, /tmp's size, the
//     PID limit, the open-files limit, PID 1's command line);
//   - GET /_dial?addr=host:port[&timeout=2s] tries a TCP connection from inside the instance
//     and reports the outcome (DialResult).
//
// Where to read next: agent/driver/drivertest, which runs every driver against this image.
package testimage

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// Repository is the image repository; the tag is a hash of everything the image is built from.
const Repository = "hearth-test/echo"

//go:embed echo/main.go
var echoSource []byte

//go:embed echo/probe.go
var probeSource []byte

const goMod = "module hearth-test/echo\n\ngo 1.26\n"

const dockerfile = `FROM scratch
COPY echo /echo
LABEL hearth.test="1"
EXPOSE 8080
ENTRYPOINT ["/echo"]
`

var (
	mu       sync.Mutex // guards built and buildErr
	built    string
	buildErr error
)

// Ensure returns the reference of the test image, building it the first time a process asks
// (or reusing it when the engine already has that content-hash tag). It fails the test when the
// image cannot be had: no Docker Engine, no Go toolchain. It never skips.
func Ensure(t testing.TB) string {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if built == "" && buildErr == nil {
		built, buildErr = ensure()
	}
	if buildErr != nil {
		t.Fatalf("testimage: %v", buildErr)
	}
	return built
}

// Ref returns the reference Ensure builds, without building anything.
func Ref() string {
	h := sha256.New()
	for _, part := range []string{string(echoSource), string(probeSource), goMod, dockerfile, runtime.GOARCH} {
		fmt.Fprintf(h, "%d:%s", len(part), part)
	}
	return Repository + ":" + hex.EncodeToString(h.Sum(nil))[:16]
}

func ensure() (string, error) {
	ref := Ref()
	if out, err := run(nil, "", "docker", "version", "--format", "{{.Server.Version}}"); err != nil {
		return "", fmt.Errorf("the Docker Engine is not reachable (the project's scripts start it): %v\n%s", err, out)
	}
	// Test binaries of several packages run at once and may all want the image: one builds, the
	// others wait for it and then find the tag.
	unlock, err := lockFile(filepath.Join(os.TempDir(), "hearth-testimage.lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := run(nil, "", "docker", "image", "inspect", "--format", "{{.Id}}", ref); err == nil {
		return ref, nil
	}
	if err := build(ref); err != nil {
		return "", fmt.Errorf("build %s: %w", ref, err)
	}
	return ref, nil
}

// build compiles the server statically on the host and wraps it in a FROM scratch image.
func build(ref string) error {
	bctx, err := os.MkdirTemp("", "hearth-testimage-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(bctx) }()
	if err := os.WriteFile(filepath.Join(bctx, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		return err
	}
	if err := BuildServer(filepath.Join(bctx, "echo")); err != nil {
		return err
	}
	// The classic builder: the machines have no buildx.
	if out, err := run([]string{"DOCKER_BUILDKIT=0"}, bctx, "docker", "build", "-q", "-t", ref, "."); err != nil {
		return fmt.Errorf("docker build: %v\n%s", err, out)
	}
	return nil
}

// BuildServer compiles the image's server into the file dst: a static Linux binary for the
// host's architecture, which runs in a FROM scratch image. It is for tests that build an image
// of their own, such as on an engine that has none of the host's images.
func BuildServer(dst string) error {
	src, err := os.MkdirTemp("", "hearth-testimage-src-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(src) }()
	files := map[string]string{"main.go": string(echoSource), "probe.go": string(probeSource), "go.mod": goMod}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(src, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	goEnv := []string{
		"CGO_ENABLED=0", "GOOS=linux", "GOARCH=" + runtime.GOARCH,
		// The source is a module of its own with no dependencies: nothing from the caller's
		// module or workspace settings applies, and nothing needs downloading.
		"GOFLAGS=", "GOWORK=off", "GOTOOLCHAIN=local", "GOPROXY=off",
	}
	if out, err := run(goEnv, src, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", dst, "."); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	return nil
}

// run runs a command with extra environment in dir and returns its combined output.
func run(env []string, dir, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return strings.TrimSpace(out.String()), err
}

// lockFile takes an exclusive lock on path, shared by every process on the machine.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		_ = f.Close()
	}, nil
}
