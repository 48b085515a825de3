package stats_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/stats"
	"github.com/hearthfn/hearth/scheduler/store"
)

func TestSeriesRollsUpMinutes(t *testing.T) {
	c, clk := newCollector(t, stats.Config{}, "hello", "other")
	clk.Set(base.Add(30 * time.Second)) // the minute from base is in progress
	c.ObserveAll([]api.Call{
		call("hello", base.Add(-59*time.Minute), 1), // the first point
		call("hello", base.Add(-10*time.Minute), 1), // ten calls in one minute
		call("hello", base.Add(-10*time.Minute+5*time.Second), 2),
		call("hello", base.Add(-10*time.Minute+59*time.Second), 3),
		cold(call("hello", base.Add(-10*time.Minute+30*time.Second), 4), "new"),
		cold(call("hello", base.Add(-10*time.Minute+31*time.Second), 5), "resumed"),
		failed(call("hello", base.Add(-10*time.Minute+32*time.Second), 6), api.CallFailed, 500),
		failed(call("hello", base.Add(-10*time.Minute+33*time.Second), 0), api.CallError, 503),
		failed(call("hello", base.Add(-10*time.Minute+34*time.Second), 8), api.CallTimedOut, 504),
		failed(call("hello", base.Add(-10*time.Minute+35*time.Second), 9), api.CallCanceled, 499),
		call("hello", base.Add(-10*time.Minute+36*time.Second), 1000),
		call("hello", base.Add(10*time.Second), 1),  // the minute in progress
		call("hello", base.Add(-61*time.Minute), 1), // before since: not in any point
		call("other", base.Add(-10*time.Minute), 1), // another function
	})
	c.Observe(api.Call{ID: "q", Function: "hello", Status: api.CallQueued, CreatedAt: base.Add(-5 * time.Minute)}) // unfinished
	s := series(t, c, "hello", "1h", "1m")
	if len(s.Points) != 60 || s.Step != api.Duration(time.Minute) || s.Function != "hello" {
		t.Fatalf("got %d points of %s for %q, want 60 of 1m0s for hello", len(s.Points), s.Step, s.Function)
	}
	if !s.Since.Equal(base.Add(-59*time.Minute)) || !s.Until.Equal(base.Add(30*time.Second)) {
		t.Errorf("since %s until %s, want %s and %s", s.Since, s.Until, base.Add(-59*time.Minute), base.Add(30*time.Second))
	}
	for i, p := range s.Points {
		if want := base.Add(time.Duration(i-59) * time.Minute); !p.T.Equal(want) {
			t.Fatalf("point %d at %s, want %s", i, p.T, want)
		}
		var want stats.Point
		switch i {
		case 0, 59:
			want = stats.Point{Calls: 1, P50MS: 1.098, P90MS: 1.098, P99MS: 1.098} // 1 ms reads as its bucket's middle
		case 49:
			// 10 calls, 9 timed: 1, 2, 3, 4, 5, 6, 8, 9, 1000 ms.
			want = stats.Point{Calls: 10, Errors: 3, ColdNew: 1, ColdResumed: 1, P50MS: 5.579, P90MS: 1013.725, P99MS: 1013.725}
		}
		want.T = p.T
		if p != want {
			t.Errorf("point %d (%s):\n got %+v\nwant %+v", i, p.T.Format(time.TimeOnly), p, want)
		}
	}
}

func TestSeriesSteps(t *testing.T) {
	c, clk := newCollector(t, stats.Config{}, "hello")
	now := base.Add(3*time.Hour + 25*time.Second)
	clk.Set(now)
	// A call every ten seconds for the last 24 hours.
	for at := now.Add(-stats.Window + 10*time.Second).Truncate(10 * time.Second); !at.After(now); at = at.Add(10 * time.Second) {
		c.Observe(call("hello", at, 1))
	}
	for _, tc := range []struct {
		since, step string
		points      int
		first       time.Time
		perPoint    uint64
	}{
		{"", "", 60, base.Add(3*time.Hour - 59*time.Minute), 6},
		{"24h", "1m", 1440, base.Add(3*time.Hour - 1439*time.Minute), 6},
		{"24h", "1h", 24, base.Add(3*time.Hour - 23*time.Hour), 360},
		{"6h", "5m", 72, base.Add(3*time.Hour - 71*5*time.Minute), 30},
		{"1h", "10s", 360, base.Add(3*time.Hour + 20*time.Second - 359*10*time.Second), 1},
		{"15m", "30s", 30, base.Add(3*time.Hour - 29*30*time.Second), 3},
		{"1h", "90s", 40, base.Add(3*time.Hour - 39*90*time.Second).Truncate(90 * time.Second), 9},
		{now.Add(-2 * time.Hour).Format(time.RFC3339), "1m", 120, base.Add(3*time.Hour - 119*time.Minute), 6},
		{"90", "60", 2, base.Add(3*time.Hour - time.Minute), 6}, // bare numbers are seconds
	} {
		s := series(t, c, "hello", tc.since, tc.step)
		if len(s.Points) != tc.points || !s.Since.Equal(tc.first) {
			t.Errorf("since=%q step=%q: %d points from %s, want %d from %s", tc.since, tc.step, len(s.Points), s.Since, tc.points, tc.first)
			continue
		}
		last := s.Points[len(s.Points)-1]
		if end := last.T.Add(s.Step.D()); last.T.After(now) || !end.After(now) {
			t.Errorf("since=%q step=%q: the last point [%s, %s) is not the step in progress at %s", tc.since, tc.step, last.T, end, now)
		}
		for i, p := range s.Points[:len(s.Points)-1] { // the last one is in progress
			if p.Calls != tc.perPoint || p.P50MS != 1.098 {
				t.Errorf("since=%q step=%q: point %d (%s) has %d calls, p50 %g; want %d, 1.098", tc.since, tc.step, i, p.T, p.Calls, p.P50MS, tc.perPoint)
				break
			}
		}
	}
}

func TestSeriesZeroFilled(t *testing.T) {
	c, _ := newCollector(t, stats.Config{}, "quiet")
	s := series(t, c, "quiet", "30m", "5m")
	if len(s.Points) != 6 {
		t.Fatalf("%d points, want 6", len(s.Points))
	}
	for i, p := range s.Points {
		if p != (stats.Point{T: p.T}) || !p.T.Equal(base.Add(time.Duration(i-5)*5*time.Minute)) {
			t.Errorf("point %d = %+v, want zeros at %s", i, p, base.Add(time.Duration(i-5)*5*time.Minute))
		}
	}
	if s.Points == nil {
		t.Error("points is nil")
	}
}

func TestSeriesRejectsBadQueries(t *testing.T) {
	c, _ := newCollector(t, stats.Config{}, "hello")
	for _, tc := range []struct{ since, step, field, msg string }{
		{"", "5s", "step", "whole number of 10s from 10s to 1h0m0s"},
		{"", "15s", "step", "whole number of 10s"},
		{"", "2h", "step", "from 10s to 1h0m0s"},
		{"", "0", "step", "whole number of 10s"},
		{"", "-1m", "step", "whole number of 10s"},
		{"", "soon", "step", `"soon" is not a duration`},
		{"2h", "10s", "step", "last 1h0m0s only"},
		{"24h", "30s", "step", "last 1h0m0s only"},
		{"25h", "", "since", "kept for 24h0m0s"},
		{"0s", "", "since", "more than 0"},
		{"-1h", "", "since", "more than 0"},
		{"yesterday", "", "since", "neither a duration"},
		{base.Add(time.Minute).Format(time.RFC3339), "", "since", "not in the past"},
		{base.Add(-25 * time.Hour).Format(time.RFC3339), "", "since", "kept for 24h0m0s"},
	} {
		_, err := c.Series("hello", tc.since, tc.step)
		var qe *stats.QueryError
		if !errors.As(err, &qe) || qe.Field != tc.field || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("since=%q step=%q: %v; want a QueryError on %s saying %q", tc.since, tc.step, err, tc.field, tc.msg)
		}
	}
	if _, err := c.Series("nope", "", ""); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an unknown function: %v, want ErrNotFound", err)
	}
}

func TestSeriesKeepsOneDay(t *testing.T) {
	c, clk := newCollector(t, stats.Config{}, "hello")
	c.Observe(call("hello", base.Add(-time.Minute), 1))
	c.Observe(call("hello", base.Add(-stats.Window), 1)) // just out of the ring
	c.Observe(call("hello", base.Add(time.Hour), 1))     // in the future: ignored
	c.Observe(call("hello", base.Add(-25*time.Hour), 1)) // too old
	if s := series(t, c, "hello", "24h", "1h"); total(s) != 1 {
		t.Fatalf("%d calls in the last day, want 1", total(s))
	}
	// A day later the minute's slot holds the new day's calls, not the old one's.
	clk.Set(base.Add(stats.Window))
	c.Observe(call("hello", base.Add(stats.Window-time.Minute), 1))
	c.Observe(call("hello", base.Add(stats.Window-time.Minute), 1))
	s := series(t, c, "hello", "24h", "1m")
	if total(s) != 2 || s.Points[len(s.Points)-2].Calls != 2 {
		t.Errorf("after a day: %d calls, %d in the last full minute; want 2 and 2", total(s), s.Points[len(s.Points)-2].Calls)
	}
	// A late record of a period the ring has moved past is dropped, not counted in its slot.
	c.Observe(call("hello", base.Add(-time.Minute), 1))
	if s := series(t, c, "hello", "24h", "1m"); total(s) != 2 {
		t.Errorf("a call from before the window was counted: %d calls, want 2", total(s))
	}
}

func total(s stats.Series) uint64 {
	var n uint64
	for _, p := range s.Points {
		n += p.Calls
	}
	return n
}

func TestFailed(t *testing.T) {
	for _, tc := range []struct {
		status api.CallStatus
		code   int
		want   bool
	}{
		{api.CallSucceeded, 200, false}, {api.CallSucceeded, 404, false}, {api.CallSucceeded, 502, true},
		{api.CallFailed, 500, true}, {api.CallFailed, 0, true}, {api.CallTimedOut, 504, true},
		{api.CallError, 503, true}, {api.CallError, 0, true}, {api.CallCanceled, 499, false}, {api.CallCanceled, 502, false},
	} {
		if got := stats.Failed(api.Call{Status: tc.status, HTTPStatus: tc.code}); got != tc.want {
			t.Errorf("Failed(%s, %d) = %v, want %v", tc.status, tc.code, got, tc.want)
		}
	}
}
