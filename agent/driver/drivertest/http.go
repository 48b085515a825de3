package drivertest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"
)

// pausedProbe is how long a request to a paused instance must go unanswered. A paused instance
// never answers, so this only bounds how long the suite waits to see that.
const pausedProbe = 500 * time.Millisecond

// httpChecker makes the function-contract requests the suite needs against one endpoint.
type httpChecker struct {
	t        *testing.T
	endpoint string
	timeout  time.Duration
	// client does not keep connections alive: a connection parked on an instance that is then
	// paused would make the next request's outcome depend on connection reuse.
	client *http.Client
}

func newHTTPChecker(t *testing.T, endpoint string, timeout time.Duration) *httpChecker {
	tr := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &httpChecker{t: t, endpoint: endpoint, timeout: timeout, client: &http.Client{Transport: tr}}
}

// get makes one GET of path, bounded by d, and returns the status.
func (h *httpChecker) get(ctx context.Context, path string, d time.Duration) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+h.endpoint+path, nil)
	if err != nil {
		return 0, err
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// waitReady polls GET /_/ready until it answers 200 or the suite's timeout passes.
func (h *httpChecker) waitReady(ctx context.Context) {
	h.t.Helper()
	deadline := time.Now().Add(h.timeout)
	var last error
	for time.Now().Before(deadline) {
		code, err := h.get(ctx, "/_/ready", 2*time.Second)
		if err == nil && code == http.StatusOK {
			return
		}
		last = err
		if err == nil {
			last = fmt.Errorf("status %d", code)
		}
		select {
		case <-ctx.Done():
			h.t.Fatalf("waiting for %s/_/ready: %v (last attempt: %v)", h.endpoint, ctx.Err(), last)
		case <-time.After(50 * time.Millisecond):
		}
	}
	h.t.Fatalf("%s/_/ready did not answer 200 within %v: %v", h.endpoint, h.timeout, last)
}

// requireAnswer requires GET path to answer 200.
func (h *httpChecker) requireAnswer(ctx context.Context, path string) {
	h.t.Helper()
	code, err := h.get(ctx, path, h.timeout)
	if err != nil || code != http.StatusOK {
		h.t.Fatalf("GET %s%s = %d, %v; want 200", h.endpoint, path, code, err)
	}
}

// requireNoAnswer requires GET path to go unanswered for pausedProbe.
func (h *httpChecker) requireNoAnswer(ctx context.Context, path string) {
	h.t.Helper()
	if code, err := h.get(ctx, path, pausedProbe); err == nil {
		h.t.Fatalf("GET %s%s answered %d while the instance is paused", h.endpoint, path, code)
	}
}
