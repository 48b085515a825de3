package drivertest

import (
	"bufio"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/hearthfn/hearth/agent/driver"
)

// logs checks Logs on a running instance that has served a request for nonce: the line shows up,
// Tail and Since select lines, and a Follow stream sees new lines and ends with its ctx.
func (s *suite) logs(t *testing.T, d driver.Driver, h *httpChecker, id, nonce string) {
	t.Helper()
	ctx := s.ctx(t)
	// Engines write container output to their log asynchronously, so the line may lag.
	s.waitForLog(t, d, id, nonce)

	if out := readLogs(t, d, id, driver.LogOptions{Tail: 1}); strings.Count(strings.TrimRight(out, "\n"), "\n") != 0 || out == "" {
		t.Errorf("Logs(Tail: 1) = %q, want exactly one line", out)
	}
	if out := readLogs(t, d, id, driver.LogOptions{Since: time.Now().Add(time.Hour)}); out != "" {
		t.Errorf("Logs(Since: in an hour) = %q, want nothing", out)
	}
	s.streamsAndTimestamps(t, d, id, nonce)

	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rc, err := d.Logs(fctx, id, driver.LogOptions{Follow: true, Tail: 1})
	if err != nil {
		t.Fatalf("Logs(Follow): %v", err)
	}
	defer func() { _ = rc.Close() }()
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(rc)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	followed := "/drivertest/" + randomHex(8)
	h.requireAnswer(ctx, followed)
	timeout := time.After(s.opts.Timeout)
	for found := false; !found; {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("Logs(Follow) ended before showing %s", followed)
			}
			found = strings.Contains(l, followed)
		case <-timeout:
			t.Fatalf("Logs(Follow) did not show %s within %v", followed, s.opts.Timeout)
		}
	}
	cancel()
	for ended := false; !ended; {
		select {
		case _, ok := <-lines:
			ended = !ok
		case <-time.After(s.opts.Timeout):
			t.Fatalf("Logs(Follow) went on for %v after its ctx was cancelled", s.opts.Timeout)
		}
	}
}

// streamsAndTimestamps checks that the request line (printed on stdout) is selected by Stream
// stdout and not by Stream stderr, and that Timestamps puts a recent RFC 3339 time before it.
func (s *suite) streamsAndTimestamps(t *testing.T, d driver.Driver, id, nonce string) {
	t.Helper()
	if out := readLogs(t, d, id, driver.LogOptions{Stream: driver.StreamStdout}); !strings.Contains(out, nonce) {
		t.Errorf("Logs(Stream: stdout) = %q, want the request line with %s", out, nonce)
	}
	if out := readLogs(t, d, id, driver.LogOptions{Stream: driver.StreamStderr}); strings.Contains(out, nonce) {
		t.Errorf("Logs(Stream: stderr) = %q, want no request line (it went to stdout)", out)
	}
	out := readLogs(t, d, id, driver.LogOptions{Timestamps: true})
	for line := range strings.SplitSeq(strings.TrimRight(out, "\n"), "\n") {
		stamp, text, _ := strings.Cut(line, " ")
		at, err := time.Parse(time.RFC3339Nano, stamp)
		if err != nil {
			t.Errorf("Logs(Timestamps) line %q does not start with an RFC 3339 time: %v", line, err)
			continue
		}
		if strings.Contains(text, nonce) && (time.Since(at) > s.opts.Timeout || time.Until(at) > time.Minute) {
			t.Errorf("Logs(Timestamps) stamped the request line %v, not about now", at)
		}
	}
}

// waitForLog polls Logs until its output contains needle.
func (s *suite) waitForLog(t *testing.T, d driver.Driver, id, needle string) {
	t.Helper()
	deadline := time.Now().Add(s.opts.Timeout)
	var out string
	for time.Now().Before(deadline) {
		if out = readLogs(t, d, id, driver.LogOptions{}); strings.Contains(out, needle) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("Logs of %s never showed %q within %v; they read:\n%s", id, needle, s.opts.Timeout, out)
}

// readLogs reads a whole (non-following) log stream.
func readLogs(t *testing.T, d driver.Driver, id string, opts driver.LogOptions) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	rc, err := d.Logs(ctx, id, opts)
	if err != nil {
		t.Fatalf("Logs(%+v): %v", opts, err)
	}
	defer func() { _ = rc.Close() }()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading Logs(%+v): %v", opts, err)
	}
	return string(b)
}
