package logs

import (
	"slices"
	"testing"
	"time"

	"github.com/hearthfn/hearth/agent/driver"
)

// TestCollectorClosesStreamsWhilePaused: a paused instance has no stream open; at resume each
// is opened again from the last line read, and what the engine sends again is not kept twice.
func TestCollectorClosesStreamsWhilePaused(t *testing.T) {
	src := newScriptSource()
	c := newCollector(t, src, Config{RetryDelay: time.Millisecond, JoinWindow: -1})
	c.Started("f", "i1")
	out := src.stream(t, "i1", driver.StreamStdout, 1)
	errs := src.stream(t, "i1", driver.StreamStderr, 1)
	out.write(t, ms(1), "before")
	waitLines(t, c, "f", 1)

	c.Paused("i1")
	for _, o := range []opened{out, errs} {
		select {
		case <-o.ctx.Done():
		case <-time.After(5 * time.Second):
			t.Fatalf("stream %s still open after the pause", o.opts.Stream)
		}
	}
	// Nothing is opened while paused (a follow that reopened at once would show here).
	time.Sleep(20 * time.Millisecond)
	src.mu.Lock()
	n := src.attempts["i1/"+string(driver.StreamStdout)]
	src.mu.Unlock()
	if n != 1 {
		t.Fatalf("stdout opened %d times while paused, want 1", n)
	}

	c.Resumed("i1")
	again := src.stream(t, "i1", driver.StreamStdout, 2)
	if !again.opts.Since.Equal(ms(1)) {
		t.Errorf("reopened with Since %v, want the last line's time %v", again.opts.Since, ms(1))
	}
	src.stream(t, "i1", driver.StreamStderr, 2)
	again.write(t, ms(1), "before")      // sent again by the engine: Since is inclusive
	again.write(t, ms(2), "just paused") // written before the pause, read only now
	again.write(t, ms(3), "after")
	got := texts(waitLines(t, c, "f", 3))
	if want := []string{"before", "just paused", "after"}; !slices.Equal(got, want) {
		t.Errorf("lines = %q, want %q", got, want)
	}
}

// TestCollectorReadsAPausedInstanceStopped: an instance stopped while paused is read to the
// end of its output, so what it wrote before the pause is kept.
func TestCollectorReadsAPausedInstanceStopped(t *testing.T) {
	src := newScriptSource()
	c := newCollector(t, src, Config{RetryDelay: time.Millisecond, JoinWindow: -1})
	c.Started("f", "i1")
	src.stream(t, "i1", driver.StreamStdout, 1)
	c.Paused("i1")
	c.Stopped("i1")
	last := src.stream(t, "i1", driver.StreamStdout, 2)
	last.write(t, ms(5), "bye")
	_ = last.w.Close()
	if got := texts(waitLines(t, c, "f", 1)); !slices.Equal(got, []string{"bye"}) {
		t.Errorf("lines = %q", got)
	}
}
