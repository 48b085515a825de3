package logs

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/api"
)

// joined feeds lines, written 1 ms apart from ms(0), to a joiner and returns the entries it
// handed over. The window is long enough that its timer cannot fire while the lines go in.
func joined(t *testing.T, lines ...string) []string {
	t.Helper()
	var got []string
	j := newJoiner(time.Second, func(_ time.Time, text string) { got = append(got, text) })
	for i, l := range lines {
		j.line(ms(i), l)
	}
	j.stop()
	return got
}

func TestJoinerTraces(t *testing.T) {
	pyChained := []string{
		"Traceback (most recent call last):",
		`  File "/app/handler.py", line 3, in handle`,
		`    return orders[key]`,
		`           ~~~~~~^^^^^`,
		"KeyError: 'a'",
		"",
		"During handling of the above exception, another exception occurred:",
		"",
		"Traceback (most recent call last):",
		`  File "/app/handler.py", line 5, in handle`,
		`    raise ValueError("no order")`,
		"ValueError: no order",
	}
	java := []string{
		`Exception in thread "main" java.lang.IllegalStateException: cannot load order`,
		"\tat com.example.Orders.load(Orders.java:42)",
		"\tat com.example.Handler.handle(Handler.java:12)",
		"Caused by: java.io.FileNotFoundException: /data/orders.json",
		"\tat java.base/java.io.FileInputStream.open0(Native Method)",
		"\t... 2 more",
	}
	goPanic := []string{
		"panic: runtime error: invalid memory address or nil pointer dereference",
		"[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x4a1b20]",
		"",
		"goroutine 18 [running]:",
		"main.handle.func1()",
		"\t/src/handler.go:12 +0x25",
		"created by main.handle in goroutine 7",
		"\t/src/handler.go:10 +0x1d",
		"",
		"goroutine 1 [IO wait]:",
		"net/http.(*conn).serve(0xc0000a8000, {0x6f1f28, 0xc000070ff0})",
		"\t/usr/local/go/src/net/http/server.go:2039 +0x2b",
	}
	for _, tc := range []struct {
		name  string
		lines []string
		want  []string
	}{
		{"python", append(slices.Clone(pyChained[:5]), "next call"),
			[]string{strings.Join(pyChained[:5], "\n"), "next call"}},
		{"python chained", append(slices.Clone(pyChained), "next call"),
			[]string{strings.Join(pyChained, "\n"), "next call"}},
		{"python, then a blank line of its own", append(slices.Clone(pyChained[:5]), "", "next call"),
			[]string{strings.Join(pyChained[:5], "\n"), "", "next call"}},
		{"python, two lines after the exception", append(slices.Clone(pyChained[:5]), "retrying", "done"),
			[]string{strings.Join(pyChained[:5], "\n"), "retrying", "done"}},
		{"java", append([]string{"handling order 42"}, java...),
			[]string{"handling order 42", strings.Join(java, "\n")}},
		{"go panic", goPanic, []string{strings.Join(goPanic, "\n")}},
		{"go panic, then other lines", append(slices.Clone(goPanic), "", "listening on :8080", "ready (1 worker)"),
			[]string{strings.Join(goPanic, "\n"), "", "listening on :8080", "ready (1 worker)"}},
		{"debug.Stack", []string{"goroutine 7 [running]:", "runtime/debug.Stack()", "\t/go/src/runtime/debug/stack.go:26 +0x5e"},
			[]string{"goroutine 7 [running]:\nruntime/debug.Stack()\n\t/go/src/runtime/debug/stack.go:26 +0x5e"}},
		{"ordinary lines", []string{"starting", "listening on :8080", "", "order 42: done", "Traceback is a word"},
			[]string{"starting", "listening on :8080", "", "order 42: done", "Traceback is a word"}},
		{"indented output", []string{"config:", "  port: 8080", "  workers: 2", "ready"},
			[]string{"config:\n  port: 8080\n  workers: 2", "ready"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := joined(t, tc.lines...); !slices.Equal(got, tc.want) {
				t.Errorf("entries =\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestJoinerBounds(t *testing.T) {
	lines := []string{"deep recursion"}
	for range 249 {
		lines = append(lines, "  at f")
	}
	got := joined(t, lines...)
	if len(got) != 2 || strings.Count(got[0], "\n")+1 != maxEntryLines || strings.Count(got[1], "\n")+1 != 50 {
		t.Errorf("250 lines of one trace gave entries of %v lines, want 200 and 50", lineCounts(got))
	}

	big := " " + strings.Repeat("x", 15_000)
	got = joined(t, "head", big, big, big, big, big)
	if len(got) != 2 || len(got[0]) > maxEntryBytes || strings.Count(got[0], "\n") != 4 || got[1] != big {
		t.Errorf("entries of %v lines, %d bytes first; want 5 lines within %d bytes, then 1", lineCounts(got), len(got[0]), maxEntryBytes)
	}
}

func lineCounts(entries []string) []int {
	var n []int
	for _, e := range entries {
		n = append(n, strings.Count(e, "\n")+1)
	}
	return n
}

func TestJoinerWindow(t *testing.T) {
	var got []string
	j := newJoiner(50*time.Millisecond, func(_ time.Time, text string) { got = append(got, text) })
	j.line(ms(0), "Traceback (most recent call last):")
	j.line(ms(40), `  File "/app/handler.py", line 3, in handle`) // written 40 ms later: still the trace
	j.line(ms(200), "  indented, but written 160 ms later")       // by the engine's times
	j.stop()
	want := []string{"Traceback (most recent call last):\n  File \"/app/handler.py\", line 3, in handle", "  indented, but written 160 ms later"}
	if !slices.Equal(got, want) {
		t.Errorf("entries = %q, want %q", got, want)
	}

	off := newJoiner(-1, func(_ time.Time, text string) { got = append(got, text) })
	got = nil
	off.line(ms(0), "a")
	off.line(ms(0), "  b")
	if !slices.Equal(got, []string{"a", "  b"}) {
		t.Errorf("with joining off, entries = %q, want each line at once", got)
	}
	off.stop()
}

// TestJoinerTimer shows that a lone line is handed over once the window has passed, with no
// line after it to end it (a follower sees it at once), and that stop hands over what is left.
func TestJoinerTimer(t *testing.T) {
	type entry struct {
		t    time.Time
		text string
	}
	emitted := make(chan entry, 10)
	window := 50 * time.Millisecond
	j := newJoiner(window, func(t time.Time, text string) { emitted <- entry{t, text} })
	start := time.Now()
	j.line(ms(0), "alone")
	select {
	case e := <-emitted:
		if waited := time.Since(start); waited < window || !e.t.Equal(ms(0)) || e.text != "alone" {
			t.Errorf("got %q at %v after %s, want [alone] at %v after at least %s", e.text, e.t, waited, ms(0), window)
		} else {
			t.Logf("a lone line was handed over %s after it was read", waited)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a lone line was not handed over without a line after it")
	}
	j.line(ms(1000), "panic: boom")
	j.stop()
	select {
	case e := <-emitted:
		if e.text != "panic: boom" {
			t.Errorf("stop handed over %q", e.text)
		}
	default:
		t.Error("stop did not hand over the pending entry")
	}
	j.line(ms(1001), "after the stop")
	if len(emitted) != 0 {
		t.Error("a stopped joiner handed over a line")
	}
}

// TestCollectorJoinsPerInstanceAndStream interleaves two instances' traces, and one instance's
// stdout and stderr: each entry holds only its own stream's lines.
func TestCollectorJoinsPerInstanceAndStream(t *testing.T) {
	src := newScriptSource()
	c := newCollector(t, src, Config{JoinWindow: 300 * time.Millisecond})
	c.Started("f", "i1")
	c.Started("f", "i2")
	out1 := src.stream(t, "i1", driver.StreamStdout, 1)
	err1 := src.stream(t, "i1", driver.StreamStderr, 1)
	err2 := src.stream(t, "i2", driver.StreamStderr, 1)

	// A write returns once the collector has read it: the lines are read in this order.
	write := func(o opened, at time.Time, text string) { o.write(t, at, text) }
	write(err1, ms(0), "Traceback (most recent call last):")
	write(err2, ms(1), `Exception in thread "main" java.lang.RuntimeException: boom`)
	write(out1, ms(2), "  indented on stdout")
	write(err1, ms(3), `  File "/app/handler.py", line 3, in handle`)
	write(err2, ms(4), "\tat Main.main(Main.java:5)")
	write(err1, ms(5), "ValueError: bad")

	got := waitLines(t, c, "f", 3)
	want := []api.LogLine{
		{Time: ms(0), Instance: "i1", Stream: "stderr", Line: "Traceback (most recent call last):\n  File \"/app/handler.py\", line 3, in handle\nValueError: bad"},
		{Time: ms(1), Instance: "i2", Stream: "stderr", Line: "Exception in thread \"main\" java.lang.RuntimeException: boom\n\tat Main.main(Main.java:5)"},
		{Time: ms(2), Instance: "i1", Stream: "stdout", Line: "  indented on stdout"},
	}
	if len(got) != len(want) {
		t.Fatalf("entries = %q, want %d", texts(got), len(want))
	}
	for i := range want {
		g := got[i]
		if !g.Time.Equal(want[i].Time) || g.Instance != want[i].Instance || g.Stream != want[i].Stream || g.Line != want[i].Line {
			t.Errorf("entry %d = %+v, want %+v", i, g, want[i])
		}
	}
}

// TestCollectorShowsALoneLineSoon follows a function as `hearth logs -f` does: a single line,
// with nothing after it, reaches the follower about the join window after it was written.
func TestCollectorShowsALoneLineSoon(t *testing.T) {
	src := newScriptSource()
	c := newCollector(t, src, Config{})
	c.Started("f", "i1")
	out := src.stream(t, "i1", driver.StreamStdout, 1)
	out.write(t, ms(0), "first")
	waitLines(t, c, "f", 1)
	_, cursor := c.Lines("f", api.LogQuery{})
	_, cursor, more := c.After("f", api.LogQuery{}, cursor)

	start := time.Now()
	out.write(t, ms(1000), "hello")
	select {
	case <-more:
	case <-time.After(5 * time.Second):
		t.Fatal("a lone line did not reach the follower")
	}
	waited := time.Since(start)
	if lines, _, _ := c.After("f", api.LogQuery{}, cursor); len(lines) != 1 || lines[0].Line != "hello" {
		t.Fatalf("After = %q, want [hello]", texts(lines))
	}
	t.Logf("a lone line reached the follower %s after it was written", waited)
	// The window is 50 ms; the rest is a margin for a loaded machine, far below the wait for a
	// next line that a joiner without a timer would need.
	if waited > 500*time.Millisecond {
		t.Errorf("a lone line reached the follower %s after it was written, want about %s", waited, DefaultJoinWindow)
	}
}
