//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/builder/buildctx"
)

// Faults behind hearth's back, on the machine's engine: a container paused or killed, the
// store locked by another process. The engine itself stopped and started again is in
// engine_test.go, on an engine of the test's own.

// TestPausedContainerNoticed: a warm instance's container paused behind hearth's back (docker
// pause) would hold the next call until the function's timeout; the pool's health check
// notices it and resumes the container, and the call is answered by the same instance well
// before that timeout.
func TestPausedContainerNoticed(t *testing.T) {
	const timeout = 60 * time.Second
	s := startServer(t, serverOpts{})
	dir := echoFunction(t, s, "frost", map[string]string{"timeout": timeout.String(), "idle_timeout": "10m"})
	s.must(t, dir, "deploy")
	warm := s.mustInvoke(t, "frost", "")
	p := s.pool(t, "frost")
	if len(p.Instances) != 1 {
		t.Fatalf("pool after the first call: %+v, want one instance", p.Instances)
	}
	container := containerOf(t, "", p.Instances[0].ID)
	if out, err := exec.Command("docker", "pause", container).CombinedOutput(); err != nil {
		t.Fatalf("docker pause: %v: %s", err, out)
	}

	a := s.invokeNow(t, "frost", "", nil)
	if a.err != nil || a.status != http.StatusOK || a.instance != warm.instance {
		t.Fatalf("call to the paused instance: %d %s %s (%v) from %q; want 200 from %q", a.status, a.code, a.message, a.err, a.instance, warm.instance)
	}
	if a.took >= timeout/2 {
		t.Fatalf("the call took %s: the paused container was not noticed within half the function's timeout (%s)", a.took, timeout)
	}
	if dockerPaused(t, container) {
		t.Fatalf("the container answered but Docker still says it is paused")
	}
	serverLogShows(t, s, "paused behind the pool's back")
	t.Logf("the call held by the paused container took %s (timeout %s)", a.took.Round(time.Millisecond), timeout)
}

// TestInstanceKilledMidCall: the caller of a call in flight on an instance whose container is
// killed gets 502 instance_failed at once, not a hang; the next call runs on a new instance,
// and the dead one's container is removed.
func TestInstanceKilledMidCall(t *testing.T) {
	s := startServer(t, serverOpts{})
	dir := echoFunction(t, s, "doomed", map[string]string{"timeout": "60s"})
	s.must(t, dir, "deploy")
	first := s.mustInvoke(t, "doomed", "")

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	slow := make(chan answer, 1)
	token := s.adminToken(t)
	go func() { slow <- tryInvoke(ctx, s.URL, token, "doomed", "?sleep=50s", nil) }()
	var victim string
	eventually(t, "the slow call to reach the instance", func() bool {
		p := s.pool(t, "doomed")
		if len(p.Instances) == 1 && p.Instances[0].InFlight == 1 {
			victim = p.Instances[0].ID
			return true
		}
		return false
	})
	if out, err := exec.Command("docker", "kill", containerOf(t, "", victim)).CombinedOutput(); err != nil {
		t.Fatalf("docker kill: %v: %s", err, out)
	}

	select {
	case a := <-slow:
		if a.err != nil || a.status != http.StatusBadGateway || a.code != api.CodeInstanceFailed {
			t.Fatalf("the call in flight on the killed instance got %d %q %s (%v), want 502 %s", a.status, a.code, a.message, a.err, api.CodeInstanceFailed)
		}
		t.Logf("the call in flight got %d %s after %s: %s", a.status, a.code, a.took.Round(time.Millisecond), a.message)
	case <-time.After(30 * time.Second):
		t.Fatal("no answer within 30 s of the kill: the call was left hanging on a dead instance")
	}
	next := s.mustInvoke(t, "doomed", "")
	if next.instance == first.instance {
		t.Fatalf("the call after the kill went to the killed instance %s", first.instance)
	}
	eventually(t, "the killed instance's container to be removed", func() bool {
		for _, c := range containersOn(t, "", s.nodeID(t), "doomed") {
			if strings.HasPrefix(c, victim+" ") {
				return false
			}
		}
		return true
	})
}

// TestStoreUnwritable: while another process holds the store's write lock, everything that
// must write answers 503 unavailable with Retry-After and a message naming the store, within
// moments of the store's busy timeout; what needs no write (sync calls, reads, /healthz) goes
// on; and once the lock is gone, the same requests succeed, with no restart, and the record of
// the call made meanwhile is stored.
func TestStoreUnwritable(t *testing.T) {
	s := startServer(t, serverOpts{})
	dir := echoFunction(t, s, "ledger", nil)
	s.must(t, dir, "deploy")
	s.mustInvoke(t, "ledger", "")
	release := lockStoreWrites(t, s.dataDir)

	// The first write waits out the store's busy timeout (5 s), and for as long again the writes
	// after it fail at once; none queues behind the others' waits (storeWait is a bound relative
	// to that timeout, not a speed claim).
	const storeWait = 5 * time.Second
	unavailable := func(what string, status int, retry, code, msg string) {
		t.Helper()
		if status != http.StatusServiceUnavailable || retry == "" || code != api.CodeUnavailable || !strings.Contains(msg, "store") {
			t.Fatalf("%s with the store locked: %d %s %q (Retry-After %q); want 503 %s with Retry-After, naming the store",
				what, status, code, msg, retry, api.CodeUnavailable)
		}
	}
	began := time.Now()
	status, retry, body := s.send(t, http.MethodPatch, "/v1/functions/ledger/config", "application/json", strings.NewReader(`{"memory": 96}`))
	e := errorOf(t, body)
	unavailable("config", status, retry, e.Code, e.Message)
	async := s.invokeNow(t, "ledger", "", http.Header{api.HeaderAsync: {"true"}})
	unavailable("async call", async.status, async.retry, async.code, async.message)
	if took := time.Since(began); took > 3*storeWait {
		t.Fatalf("the config change and the async call took %s to fail, against a store wait of %s: writes queue behind each other's waits", took, storeWait)
	}
	setFuncYAML(t, dir, "memory", "80")
	status, retry, e, streamed := s.deployRaw(t, dir, "ledger")
	if streamed {
		// The build printed its steps, so the answer began with 200: the failure to record the
		// version is its last event, which can carry no Retry-After.
		status, retry = http.StatusServiceUnavailable, "(streamed)"
	}
	unavailable("deploy", status, retry, e.Code, e.Message)

	// What needs no write goes on: sync calls (their records wait), reads, health.
	during := s.mustInvoke(t, "ledger", "")
	if st := s.getJSON(t, "/v1/functions/ledger", nil); st != http.StatusOK {
		t.Fatalf("GET the function with the store locked: %d, want 200", st)
	}
	if st := s.getJSON(t, "/healthz", nil); st != http.StatusOK {
		t.Fatalf("/healthz with the store locked: %d, want 200", st)
	}

	// Once the lock is gone, the store tries again within its busy timeout: until then, writes
	// still fail at once.
	release()
	eventually(t, "a config change to succeed once the store is writable", func() bool {
		status, _, body := s.send(t, http.MethodPatch, "/v1/functions/ledger/config", "application/json", strings.NewReader(`{"memory": 96}`))
		if status != http.StatusOK && errorOf(t, body).Code != api.CodeUnavailable {
			t.Fatalf("config once the store is writable: %d %s", status, body)
		}
		return status == http.StatusOK
	})
	if status, _, e, _ := s.deployRaw(t, dir, "ledger"); status != http.StatusOK || e.Code != "" {
		t.Fatalf("deploy once the store is writable: %d %+v", status, e)
	}
	accepted := s.invokeNow(t, "ledger", "", http.Header{api.HeaderAsync: {"true"}})
	if accepted.status != http.StatusAccepted || accepted.callID == "" {
		t.Fatalf("async call once the store is writable: %d %s %s", accepted.status, accepted.code, accepted.message)
	}
	for _, id := range []string{accepted.callID, during.callID} {
		var c api.Call
		eventually(t, "call "+id+" to be stored as finished", func() bool {
			return s.getJSON(t, "/v1/calls/"+id, &c) == http.StatusOK && c.Status.Finished()
		})
		if c.Status != api.CallSucceeded {
			t.Fatalf("call %s: %+v, want succeeded", id, c)
		}
	}
	if strings.Contains(s.logs(), "panic") {
		t.Fatalf("the server panicked:\n%s", s.logs())
	}
}

// send sends a request with the server's token and returns the status, Retry-After and body.
func (s *server) send(t *testing.T, method, path, contentType string, body io.Reader) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, s.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	resp := s.do(t, req)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Retry-After"), string(b)
}

// deployRaw deploys dir as name through the API and returns the answer's status and
// Retry-After, and its error, if any: the error body of a plain answer, or the error event of a
// streamed one (a deploy whose build printed something answers 200 and streams, and reports a
// later failure as its last event, where no status or Retry-After can be sent any more).
func (s *server) deployRaw(t *testing.T, dir, name string) (status int, retry string, e api.ErrorDetail, streamed bool) {
	t.Helper()
	var archive bytes.Buffer
	if err := buildctx.PackDir(&archive, dir); err != nil {
		t.Fatal(err)
	}
	status, retry, body := s.send(t, http.MethodPost, "/v1/functions/"+name+"/versions", "application/gzip", &archive)
	if status != http.StatusOK {
		return status, retry, errorOf(t, body), false
	}
	lines := strings.Split(strings.TrimSpace(body), "\n")
	var last api.DeployEvent
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil {
		t.Fatalf("deploy stream: %v\n%s", err, body)
	}
	if last.Type == api.EventError && last.Error != nil {
		return status, retry, *last.Error, true
	}
	return status, retry, api.ErrorDetail{}, len(lines) > 1
}
