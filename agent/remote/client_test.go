package remote_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/hearthfn/hearth/agent"
	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/agent/remote"
)

// fakeAgent records what it is asked and answers err when set.
type fakeAgent struct {
	mu       sync.Mutex
	err      error
	calls    []string
	spec     instance.Spec
	logOpts  driver.LogOptions
	logs     func(ctx context.Context) io.ReadCloser
	startHit chan context.Context // receives the ctx of every start, when not nil
}

func (f *fakeAgent) record(call string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
	return f.err
}

func (f *fakeAgent) setErr(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

func (f *fakeAgent) lastCall() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) == 0 {
		return ""
	}
	return f.calls[len(f.calls)-1]
}

var testInfo = agent.NodeInfo{ID: "n1", Driver: driver.Fingerprint{
	Name: "fake", Version: "1", Capabilities: driver.Capabilities{Pause: true, Logs: true, Images: true},
	Allocatable: instance.Resources{MemoryMB: 2048, CPUMilli: 4000}, Images: []string{"reg/hearth/f:abc"},
}}

var testInstance = instance.Instance{ID: "i1", DriverRef: "c0ffee", Endpoint: "10.0.0.5:8080",
	StartedAt: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}

func (f *fakeAgent) Info(ctx context.Context) (agent.NodeInfo, error) {
	if err := f.record("info"); err != nil {
		return agent.NodeInfo{}, err
	}
	return testInfo, nil
}

func (f *fakeAgent) StartInstance(ctx context.Context, spec instance.Spec) (instance.Instance, error) {
	f.mu.Lock()
	f.spec = spec
	hit := f.startHit
	f.mu.Unlock()
	if hit != nil {
		hit <- ctx
		<-ctx.Done()
		return instance.Instance{}, fmt.Errorf("start %s: %w", spec.ID, ctx.Err())
	}
	if err := f.record("start " + spec.ID); err != nil {
		return instance.Instance{}, err
	}
	return testInstance, nil
}

func (f *fakeAgent) PauseInstance(ctx context.Context, id string) error {
	return f.record("pause " + id)
}
func (f *fakeAgent) ResumeInstance(ctx context.Context, id string) error {
	return f.record("resume " + id)
}
func (f *fakeAgent) StopInstance(ctx context.Context, id string) error { return f.record("stop " + id) }

func (f *fakeAgent) Instances(ctx context.Context) ([]instance.Status, error) {
	if err := f.record("list"); err != nil {
		return nil, err
	}
	return []instance.Status{{Instance: testInstance, Function: "f", State: instance.StateRunning,
		Labels: map[string]string{instance.LabelNode: "n1"}}}, nil
}

func (f *fakeAgent) Logs(ctx context.Context, id string, opts driver.LogOptions) (io.ReadCloser, error) {
	if err := f.record("logs " + id); err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.logOpts = opts
	logs := f.logs
	f.mu.Unlock()
	if logs == nil {
		return io.NopCloser(strings.NewReader("one\ntwo\n")), nil
	}
	return logs(ctx), nil
}

// pair connects an agent serving a over yamux on net.Pipe to a client, as the server would. The
// returned sessions are the agent's and the server's.
func pair(t *testing.T, a agent.Agent) (*remote.Client, *yamux.Session, *yamux.Session) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	agentEnd, serverEnd := net.Pipe()
	agentSess, err := yamux.Client(agentEnd, remote.SessionConfig(log))
	if err != nil {
		t.Fatal(err)
	}
	serverSess, err := yamux.Server(serverEnd, remote.SessionConfig(log))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- remote.Serve(ctx, agentSess, a, log) }()
	c := remote.NewClient(serverSess, "n1")
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
		serverSess.Close()
	})
	return c, agentSess, serverSess
}

// testWriter sends log lines to t.Log, and nothing once the test is over.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	defer func() { recover() }() //nolint:errcheck // a log line after the test ended
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func TestClientCallsEveryMethod(t *testing.T) {
	fa := &fakeAgent{}
	c, _, _ := pair(t, fa)
	ctx := context.Background()

	info, err := c.Info(ctx)
	if err != nil || info.ID != "n1" || info.Driver.Allocatable.MemoryMB != 2048 || len(info.Driver.Images) != 1 ||
		!info.Driver.Capabilities.Pause {
		t.Fatalf("Info = %+v, %v", info, err)
	}

	spec := instance.Spec{ID: "i1", Function: "f", Version: 3, Image: "reg/hearth/f:abc", Port: 8080,
		Env: map[string]string{"A": "b"}, Resources: instance.Resources{MemoryMB: 128},
		Security: instance.Security{User: "root", CapAdd: []string{"NET_BIND_SERVICE"}}}
	in, err := c.StartInstance(ctx, spec)
	if err != nil || in != testInstance {
		t.Fatalf("StartInstance = %+v, %v", in, err)
	}
	if fa.spec.Version != 3 || fa.spec.Env["A"] != "b" || fa.spec.Security.CapAdd[0] != "NET_BIND_SERVICE" {
		t.Errorf("the agent got spec %+v", fa.spec)
	}

	for _, tc := range []struct {
		call func() error
		want string
	}{
		{func() error { return c.PauseInstance(ctx, "i1") }, "pause i1"},
		{func() error { return c.ResumeInstance(ctx, "i1") }, "resume i1"},
		{func() error { return c.StopInstance(ctx, "i/1") }, "stop i/1"},
	} {
		if err := tc.call(); err != nil {
			t.Errorf("%s: %v", tc.want, err)
		}
		if got := fa.lastCall(); got != tc.want {
			t.Errorf("agent's last call %q, want %q", got, tc.want)
		}
	}

	all, err := c.Instances(ctx)
	if err != nil || len(all) != 1 || all[0].State != instance.StateRunning || all[0].Labels[instance.LabelNode] != "n1" {
		t.Fatalf("Instances = %+v, %v", all, err)
	}

	since := time.Date(2026, 12, 1, 10, 0, 0, 123456789, time.UTC)
	opts := driver.LogOptions{Tail: 5, Since: since, Stream: driver.StreamStderr, Timestamps: true}
	rc, err := c.Logs(ctx, "i1", opts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || string(b) != "one\ntwo\n" {
		t.Fatalf("Logs read %q, %v", b, err)
	}
	if got := fa.logOpts; got.Tail != 5 || !got.Since.Equal(since) || got.Stream != driver.StreamStderr || !got.Timestamps || got.Follow {
		t.Errorf("the agent got log options %+v, want %+v", got, opts)
	}
}

func TestClientInstancesEmpty(t *testing.T) {
	c, _, _ := pair(t, emptyAgent{&fakeAgent{}})
	all, err := c.Instances(context.Background())
	if err != nil || len(all) != 0 {
		t.Fatalf("Instances = %+v, %v", all, err)
	}
}

type emptyAgent struct{ *fakeAgent }

func (emptyAgent) Instances(context.Context) ([]instance.Status, error) { return nil, nil }

func TestErrorsKeepTheirSentinel(t *testing.T) {
	fa := &fakeAgent{}
	c, _, _ := pair(t, fa)
	ctx := context.Background()
	calls := map[string]func() error{
		"info":   func() error { _, err := c.Info(ctx); return err },
		"start":  func() error { _, err := c.StartInstance(ctx, instance.Spec{ID: "i1"}); return err },
		"pause":  func() error { return c.PauseInstance(ctx, "i1") },
		"resume": func() error { return c.ResumeInstance(ctx, "i1") },
		"stop":   func() error { return c.StopInstance(ctx, "i1") },
		"list":   func() error { _, err := c.Instances(ctx); return err },
		"logs":   func() error { _, err := c.Logs(ctx, "i1", driver.LogOptions{}); return err },
	}
	sentinels := []error{agent.ErrNotReady, driver.ErrUnavailable, driver.ErrImageNotFound,
		driver.ErrInstanceNotFound, driver.ErrNotSupported, driver.ErrNoCapacity}
	for _, sentinel := range sentinels {
		fa.setErr(fmt.Errorf("the agent says: %w", sentinel))
		for name, call := range calls {
			err := call()
			if !errors.Is(err, sentinel) {
				t.Errorf("%s with %v: got %v, which is not the sentinel", name, sentinel, err)
				continue
			}
			for _, other := range sentinels {
				if other != sentinel && errors.Is(err, other) {
					t.Errorf("%s with %v: %v also matches %v", name, sentinel, err, other)
				}
			}
			if want := "node n1: the agent says: " + sentinel.Error(); err.Error() != want {
				t.Errorf("%s: message %q, want %q", name, err, want)
			}
		}
	}

	fa.setErr(errors.New("disk on fire"))
	err := calls["start"]()
	var re *remote.Error
	if !errors.As(err, &re) || re.Code != "internal" || err.Error() != "node n1: disk on fire" {
		t.Fatalf("an error without a sentinel: %#v", err)
	}
	for _, s := range sentinels {
		if errors.Is(err, s) {
			t.Errorf("an internal error matches %v", s)
		}
	}
}

func TestLogsFollowStreamsAndStopsOnCancel(t *testing.T) {
	pr, pw := io.Pipe()
	agentCtx := make(chan context.Context, 1)
	fa := &fakeAgent{logs: func(ctx context.Context) io.ReadCloser {
		agentCtx <- ctx
		context.AfterFunc(ctx, func() { pw.CloseWithError(ctx.Err()) })
		return pr
	}}
	c, _, _ := pair(t, fa)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rc, err := c.Logs(ctx, "i1", driver.LogOptions{Follow: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if !fa.logOpts.Follow {
		t.Error("follow did not reach the agent")
	}
	lines := bufio.NewReader(rc)
	// Each line must arrive while the instance prints nothing more: the agent flushes.
	for _, want := range []string{"first\n", "second\n"} {
		go pw.Write([]byte(want)) //nolint:errcheck // the read below checks
		got, err := lines.ReadString('\n')
		if err != nil || got != want {
			t.Fatalf("read %q, %v; want %q", got, err, want)
		}
	}
	cancel()
	actx := <-agentCtx
	select {
	case <-actx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the agent's log stream was not cancelled with the client's ctx")
	}
	if b, err := io.ReadAll(lines); err == nil {
		t.Logf("read %q", b)
		t.Error("a cancelled stream ended cleanly")
	}
}

func TestLogsBadQueryIsRefused(t *testing.T) {
	c, _, _ := pair(t, &fakeAgent{})
	_, err := c.Logs(context.Background(), "i1", driver.LogOptions{Stream: "stdin"})
	var re *remote.Error
	if !errors.As(err, &re) || re.Code != "bad_request" || !strings.Contains(err.Error(), "stream") {
		t.Fatalf("Logs with a bad stream: %v", err)
	}
}

func TestStartCancelReachesTheAgent(t *testing.T) {
	hit := make(chan context.Context, 1)
	fa := &fakeAgent{startHit: hit}
	c, _, _ := pair(t, fa)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := c.StartInstance(ctx, instance.Spec{ID: "i1"}); errc <- err }()
	actx := <-hit
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "node n1") {
		t.Errorf("a cancelled start: %v", err)
	}
	select {
	case <-actx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the agent's start was not cancelled")
	}
}

func TestSessionLossIsUnavailable(t *testing.T) {
	hit := make(chan context.Context, 1)
	fa := &fakeAgent{startHit: hit}
	c, agentSess, serverSess := pair(t, fa)
	errc := make(chan error, 1)
	go func() { _, err := c.StartInstance(context.Background(), instance.Spec{ID: "i1"}); errc <- err }()
	<-hit
	agentSess.Close()
	err := <-errc
	if !errors.Is(err, driver.ErrUnavailable) || !strings.Contains(err.Error(), "node n1") {
		t.Errorf("a start in flight when the session broke: %v", err)
	}
	<-serverSess.CloseChan()
	for name, call := range map[string]func() error{
		"info":  func() error { _, err := c.Info(context.Background()); return err },
		"stop":  func() error { return c.StopInstance(context.Background(), "i1") },
		"logs":  func() error { _, err := c.Logs(context.Background(), "i1", driver.LogOptions{}); return err },
		"list":  func() error { _, err := c.Instances(context.Background()); return err },
		"pause": func() error { return c.PauseInstance(context.Background(), "i1") },
	} {
		err := call()
		if !errors.Is(err, driver.ErrUnavailable) || err.Error() != "node n1: agent not connected: "+driver.ErrUnavailable.Error() {
			t.Errorf("%s after the session closed: %v", name, err)
		}
	}
}
