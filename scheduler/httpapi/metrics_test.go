package httpapi_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthfn/hearth/agent"
	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/httpapi"
	"github.com/hearthfn/hearth/scheduler/metrics"
	"github.com/hearthfn/hearth/scheduler/pool"
	"github.com/hearthfn/hearth/scheduler/router"
)

// okNode starts each instance as an httptest server that answers 200 "hi"; it cannot pause.
type okNode struct {
	mu      sync.Mutex
	servers map[string]*httptest.Server
}

var _ pool.Node = (*okNode)(nil)

func (n *okNode) Info(context.Context) (agent.NodeInfo, error) {
	return agent.NodeInfo{ID: "ok", Driver: driver.Fingerprint{Name: "ok"}}, nil
}

func (n *okNode) PauseInstance(context.Context, string) error  { return driver.ErrNotSupported }
func (n *okNode) ResumeInstance(context.Context, string) error { return driver.ErrNotSupported }

func (n *okNode) Instances(context.Context) ([]instance.Status, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []instance.Status
	for id := range n.servers {
		out = append(out, instance.Status{Instance: instance.Instance{ID: id}, State: instance.StateRunning})
	}
	return out, nil
}

func (n *okNode) StartInstance(_ context.Context, spec instance.Spec) (instance.Instance, error) {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "hi") }))
	n.mu.Lock()
	defer n.mu.Unlock()
	n.servers[spec.ID] = s
	return instance.Instance{ID: spec.ID, Endpoint: strings.TrimPrefix(s.URL, "http://")}, nil
}

func (n *okNode) StopInstance(_ context.Context, id string) error {
	n.mu.Lock()
	s := n.servers[id]
	delete(n.servers, id)
	n.mu.Unlock()
	if s != nil {
		s.Close()
	}
	return nil
}

// TestMetricsCountACall wires metrics as the server does (router observer, pool gauges, GET
// /metrics) and reads a call back from the endpoint.
func TestMetricsCountACall(t *testing.T) {
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	m := metrics.New(log)
	p := pool.New(pool.Config{}, log)
	p.AddNode("local", &okNode{servers: map[string]*httptest.Server{}}, nil)
	t.Cleanup(func() { p.Shutdown(false) })
	if err := m.CollectPool(p); err != nil {
		t.Fatal(err)
	}
	p.Apply(api.Function{Name: "hello", Version: api.Version{Number: 1, Image: "img", Spec: api.FunctionSpec{Name: "hello"}}})
	rt := router.New(p, router.Config{Observer: m}, log)
	srv, _ := serve(t, &fakeRegistry{}, func(d *httpapi.Deps) { d.Invoker, d.Metrics = rt, m.Handler() })

	resp := do(t, http.MethodPost, srv.URL+"/invoke/hello", strings.NewReader("x"))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("call: status %d", resp.StatusCode)
	}
	// The router reports a call after its answer is written, so the caller may be first.
	want := `hearth_calls_total{function="hello",outcome="ok"} 1`
	var body string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		resp := do(t, http.MethodGet, srv.URL+"/metrics", nil)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /metrics: status %d: %s", resp.StatusCode, b)
		}
		if body = string(b); strings.Contains(body, want) {
			break
		}
	}
	for _, w := range []string{want, `hearth_instances{function="hello",state="ready"} 1`, `hearth_queue_depth{function="hello"} 0`} {
		if !strings.Contains(body, w) {
			t.Errorf("/metrics lacks %q:\n%s", w, body)
		}
	}
	if resp := do(t, http.MethodPost, srv.URL+"/metrics", nil); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /metrics: status %d, want 405", resp.StatusCode)
	}
}
