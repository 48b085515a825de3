package router

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/pool"
	"github.com/hearthfn/hearth/scheduler/store"
)

// unwritableQueue is an AsyncQueue whose store cannot be written.
type unwritableQueue struct{}

func (unwritableQueue) Enqueue(context.Context, api.Call, store.AsyncRequest) error {
	return fmt.Errorf("enqueue call: %w", store.ErrUnavailable)
}

// TestAsyncAcceptOnUnwritableStore: an async call the store cannot take now is refused with 503
// unavailable and Retry-After, so that the caller knows to send it again; no instance starts.
func TestAsyncAcceptOnUnwritableStore(t *testing.T) {
	front, n := setup(t, api.FunctionSpec{}, Config{Async: unwritableQueue{}})
	resp := asyncPost(t, front.URL+"/invoke/echo", "payload", nil)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("status %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if code := errorCode(t, resp); code != api.CodeUnavailable {
		t.Fatalf("code %q, want %q", code, api.CodeUnavailable)
	}
	if n.startCount() != 0 {
		t.Fatalf("refusing an async call started %d instances", n.startCount())
	}
}

// awayNode is a node whose engine cannot be reached: the pool's health check finds it down.
type awayNode struct{ *httpNode }

func (awayNode) Instances(context.Context) ([]instance.Status, error) {
	return nil, fmt.Errorf("list instances: cannot reach Docker: %w", driver.ErrUnavailable)
}

// TestEngineAwayAnswers503AtOnce: once the pool knows its node's engine is away, a call gets
// 503 unavailable with Retry-After from the pool's error at once, not after waiting out the
// acquire timeout (which would also be a 503, saying no instance came in time).
func TestEngineAwayAnswers503AtOnce(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	p := pool.New(pool.Config{}, log)
	p.AddNode("local", awayNode{&httpNode{handler: instanceHandler(), servers: map[string]*httptest.Server{}}}, nil)
	t.Cleanup(func() { p.Shutdown(false) })
	p.Apply(api.Function{Name: "echo", Version: api.Version{Number: 1, Image: "img", Spec: api.FunctionSpec{Name: "echo"}}})
	rt := New(p, Config{AcquireTimeout: 30 * time.Second}, log)
	p.CheckHealth(t.Context())

	rec := httptest.NewRecorder()
	rt.Invoke(rec, httptest.NewRequest(http.MethodPost, "/invoke/echo", nil), "echo", "/")
	var body api.ErrorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q: %v", rec.Body.String(), err)
	}
	if rec.Code != http.StatusServiceUnavailable || body.Error.Code != api.CodeUnavailable || rec.Header().Get("Retry-After") == "" ||
		!strings.Contains(body.Error.Message, "cannot reach Docker") {
		t.Fatalf("got %d %+v (Retry-After %q); want 503 unavailable naming the engine, with Retry-After",
			rec.Code, body.Error, rec.Header().Get("Retry-After"))
	}
}
