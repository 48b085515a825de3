//go:build e2e

package e2e

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
)

// healthInterval is the pool's health interval (scheduler/pool.DefaultConfig): nodes that do
// not report their instances' changes are listed that often.
const healthInterval = 2 * time.Second

// TestLivenessFollowsEngineEvents: the server follows the engine's events rather than listing
// its containers on a timer. A container killed behind hearth's back is replaced within a
// second of the kill (the "seen within a second"), and an idle server makes no
// container listing at all: every request the server and its driver plugin make to the engine
// goes through a counting proxy in front of the engine's socket (--docker-host).
func TestLivenessFollowsEngineEvents(t *testing.T) {
	engine := startEngineCounter(t)
	s := startServer(t, serverOpts{extraArgs: []string{"--docker-host", "unix://" + engine.socket}})
	dir := echoFunction(t, s, "lively", map[string]string{"idle_timeout": "10m"})
	s.must(t, dir, "deploy")
	first := s.mustInvoke(t, "lively", "")
	if first.instance == "" {
		t.Fatal("the call's answer names no instance (X-Instance)")
	}

	if out, err := exec.Command("docker", "kill", containerOf(t, "", first.instance)).CombinedOutput(); err != nil {
		t.Fatalf("docker kill: %v: %s", err, out)
	}
	killed := time.Now()
	for listed(s.pool(t, "lively").Instances, first.instance) {
		if time.Since(killed) > time.Second {
			t.Fatalf("the killed instance %s is still in the pool %s after the kill", first.instance, time.Since(killed).Round(time.Millisecond))
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("the killed instance left the pool %s after the kill returned", time.Since(killed).Round(time.Millisecond))
	if next := s.mustInvoke(t, "lively", ""); next.instance == first.instance {
		t.Fatalf("the call after the kill went to the killed instance %s", first.instance)
	}

	// The proxy is in the engine's path: the node's first listing went through it.
	if lists := listings(engine.since(0)); len(lists) == 0 {
		t.Fatalf("no container listing went through the engine counter: is the server on --docker-host?\n%v", engine.since(0))
	}

	// Idle: what the start, the kill and the call set going has settled after a health
	// interval; over the next three the pool's tick would have listed the node three times.
	time.Sleep(healthInterval)
	from := engine.mark()
	time.Sleep(3 * healthInterval)
	reqs := engine.since(from)
	if lists := listings(reqs); len(lists) > 0 {
		t.Fatalf("the idle server listed the engine's containers %d times over %s: %q\nall requests: %v",
			len(lists), 3*healthInterval, lists, reqs)
	}
	t.Logf("requests to the engine over %s of idling: %d %v", 3*healthInterval, len(reqs), reqs)
}

// listed reports whether an instance of that id is among ins.
func listed(ins []api.InstanceStatus, id string) bool {
	return slices.ContainsFunc(ins, func(in api.InstanceStatus) bool { return in.ID == id })
}

// listings returns the paths of the container listings among reqs.
func listings(reqs []engineRequest) []string {
	var out []string
	for _, r := range reqs {
		if r.method == http.MethodGet && containersJSON.MatchString(r.path) {
			out = append(out, r.path)
		}
	}
	return out
}

// containersJSON matches the path of a container listing, with or without the API version.
var containersJSON = regexp.MustCompile(`^(/v[0-9.]+)?/containers/json(\?|$)`)

// engineCounter is a proxy in front of the machine's Docker Engine socket that records the
// request line of every HTTP request through it. It copies bytes as they are (streams,
// hijacked connections and all) and reads the request lines off the client's side.
type engineCounter struct {
	socket string

	mu    sync.Mutex
	reqs  []engineRequest
	conns map[net.Conn]struct{}
}

type engineRequest struct {
	method, path string
}

func (r engineRequest) String() string { return r.method + " " + r.path }

// requestLine matches an HTTP/1.x request line.
var requestLine = regexp.MustCompile(`^([A-Z]+) (/\S*) HTTP/1\.[01]\r?$`)

func startEngineCounter(t *testing.T) *engineCounter {
	t.Helper()
	upstream := "/var/run/docker.sock"
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		if !strings.HasPrefix(h, "unix://") {
			t.Fatalf("DOCKER_HOST=%s: the engine counter proxies a unix socket only", h)
		}
		upstream = strings.TrimPrefix(h, "unix://")
	}
	// A short path: a unix socket's path is limited to 108 bytes.
	dir, err := os.MkdirTemp("", "hearth-engine-")
	if err != nil {
		t.Fatal(err)
	}
	c := &engineCounter{socket: filepath.Join(dir, "docker.sock"), conns: map[net.Conn]struct{}{}}
	ln, err := net.Listen("unix", c.socket)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("unix", upstream)
			if err != nil {
				conn.Close()
				continue
			}
			if !c.track(conn, up) {
				return
			}
			wg.Go(func() {
				_, _ = io.Copy(conn, up)
				conn.Close()
			})
			wg.Go(func() {
				c.copyRequests(up, conn)
				up.Close()
			})
		}
	})
	// After the server's own cleanup (registered later, run first): the server stops through
	// the proxy.
	t.Cleanup(func() {
		ln.Close()
		c.mu.Lock()
		for conn := range c.conns {
			conn.Close()
		}
		c.conns = nil
		c.mu.Unlock()
		wg.Wait()
		os.RemoveAll(dir)
	})
	return c
}

// track records a proxied connection's two ends, to close them at cleanup; false once closed.
func (c *engineCounter) track(conns ...net.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conns == nil {
		for _, conn := range conns {
			conn.Close()
		}
		return false
	}
	for _, conn := range conns {
		c.conns[conn] = struct{}{}
	}
	return true
}

// copyRequests copies the client's bytes to the engine and records every request line in them.
// Lines are cut at newlines; a long one (a body's) is only looked at by its start.
func (c *engineCounter) copyRequests(dst io.Writer, src io.Reader) {
	const maxLine = 4096
	buf := make([]byte, 32<<10)
	var line []byte
	for {
		n, err := src.Read(buf)
		if n > 0 {
			chunk := buf[:n]
			for len(chunk) > 0 {
				i := bytes.IndexByte(chunk, '\n')
				if i < 0 {
					if room := maxLine - len(line); room > 0 {
						line = append(line, chunk[:min(room, len(chunk))]...)
					}
					break
				}
				if room := maxLine - len(line); room > 0 {
					line = append(line, chunk[:min(room, i)]...)
				}
				if m := requestLine.FindSubmatch(line); m != nil {
					c.mu.Lock()
					c.reqs = append(c.reqs, engineRequest{method: string(m[1]), path: string(m[2])})
					c.mu.Unlock()
				}
				line = line[:0]
				chunk = chunk[i+1:]
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// mark returns a position in the record, for since.
func (c *engineCounter) mark() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.reqs)
}

// since returns the requests recorded after mark.
func (c *engineCounter) since(mark int) []engineRequest {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.reqs[mark:])
}
