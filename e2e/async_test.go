//go:build e2e

package e2e

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
)

// getCall reads one call record through the CLI.
func getCall(t *testing.T, s *server, id string) api.Call {
	t.Helper()
	out := s.must(t, t.TempDir(), "calls", "get", id, "-o", "json")
	var c api.Call
	if err := json.Unmarshal([]byte(out.stdout), &c); err != nil {
		t.Fatalf("calls get -o json: %v\n%s", err, out.stdout)
	}
	return c
}

// invokeAsync sends an async call through the CLI and returns its id.
func invokeAsync(t *testing.T, s *server, name string, args ...string) string {
	t.Helper()
	out := s.must(t, t.TempDir(), append([]string{"invoke", name, "--async"}, args...)...)
	id := strings.TrimSpace(out.stdout)
	if len(id) != 32 {
		t.Fatalf("invoke --async printed %q, want a call id", out.stdout)
	}
	return id
}

// invokeRaw sends body to the function with the server's token and returns the status.
func invokeRaw(t *testing.T, s *server, pathAndQuery, body string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+"/invoke/"+pathAndQuery, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp := s.do(t, req)
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// TestAsyncCall: an async call is accepted at once, runs, and its result is fetched; its
// callback arrives; `hearth calls` lists it beside sync calls with the right statuses.
func TestAsyncCall(t *testing.T) {
	// The callback target listens on loopback, which a server refuses by default.
	s := startServer(t, serverOpts{extraArgs: []string{"--callback-allow-private"}})
	dir := s.newFunction(t, "later")
	writeHandler(t, dir, []string{"io"}, `	if r.URL.Query().Get("fail") != "" {
		panic("asked to fail")
	}
	b, _ := io.ReadAll(r.Body)
	w.Write([]byte("got " + string(b)))`)
	s.must(t, dir, "deploy")

	callbacks := make(chan api.Call, 1)
	cb := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var c api.Call
		if err := json.NewDecoder(r.Body).Decode(&c); err == nil {
			callbacks <- c
		}
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = cb.Serve(ln) }()
	t.Cleanup(func() { _ = cb.Close() })

	id := invokeAsync(t, s, "later", "-d", "parcel", "--callback", "http://"+ln.Addr().String()+"/done")
	var c api.Call
	eventually(t, "the async call to finish", func() bool { c = getCall(t, s, id); return c.Status.Finished() })
	if c.Status != api.CallSucceeded || c.Result == nil || string(c.Result.Body) != "got parcel" || !c.Async || c.Attempts != 1 {
		t.Fatalf("async call: %+v (result %+v), want succeeded with body %q after 1 attempt", c, c.Result, "got parcel")
	}
	select {
	case got := <-callbacks:
		if got.ID != id || got.Result == nil || string(got.Result.Body) != "got parcel" {
			t.Fatalf("callback carried %+v", got)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("no callback within 30 s")
	}

	if st := invokeRaw(t, s, "later", "sync"); st != http.StatusOK {
		t.Fatalf("sync call: %d", st)
	}
	invokeRaw(t, s, "later?fail=1", "")

	// Sync records are written off the hot path, within a moment.
	var list api.CallList
	eventually(t, "three call records", func() bool {
		out := s.must(t, dir, "calls", "later", "-o", "json")
		if err := json.Unmarshal([]byte(out.stdout), &list); err != nil {
			t.Fatalf("calls -o json: %v\n%s", err, out.stdout)
		}
		return len(list.Items) == 3
	})
	statuses := map[string]int{}
	for _, c := range list.Items {
		kind := "sync"
		if c.Async {
			kind = "async"
		}
		statuses[kind+" "+string(c.Status)]++
	}
	if statuses["async succeeded"] != 1 || statuses["sync succeeded"] != 1 || statuses["sync failed"] != 1 {
		t.Fatalf("calls lists %v, want one each of async succeeded, sync succeeded, sync failed", statuses)
	}
	for _, c := range list.Items {
		if c.Status == api.CallFailed && !strings.Contains(c.Error, "asked to fail") {
			t.Fatalf("the failed call's record has error %q, want the handler's panic", c.Error)
		}
	}
	table := s.must(t, dir, "calls", "later").stdout
	if !strings.Contains(table, id) || !strings.Contains(table, "failed") {
		t.Fatalf("hearth calls does not show the calls:\n%s", table)
	}
}

// TestAsyncCallbackToLoopbackRefused: a server run without --callback-allow-private refuses an
// async call whose callback is on loopback, with a 400 that says why and names the flag, and
// queues nothing.
func TestAsyncCallbackToLoopbackRefused(t *testing.T) {
	s := startServer(t, serverOpts{})
	dir := s.newFunction(t, "guarded")
	writeHandler(t, dir, nil, `	w.Write([]byte("ran"))`)
	s.must(t, dir, "deploy")

	for _, target := range []string{"http://127.0.0.1:9/done", "http://localhost:9/done", "http://[::1]:9/done", "http://169.254.169.254/latest/meta-data/"} {
		req, err := http.NewRequest(http.MethodPost, s.URL+"/invoke/guarded", strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set(api.HeaderAsync, "true")
		req.Header.Set(api.HeaderCallbackURL, target)
		resp := s.do(t, req)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("callback %s: status %d, want 400: %s", target, resp.StatusCode, b)
		}
		e := errorOf(t, string(b))
		if e.Code != api.CodeInvalid || !strings.Contains(e.Message, "--callback-allow-private") {
			t.Fatalf("callback %s: error %+v, want invalid naming --callback-allow-private", target, e)
		}
	}
	var list api.CallList
	out := s.must(t, dir, "calls", "guarded", "-o", "json")
	if err := json.Unmarshal([]byte(out.stdout), &list); err != nil {
		t.Fatalf("calls -o json: %v\n%s", err, out.stdout)
	}
	for _, c := range list.Items {
		if c.Async {
			t.Fatalf("a refused async call was queued: %+v", c)
		}
	}
}

// hitCounter counts, per call id, how many times a function ran; the function reports itself
// over HTTP to the Docker bridge's gateway, where the counter listens.
type hitCounter struct {
	mu   sync.Mutex
	hits map[string]int
	addr string
}

func newHitCounter(t *testing.T) *hitCounter {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(bridgeGateway(t), "0"))
	if err != nil {
		t.Fatal(err)
	}
	h := &hitCounter{hits: map[string]int{}, addr: ln.Addr().String()}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.hits[string(b)]++
		h.mu.Unlock()
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return h
}

// bridgeGateway returns the host's address on Docker's default bridge, where containers reach
// the host. The network's IPAM config names it when dockerd made the bridge; when dockerd found
// the bridge interface already there (a restarted daemon), the config has only the subnet, and
// the address is the interface's own.
func bridgeGateway(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("docker", "network", "inspect", "bridge", "-f",
		`{{range .IPAM.Config}}{{.Gateway}}{{end}} {{index .Options "com.docker.network.bridge.name"}}`).Output()
	if err != nil {
		t.Fatalf("inspect Docker's bridge network: %v", err)
	}
	fields := strings.Fields(string(out))
	if len(fields) == 2 {
		return fields[0]
	}
	if len(fields) != 1 {
		t.Fatalf("inspect Docker's bridge network: unexpected %q", out)
	}
	iface, err := net.InterfaceByName(fields[0])
	if err != nil {
		t.Fatalf("Docker's bridge interface %s: %v", fields[0], err)
	}
	addrs, err := iface.Addrs()
	if err != nil {
		t.Fatalf("addresses of %s: %v", fields[0], err)
	}
	for _, a := range addrs {
		if ip, ok := a.(*net.IPNet); ok && ip.IP.To4() != nil {
			return ip.IP.String()
		}
	}
	t.Fatalf("Docker's bridge interface %s has no IPv4 address", fields[0])
	return ""
}

func (h *hitCounter) count(id string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.hits[id]
}

// TestAsyncCallsSurviveKill: a server killed with SIGKILL while async calls are queued and one
// runs loses none of them: after a restart on the same store every call succeeds, and the calls
// that had finished before the kill are not run again.
func TestAsyncCallsSurviveKill(t *testing.T) {
	counter := newHitCounter(t)
	dataDir := t.TempDir()
	// The function reports to the counter on the host, which instances on hearth's own network
	// cannot reach: these servers put them on Docker's default bridge and open the host to them.
	reach := []string{"--instance-network", "bridge", "--instances-reach-host"}
	s1 := startServer(t, serverOpts{dataDir: dataDir, extraArgs: reach})
	dir := s1.newFunction(t, "durable")
	writeHandler(t, dir, []string{"os", "strings", "time"}, `	id := r.Header.Get("Hearth-Call-Id")
	resp, err := http.Post("http://"+os.Getenv("COUNTER")+"/hit", "text/plain", strings.NewReader(id))
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	time.Sleep(700 * time.Millisecond)
	w.Write([]byte("done " + id))`)
	setFuncYAML(t, dir, "max_instances", "1")
	setFuncYAML(t, dir, "env", "{COUNTER: \""+counter.addr+"\"}")
	s1.must(t, dir, "deploy")

	var ids []string
	for i := 0; i < 6; i++ {
		ids = append(ids, invokeAsync(t, s1, "durable"))
	}
	// Kill once some calls are done and the rest are queued or running.
	var doneBefore []string
	eventually(t, "two async calls to finish", func() bool {
		doneBefore = doneBefore[:0]
		for _, id := range ids {
			if getCall(t, s1, id).Status == api.CallSucceeded {
				doneBefore = append(doneBefore, id)
			}
		}
		return len(doneBefore) >= 2
	})
	if len(doneBefore) == len(ids) {
		t.Fatalf("every call finished before the kill; the test needs some left")
	}
	if err := s1.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-s1.done // the harness's cleanup then sees it stopped; s2 removes what it left behind

	s2 := startServer(t, serverOpts{dataDir: dataDir, extraArgs: reach})
	eventually(t, "every async call to succeed after the restart", func() bool {
		for _, id := range ids {
			if getCall(t, s2, id).Status != api.CallSucceeded {
				return false
			}
		}
		return true
	})
	for _, id := range ids {
		c := getCall(t, s2, id)
		if c.Result == nil || string(c.Result.Body) != "done "+id {
			t.Errorf("call %s: result %+v", id, c.Result)
		}
		if counter.count(id) < 1 {
			t.Errorf("call %s succeeded but its function never ran", id)
		}
	}
	for _, id := range doneBefore {
		if n := counter.count(id); n != 1 {
			t.Errorf("call %s had finished before the kill but ran %d times", id, n)
		}
	}
}
