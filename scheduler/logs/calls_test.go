package logs

import (
	"fmt"
	"testing"
	"time"
)

func ms(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }

func TestTag(t *testing.T) {
	type call struct {
		id         string
		start, end int // ms after t0; end < 0: still running
	}
	tests := []struct {
		name  string
		calls []call
		at    int
		text  string // "" for a line that names no call
		want  string
	}{
		{"no calls", nil, 5, "", ""},
		{"during a running call", []call{{"a", 0, -1}}, 5, "", "a"},
		{"before the call", []call{{"a", 10, -1}}, 5, "", ""},
		{"at the start", []call{{"a", 10, 20}}, 10, "", "a"},
		{"at the end", []call{{"a", 10, 20}}, 20, "", "a"},
		{"inside one of several", []call{{"a", 0, 10}, {"b", 20, 30}, {"c", 40, -1}}, 25, "", "b"},
		{"overlapping calls", []call{{"a", 0, 30}, {"b", 10, 40}}, 20, "", ""},
		{"overlap elsewhere", []call{{"a", 0, 30}, {"b", 10, 40}}, 35, "", "b"},
		{"just after the end", []call{{"a", 0, 10}}, 60, "", "a"},
		{"long after the end", []call{{"a", 0, 10}}, 200, "", ""},
		{"just after, then the next call", []call{{"a", 0, 10}, {"b", 12, 20}}, 11, "", "a"},
		{"the next call has begun", []call{{"a", 0, 10}, {"b", 12, 20}}, 13, "", "b"},
		{"just after two overlapping calls", []call{{"a", 0, 10}, {"b", 5, 12}}, 30, "", ""},
		{"just after two calls in a row", []call{{"a", 0, 10}, {"b", 12, 20}}, 30, "", "b"},
		{"just after a call that overlapped another", []call{{"a", 0, 10}, {"b", 12, 20}, {"c", 15, 22}}, 30, "", ""},
		{"names the call", []call{{"a", 0, 10}, {"b", 12, 20}}, 15, "level=INFO msg=call call_id=a status=200", "a"},
		{"names it quoted", []call{{"a", 0, 30}, {"b", 10, 40}}, 20, `level=INFO call_id="b" msg=x`, "b"},
		{"names it at the start", []call{{"a", 0, 10}}, 500, "call_id=a done", "a"},
		{"names a call it did not run", []call{{"a", 0, 10}}, 5, "msg=call call_id=zz", "a"},
		{"a longer key is no call id", []call{{"a", 0, 10}, {"b", 12, 20}}, 15, "parent_call_id=a", "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := callHistory{late: 100 * time.Millisecond}
			for _, c := range tt.calls {
				h.started(c.id, ms(c.start))
			}
			for _, c := range tt.calls {
				if c.end >= 0 {
					h.ended(c.id, ms(c.end))
				}
			}
			if got := h.tag(ms(tt.at), tt.text); got != tt.want {
				t.Errorf("tag(%dms, %q) = %q, want %q", tt.at, tt.text, got, tt.want)
			}
		})
	}
}

func TestCallHistoryBounded(t *testing.T) {
	h := callHistory{late: time.Millisecond}
	h.started("running", ms(0))
	for i := 1; i <= 3*maxCallHistory; i++ {
		id := fmt.Sprint("c", i)
		h.started(id, ms(10*i))
		h.ended(id, ms(10*i+5))
	}
	if len(h.calls) > maxCallHistory {
		t.Errorf("remembers %d calls, want at most %d", len(h.calls), maxCallHistory)
	}
	if h.calls[0].id != "running" {
		t.Errorf("the call still running was forgotten; the oldest remembered is %q", h.calls[0].id)
	}
	last := 3 * maxCallHistory
	if got := h.tag(ms(10*last+2), ""); got != "" {
		t.Errorf("tag during the last call = %q, want \"\" (the running call overlaps it)", got)
	}
	h.ended("running", ms(1))
	if got, want := h.tag(ms(10*last+2), ""), fmt.Sprint("c", last); got != want {
		t.Errorf("tag during the last call = %q, want %q", got, want)
	}
}
