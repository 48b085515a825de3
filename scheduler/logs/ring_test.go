package logs

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func line(i int, call string) api.LogLine {
	return api.LogLine{Time: t0.Add(time.Duration(i) * time.Second), Instance: "i", Stream: "stdout", CallID: call, Line: fmt.Sprintf("line %d", i)}
}

func texts(ls []api.LogLine) []string {
	out := make([]string, 0, len(ls))
	for _, l := range ls {
		out = append(out, l.Line)
	}
	return out
}

func fill(r *ring, from, to int) {
	for i := from; i <= to; i++ {
		call := ""
		if i%2 == 0 {
			call = "even"
		}
		r.add(uint64(i), line(i, call))
	}
}

func TestRingKeepsTheLastLines(t *testing.T) {
	r := newRing(1<<20, 3)
	fill(r, 1, 5)
	if got, want := texts(r.tail(api.LogQuery{}, -1)), []string{"line 3", "line 4", "line 5"}; !slices.Equal(got, want) {
		t.Errorf("tail(all) = %q, want %q", got, want)
	}
	if got, want := texts(r.tail(api.LogQuery{}, 2)), []string{"line 4", "line 5"}; !slices.Equal(got, want) {
		t.Errorf("tail(2) = %q, want %q", got, want)
	}
	if got := r.tail(api.LogQuery{}, 0); got != nil {
		t.Errorf("tail(0) = %q, want nothing", texts(got))
	}
}

func TestRingBoundedInBytes(t *testing.T) {
	size := entrySize(line(1, ""))
	r := newRing(3*size, 1000)
	for i := 1; i <= 9; i++ { // lines of one size
		r.add(uint64(i), line(i, ""))
	}
	if got := r.len(); got != 3 {
		t.Errorf("kept %d lines in %d bytes of %d-byte lines, want 3", got, 3*size, size)
	}
	if r.bytes > 3*size {
		t.Errorf("counted %d bytes, over the limit of %d", r.bytes, 3*size)
	}
	// A line bigger than the whole budget is kept alone rather than lost.
	big := line(10, "")
	big.Line = strings.Repeat("x", 10*size)
	r.add(10, big)
	if got := r.tail(api.LogQuery{}, -1); len(got) != 1 || got[0].Line != big.Line {
		t.Errorf("after a line over the limit, kept %d lines, want just it", len(got))
	}
}

func TestRingFilters(t *testing.T) {
	r := newRing(1<<20, 100)
	fill(r, 1, 10)
	q := api.LogQuery{CallID: "even"}
	if got, want := texts(r.tail(q, 2)), []string{"line 8", "line 10"}; !slices.Equal(got, want) {
		t.Errorf("tail(call=even, 2) = %q, want %q", got, want)
	}
	q = api.LogQuery{Since: t0.Add(9 * time.Second)}
	if got, want := texts(r.tail(q, -1)), []string{"line 9", "line 10"}; !slices.Equal(got, want) {
		t.Errorf("tail(since line 9) = %q, want %q", got, want)
	}
	if got, want := texts(r.after(api.LogQuery{CallID: "even"}, 6)), []string{"line 8", "line 10"}; !slices.Equal(got, want) {
		t.Errorf("after(6, call=even) = %q, want %q", got, want)
	}
}

func TestRingAfter(t *testing.T) {
	r := newRing(1<<20, 10)
	for i := 1; i <= 1000; i++ { // enough to compact many times
		r.add(uint64(i), line(i, ""))
	}
	if got, want := texts(r.after(api.LogQuery{}, 997)), []string{"line 998", "line 999", "line 1000"}; !slices.Equal(got, want) {
		t.Errorf("after(997) = %q, want %q", got, want)
	}
	// A reader that fell behind the ring gets what is still kept.
	if got := r.after(api.LogQuery{}, 5); len(got) != 10 || got[0].Line != "line 991" {
		t.Errorf("after(5) = %q, want the 10 kept lines from line 991", texts(got))
	}
	if got := r.after(api.LogQuery{}, 1000); got != nil {
		t.Errorf("after(last) = %q, want nothing", texts(got))
	}
	if len(r.entries) > 200 {
		t.Errorf("the ring holds %d entries for 10 kept lines: it does not compact", len(r.entries))
	}
}

func TestRingSortsByTime(t *testing.T) {
	r := newRing(1<<20, 10)
	// stderr's line 2 is read before stdout's line 1.
	r.add(1, line(2, ""))
	r.add(2, line(1, ""))
	r.add(3, line(3, ""))
	want := []string{"line 1", "line 2", "line 3"}
	if got := texts(r.tail(api.LogQuery{}, -1)); !slices.Equal(got, want) {
		t.Errorf("tail = %q, want %q", got, want)
	}
	if got := texts(r.after(api.LogQuery{}, 0)); !slices.Equal(got, want) {
		t.Errorf("after = %q, want %q", got, want)
	}
}

func TestRingWakesWaiters(t *testing.T) {
	r := newRing(1<<20, 10)
	changed := r.changed
	select {
	case <-changed:
		t.Fatal("changed is closed before any line")
	default:
	}
	r.add(1, line(1, ""))
	select {
	case <-changed:
	default:
		t.Fatal("adding a line did not close changed")
	}
}
