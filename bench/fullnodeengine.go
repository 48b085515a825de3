package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	dockerclient "github.com/docker/docker/client"

	"github.com/hearthfn/hearth/agent/driver/docker"
	"github.com/hearthfn/hearth/agent/instance"
)

// The full-node section's side of the engine (fullnode.go): a counter of each server's Docker
// API requests, and the cleanup.

// engineCounter is a reverse proxy on a unix socket of its own in front of the Docker Engine,
// for one server (--docker-host): it counts that server's requests by kind. dockerd's CPU counts
// every client's work, other sessions' on a shared machine too; the count is the server's alone.
type engineCounter struct {
	dir    string
	srv    *http.Server
	mu     sync.Mutex
	counts map[string]int
}

// startEngineCounter serves a counting proxy to the engine at host, a unix:// address.
func startEngineCounter(host string) (*engineCounter, error) {
	sock, ok := strings.CutPrefix(host, "unix://")
	if !ok {
		return nil, fmt.Errorf("the engine at %s is not on a unix socket", host)
	}
	dir, err := os.MkdirTemp("", "hearth-bench-engine-")
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("unix", filepath.Join(dir, "docker.sock"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	c := &engineCounter{dir: dir, counts: map[string]int{}}
	var dialer net.Dialer
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(&url.URL{Scheme: "http", Host: "docker"}) },
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, "unix", sock)
		}},
		// Logs, events and build output stream: each write goes on at once.
		FlushInterval: -1,
		// A client that went away (a log follow closed at a stop) is no error worth a line.
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, _ error) { w.WriteHeader(http.StatusBadGateway) },
	}
	c.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.counts[requestKind(r.Method, r.URL.Path)]++
		c.mu.Unlock()
		proxy.ServeHTTP(w, r)
	})}
	go func() { _ = c.srv.Serve(l) }()
	return c, nil
}

// host is the --docker-host of the server behind the counter.
func (c *engineCounter) host() string { return "unix://" + filepath.Join(c.dir, "docker.sock") }

// snapshot returns the counts so far.
func (c *engineCounter) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.counts))
	for k, v := range c.counts {
		out[k] = v
	}
	return out
}

func (c *engineCounter) close() {
	_ = c.srv.Close()
	os.RemoveAll(c.dir)
}

// apiVersion starts a versioned Docker API path.
var apiVersion = regexp.MustCompile(`^/v[0-9.]+/`)

var (
	// objectCollections hold objects named in the path after them (/containers/ID/json);
	// collectionVerbs are what may follow a collection instead (/containers/json).
	objectCollections = map[string]bool{"containers": true, "images": true, "networks": true, "volumes": true, "exec": true}
	collectionVerbs   = map[string]bool{"json": true, "create": true, "prune": true, "search": true, "load": true, "get": true}
	// imageActions end an image's path; the name before them may hold slashes.
	imageActions = map[string]bool{"json": true, "history": true, "push": true, "tag": true}
)

// requestKind names a Docker API request without its version and object: "GET
// /containers/json", "POST /containers/{id}/start".
func requestKind(method, path string) string {
	path = apiVersion.ReplaceAllString(path, "/")
	seg := strings.Split(strings.TrimPrefix(path, "/"), "/")
	if len(seg) >= 2 && objectCollections[seg[0]] && !collectionVerbs[seg[1]] {
		rest := ""
		switch last := seg[len(seg)-1]; {
		case seg[0] == "images":
			if len(seg) > 2 && imageActions[last] {
				rest = "/" + last
			}
		case len(seg) > 2:
			rest = "/" + strings.Join(seg[2:], "/")
		}
		path = "/" + seg[0] + "/{id}" + rest
	}
	return method + " " + path
}

// requestCount is how many requests of one kind a server made.
type requestCount struct {
	Kind  string `json:"kind"`
	Count int    `json:"count"`
}

// countsSince returns what was made between two snapshots, most frequent first.
func countsSince(before, after map[string]int) []requestCount {
	var out []requestCount
	for k, v := range after {
		if d := v - before[k]; d > 0 {
			out = append(out, requestCount{k, d})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Kind < out[j].Kind
	})
	return out
}

// fullSweepLimit bounds the cleanup: an engine that stops answering must not hold the bench.
const fullSweepLimit = 5 * time.Minute

// sweepFullNode removes what the servers left of the section, then every image it built. A
// server that stops keeps its instances for the next start to adopt, frozen ones frozen, and
// the sandboxes of those started from a prepared instance. Each instance goes through the
// driver's Stop, which thaws a frozen container before stopping it (a SIGKILL cannot end a
// frozen process, and Docker's kill then waits) and removes its sandbox after it; sandboxes
// left without an instance go last. Two at a time: Docker 20.10's network code deadlocked on
// this machine under four concurrent force-removals of frozen containers and their sandboxes.
func sweepFullNode(ctx context.Context, host string, drv *docker.Driver) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fullSweepLimit)
	defer cancel()
	api, err := dockerclient.NewClientWithOpts(dockerclient.WithHost(host), dockerclient.WithAPIVersionNegotiation())
	if err != nil {
		logf("fullnode: cleanup: %v", err)
		return
	}
	defer api.Close()
	t0 := time.Now()
	if all, err := drv.List(ctx); err == nil {
		var ids []string
		for _, st := range all {
			if ours(st.Function) {
				ids = append(ids, st.Instance.ID)
			}
		}
		logf("fullnode: stopping the %d instances the servers left", len(ids))
		_ = parallelN(ctx, 2, ids, func(id string) error {
			_ = drv.Stop(ctx, id, time.Second) // best effort: the sweep below and the log say what stays
			return nil
		})
	}
	cs, err := api.ContainerList(ctx, container.ListOptions{All: true,
		Filters: filters.NewArgs(filters.Arg("label", instance.LabelOwner+"="+instance.OwnerValue))})
	if err == nil {
		var ids []string
		for _, c := range cs {
			if ours(c.Labels[instance.LabelFunction]) || ours(c.Labels[sandboxLabel]) {
				ids = append(ids, c.ID)
			}
		}
		_ = parallelN(ctx, 2, ids, func(id string) error {
			_ = api.ContainerRemove(ctx, id, container.RemoveOptions{Force: true})
			return nil
		})
	}
	removeFullImages(ctx, api)
	logf("fullnode: cleanup took %.1f s", time.Since(t0).Seconds())
	if ctx.Err() != nil {
		logf("fullnode: cleanup cut short after %s: containers or images of %s* and %s* may be left", fullSweepLimit, fullPrefix, onePrefix)
	}
}

// sandboxLabel is the docker driver's label on a prepared instance's sandbox; its value is the
// instance's id, which starts with the function's name.
const sandboxLabel = "hearth.sandbox"

// ours says whether a function name (or an instance id) is the section's.
func ours(name string) bool {
	return strings.HasPrefix(name, fullPrefix) || strings.HasPrefix(name, onePrefix)
}

// removeFullImages removes the section's images, children before parents: every image but the
// seed's is built FROM the seed's.
func removeFullImages(ctx context.Context, api *dockerclient.Client) {
	for range 4 {
		imgs, err := api.ImageList(ctx, image.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", instance.LabelFunction))})
		if err != nil {
			return
		}
		parents := map[string]bool{}
		for _, img := range imgs {
			parents[img.ParentID] = true
		}
		var leaves []string
		for _, img := range imgs {
			if ours(img.Labels[instance.LabelFunction]) && !parents[img.ID] {
				leaves = append(leaves, img.ID)
			}
		}
		if len(leaves) == 0 {
			return
		}
		_ = parallelN(ctx, 2, leaves, func(id string) error {
			_, _ = api.ImageRemove(ctx, id, image.RemoveOptions{Force: true, PruneChildren: true})
			return nil
		})
	}
}
