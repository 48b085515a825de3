package logs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/driver/fake"
	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/api"
)

// scriptSource hands out pipes as log streams; the test writes an instance's output into them.
type scriptSource struct {
	mu     sync.Mutex
	opened map[string][]opened // by id/stream, in the order they were opened
	notify chan struct{}
	// fail is how many times opening id/stream fails before it works.
	fail     map[string]int
	attempts map[string]int
	tried    map[string][]time.Time // when each attempt was made
}

type opened struct {
	opts driver.LogOptions
	w    *io.PipeWriter
	ctx  context.Context
}

func newScriptSource() *scriptSource {
	return &scriptSource{opened: map[string][]opened{}, notify: make(chan struct{}), fail: map[string]int{}, attempts: map[string]int{},
		tried: map[string][]time.Time{}}
}

func (s *scriptSource) Logs(ctx context.Context, id string, opts driver.LogOptions) (io.ReadCloser, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := id + "/" + string(opts.Stream)
	s.attempts[key]++
	s.tried[key] = append(s.tried[key], time.Now())
	if s.fail[key] > 0 {
		s.fail[key]--
		return nil, errors.New("engine hiccup")
	}
	pr, pw := io.Pipe()
	context.AfterFunc(ctx, func() { _ = pw.CloseWithError(ctx.Err()) })
	s.opened[key] = append(s.opened[key], opened{opts: opts, w: pw, ctx: ctx})
	close(s.notify)
	s.notify = make(chan struct{})
	return pr, nil
}

// stream waits until the collector has opened the n-th (from 1) stream of id.
func (s *scriptSource) stream(t *testing.T, id string, stream driver.Stream, n int) opened {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		s.mu.Lock()
		all, notify := s.opened[id+"/"+string(stream)], s.notify
		s.mu.Unlock()
		if len(all) >= n {
			return all[n-1]
		}
		select {
		case <-notify:
		case <-deadline:
			t.Fatalf("the collector did not open stream %d of %s/%s", n, id, stream)
		}
	}
}

func (o opened) write(t *testing.T, at time.Time, text string) {
	t.Helper()
	if _, err := fmt.Fprintf(o.w, "%s %s\n", at.Format(time.RFC3339Nano), text); err != nil {
		t.Fatalf("writing %q: %v", text, err)
	}
}

func newCollector(t *testing.T, src Source, cfg Config) *Collector {
	c := New(src, cfg, nil)
	t.Cleanup(c.Close)
	return c
}

// waitLines waits until function has n lines and returns them.
func waitLines(t *testing.T, c *Collector, function string, n int) []api.LogLine {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		lines, _ := c.Lines(function, api.LogQuery{Tail: -1})
		if len(lines) >= n {
			return lines
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has %d lines (%q), want %d", function, len(lines), texts(lines), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestCollectorTagsLinesWithCalls(t *testing.T) {
	src := newScriptSource()
	c := newCollector(t, src, Config{})
	c.Started("f", "i1")
	out := src.stream(t, "i1", driver.StreamStdout, 1)
	errs := src.stream(t, "i1", driver.StreamStderr, 1)
	if !out.opts.Follow || !out.opts.Timestamps || !out.opts.Since.IsZero() {
		t.Errorf("first stream opened with %+v, want Follow and Timestamps from the start", out.opts)
	}

	out.write(t, ms(0), "starting")
	waitLines(t, c, "f", 1)
	c.CallStarted("i1", "call-1", ms(10))
	out.write(t, ms(11), "handling")
	waitLines(t, c, "f", 2)
	c.CallEnded("i1", "call-1", ms(20))
	errs.write(t, ms(25), "late warning")
	out.write(t, ms(5000), "idle")

	got := waitLines(t, c, "f", 4)
	want := []api.LogLine{
		{Time: ms(0), Instance: "i1", Stream: "stdout", Line: "starting"},
		{Time: ms(11), Instance: "i1", Stream: "stdout", CallID: "call-1", Line: "handling"},
		{Time: ms(25), Instance: "i1", Stream: "stderr", CallID: "call-1", Line: "late warning"},
		{Time: ms(5000), Instance: "i1", Stream: "stdout", Line: "idle"},
	}
	same := func(a, b api.LogLine) bool {
		at, bt := a.Time, b.Time
		a.Time, b.Time = time.Time{}, time.Time{}
		return at.Equal(bt) && a == b
	}
	if !slices.EqualFunc(got, want, same) {
		t.Errorf("lines =\n%+v\nwant\n%+v", got, want)
	}
	if lines, _ := c.Lines("f", api.LogQuery{CallID: "call-1", Tail: 100}); len(lines) != 2 {
		t.Errorf("lines of call-1 = %q, want 2", texts(lines))
	}
	if lines, _ := c.Lines("other", api.LogQuery{Tail: -1}); lines != nil {
		t.Errorf("lines of a function without output = %q", texts(lines))
	}
}

func TestCollectorAfterFollows(t *testing.T) {
	src := newScriptSource()
	c := newCollector(t, src, Config{})
	// A follower may start before the function has any line.
	_, cursor := c.Lines("f", api.LogQuery{})
	lines, cursor, more := c.After("f", api.LogQuery{}, cursor)
	if lines != nil || more == nil {
		t.Fatalf("After on a function without lines = %q, %v", texts(lines), more)
	}
	c.Started("f", "i1")
	out := src.stream(t, "i1", driver.StreamStdout, 1)
	for i, text := range []string{"one", "two"} {
		out.write(t, ms(i), text)
		select {
		case <-more:
		case <-time.After(5 * time.Second):
			t.Fatalf("After's channel was not closed by line %q", text)
		}
		lines, cursor, more = c.After("f", api.LogQuery{}, cursor)
		for len(lines) == 0 { // woken by the ring's creation, before its line
			<-more
			lines, cursor, more = c.After("f", api.LogQuery{}, cursor)
		}
		if len(lines) != 1 || lines[0].Line != text {
			t.Fatalf("After = %q, want [%s]", texts(lines), text)
		}
	}
	c.Close()
	if _, _, more := c.After("f", api.LogQuery{}, cursor); more != nil {
		t.Error("After on a closed collector gave a channel to wait on")
	}
}

func TestCollectorForgetsDeletedFunctions(t *testing.T) {
	src := newScriptSource()
	c := newCollector(t, src, Config{})
	c.Started("f", "i1")
	out := src.stream(t, "i1", driver.StreamStdout, 1)
	out.write(t, ms(0), "before")
	waitLines(t, c, "f", 1)
	_, cursor := c.Lines("f", api.LogQuery{})
	_, _, more := c.After("f", api.LogQuery{}, cursor)
	c.Forget("f")
	select {
	case <-more:
	default:
		t.Error("Forget did not wake those following the function")
	}
	out.write(t, ms(1), "after") // the draining instance still writes
	c.Started("f", "i2")         // the function is deployed again
	src.stream(t, "i2", driver.StreamStdout, 1).write(t, ms(2), "new")
	lines := waitLines(t, c, "f", 1)
	if got := texts(lines); !slices.Equal(got, []string{"new"}) {
		t.Errorf("lines after delete and deploy = %q, want only [new]", got)
	}
}

func TestCollectorStopsFollowing(t *testing.T) {
	src := newScriptSource()
	c := newCollector(t, src, Config{StopGrace: 20 * time.Millisecond})
	c.Started("f", "i1")
	out := src.stream(t, "i1", driver.StreamStdout, 1)
	c.Stopped("i1")
	out.write(t, ms(0), "shutting down") // still read after the stop
	waitLines(t, c, "f", 1)
	select {
	case <-out.ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("a stopped instance's stream was not closed after StopGrace")
	}
	c.mu.Lock()
	n := len(c.instances)
	c.mu.Unlock()
	for deadline := time.Now().Add(5 * time.Second); n > 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
		c.mu.Lock()
		n = len(c.instances)
		c.mu.Unlock()
	}
	if n != 0 {
		t.Errorf("%d instances still known after their stop", n)
	}
}

func TestCollectorResumesABrokenStream(t *testing.T) {
	src := newScriptSource()
	c := newCollector(t, src, Config{RetryDelay: time.Millisecond})
	c.Started("f", "i1")
	first := src.stream(t, "i1", driver.StreamStdout, 1)
	first.write(t, ms(1), "a")
	first.write(t, ms(2), "b1")
	first.write(t, ms(2), "b2") // two lines with one time
	waitLines(t, c, "f", 3)
	_ = first.w.CloseWithError(errors.New("connection reset"))

	second := src.stream(t, "i1", driver.StreamStdout, 2)
	if !second.opts.Since.Equal(ms(2)) {
		t.Errorf("reopened with Since %v, want the last line's time %v", second.opts.Since, ms(2))
	}
	// The engine sends again what is at or after Since.
	second.write(t, ms(2), "b1")
	second.write(t, ms(2), "b2")
	second.write(t, ms(2), "b3")
	second.write(t, ms(3), "c")
	got := texts(waitLines(t, c, "f", 5))
	if want := []string{"a", "b1", "b2", "b3", "c"}; !slices.Equal(got, want) {
		t.Errorf("lines = %q, want %q", got, want)
	}
}

func TestCollectorRetriesOpening(t *testing.T) {
	src := newScriptSource()
	src.fail["i1/stdout"] = 3
	src.fail["i1/stderr"] = 1000
	c := newCollector(t, src, Config{RetryDelay: time.Millisecond})
	c.Started("f", "i1")
	src.stream(t, "i1", driver.StreamStdout, 1).write(t, ms(0), "at last")
	waitLines(t, c, "f", 1)
	src.mu.Lock()
	n := src.attempts["i1/stdout"]
	src.mu.Unlock()
	if n != 4 {
		t.Errorf("opened stdout %d times, want 4 (3 failures, then it worked)", n)
	}
	// A stream that never opens is tried less and less often: the wait before each new try is
	// at least twice the one before (timers fire late, never early). Close ends the attempts.
	var tried []time.Time
	waitFor := time.After(5 * time.Second)
	for len(tried) < 6 {
		src.mu.Lock()
		tried = slices.Clone(src.tried["i1/stderr"])
		src.mu.Unlock()
		select {
		case <-waitFor:
			t.Fatalf("stderr was tried %d times in 5 s, want 6", len(tried))
		case <-time.After(time.Millisecond):
		}
	}
	c.Close()
	for i, want := 1, time.Millisecond; i < 6; i, want = i+1, 2*want {
		if gap := tried[i].Sub(tried[i-1]); gap < want {
			t.Errorf("try %d of stderr came %s after the one before, want at least %s: no backoff", i+1, gap, want)
		}
	}
}

func TestCollectorOff(t *testing.T) {
	src := newScriptSource()
	c := newCollector(t, src, Config{MaxBytes: -1})
	c.Started("f", "i1")
	src.mu.Lock()
	n := len(src.opened)
	src.mu.Unlock()
	if n != 0 {
		t.Errorf("a collector that is off opened %d streams", n)
	}
}

// TestCollectorOnFakeDriver runs the collector on the fake driver, which logs a line per
// request, through the same LogOptions the Docker driver gets.
func TestCollectorOnFakeDriver(t *testing.T) {
	d := fake.New(fake.WithImages("img:1"))
	t.Cleanup(func() { _ = d.Close() })
	inst, err := d.Start(t.Context(), instance.Spec{ID: "i1", Function: "f", Image: "img:1"})
	if err != nil {
		t.Fatal(err)
	}
	c := newCollector(t, d, Config{})
	c.Started("f", "i1")
	c.CallStarted("i1", "call-1", time.Now())
	resp, err := http.Get("http://" + inst.Endpoint + "/hello")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	c.CallEnded("i1", "call-1", time.Now())

	deadline := time.Now().Add(5 * time.Second)
	for {
		lines, _ := c.Lines("f", api.LogQuery{CallID: "call-1", Tail: -1})
		if len(lines) == 1 && lines[0].Line == "GET /hello" && lines[0].Stream == "stdout" {
			break
		}
		if time.Now().After(deadline) {
			all, _ := c.Lines("f", api.LogQuery{Tail: -1})
			t.Fatalf("no line of call-1 for GET /hello; lines: %+v", all)
		}
		time.Sleep(time.Millisecond)
	}
	if err := d.Stop(t.Context(), "i1", 0); err != nil {
		t.Fatal(err)
	}
	c.Stopped("i1")
}
