package logs

import (
	"slices"
	"sort"

	"github.com/hearthfn/hearth/api"
)

// lineOverhead is what a kept line is counted for beyond its text, instance and call id: the
// time, the stream and the bookkeeping.
const lineOverhead = 48

// entry is a kept line and its place in the collector's sequence.
type entry struct {
	seq  uint64
	size int
	line api.LogLine
}

// ring keeps one function's most recent lines (entries: a multi-line message is one), at most
// maxLines of them and at most maxBytes in all (counted by entrySize), dropping the oldest first. The newest line is always kept, so a
// single line over the byte limit is kept alone. Entries are in the order they were added, which
// is the order of their seq; what tail and after return is in the order of the lines' times.
// It is not safe for concurrent use.
type ring struct {
	maxBytes, maxLines int

	entries []entry // entries[head:] are kept; the slice is compacted as head grows
	head    int
	bytes   int
	// changed is closed and replaced whenever a line is added, waking those waiting for more.
	changed chan struct{}
}

func newRing(maxBytes, maxLines int) *ring {
	return &ring{maxBytes: maxBytes, maxLines: maxLines, changed: make(chan struct{})}
}

func entrySize(l api.LogLine) int {
	return len(l.Line) + len(l.Instance) + len(l.CallID) + lineOverhead
}

// add keeps l as line number seq, which must be higher than any added before, and drops the
// oldest lines beyond the limits.
func (r *ring) add(seq uint64, l api.LogLine) {
	e := entry{seq: seq, size: entrySize(l), line: l}
	r.entries = append(r.entries, e)
	r.bytes += e.size
	for r.len() > 1 && (r.len() > r.maxLines || r.bytes > r.maxBytes) {
		r.bytes -= r.entries[r.head].size
		r.entries[r.head] = entry{} // let the text be collected
		r.head++
	}
	if r.head > 64 && r.head >= len(r.entries)/2 {
		n := copy(r.entries, r.entries[r.head:])
		clear(r.entries[n:])
		r.entries = r.entries[:n]
		r.head = 0
	}
	close(r.changed)
	r.changed = make(chan struct{})
}

func (r *ring) len() int { return len(r.entries) - r.head }

// tail returns the last n kept lines that q matches; all of them when n < 0.
func (r *ring) tail(q api.LogQuery, n int) []api.LogLine {
	if n == 0 {
		return nil
	}
	kept := r.entries[r.head:]
	var out []api.LogLine
	for i := len(kept) - 1; i >= 0 && (n < 0 || len(out) < n); i-- {
		if q.Match(kept[i].line) {
			out = append(out, kept[i].line)
		}
	}
	slices.Reverse(out)
	return byTime(out)
}

// after returns the kept lines numbered above seq that q matches, oldest first.
func (r *ring) after(q api.LogQuery, seq uint64) []api.LogLine {
	kept := r.entries[r.head:]
	i := sort.Search(len(kept), func(i int) bool { return kept[i].seq > seq })
	var out []api.LogLine
	for _, e := range kept[i:] {
		if q.Match(e.line) {
			out = append(out, e.line)
		}
	}
	return byTime(out)
}

// byTime sorts lines by their time, keeping the order they came in among equals. Lines come
// in the order they were read, and an instance's stdout and stderr are read apart, so a line
// may come after a later one of the other stream.
func byTime(lines []api.LogLine) []api.LogLine {
	slices.SortStableFunc(lines, func(a, b api.LogLine) int { return a.Time.Compare(b.Time) })
	return lines
}
