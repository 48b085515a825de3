package stats

import (
	"fmt"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/store"
)

// Bounds of a series query.
const (
	DefaultSince = time.Hour
	DefaultStep  = time.Minute
	MinStep      = fineWidth * time.Second
	MaxStep      = time.Hour
	MaxPoints    = 1440
	// fineReach is how far back steps that are not whole minutes can go: the fine ring's span.
	fineReach = time.Duration(fineSlots*fineWidth) * time.Second
)

// QueryError is a bad since or step: the API answers it 400, naming Field.
type QueryError struct {
	Field string // "since" or "step"
	Msg   string
}

func (e *QueryError) Error() string { return e.Field + ": " + e.Msg }

// window is a parsed series query: n points of step from start.
type window struct {
	start time.Time
	step  time.Duration
	n     int
	fine  bool // read the ten-second ring
}

// parseWindow reads since (a duration up to Window, or an RFC 3339 time no further back; empty:
// DefaultSince) and step (a whole number of ten seconds from MinStep to MaxStep; empty:
// DefaultStep) at now. Steps are aligned on the Unix epoch, so that the points of two queries
// fall on the same times; the last point is the step in progress, and there are as many as it
// takes to reach back to since (the first point may start up to a step after it).
func parseWindow(now time.Time, since, step string) (window, error) {
	w := window{step: DefaultStep}
	if step != "" {
		d, err := api.ParseDuration(step)
		if err != nil {
			return w, &QueryError{"step", err.Error()}
		}
		w.step = d.D()
	}
	if w.step < MinStep || w.step > MaxStep || w.step%MinStep != 0 {
		return w, &QueryError{"step", fmt.Sprintf("%s is not a step: use a whole number of 10s from %s to %s, e.g. 10s, 1m or 5m", w.step, MinStep, MaxStep)}
	}
	reach := DefaultSince
	if since != "" {
		var err error
		if reach, err = parseSince(now, since); err != nil {
			return w, err
		}
	}
	w.fine = w.step%time.Minute != 0
	if w.fine && reach > fineReach {
		return w, &QueryError{"step", fmt.Sprintf("a step of %s (not whole minutes) is kept for the last %s only: ask for since=%s or less, or a step of whole minutes",
			w.step, fineReach, fineReach)}
	}
	w.n = int((reach + w.step - 1) / w.step)
	if w.n > MaxPoints {
		return w, &QueryError{"step", fmt.Sprintf("a step of %s over %s makes %d points, more than %d: use a longer step", w.step, reach, w.n, MaxPoints)}
	}
	stepSec := int64(w.step / time.Second)
	end := (floorDiv(now.Unix(), stepSec) + 1) * stepSec
	w.start = time.Unix(end-int64(w.n)*stepSec, 0).UTC()
	return w, nil
}

// parseSince reads since as how far back from now it reaches.
func parseSince(now time.Time, since string) (time.Duration, error) {
	var reach time.Duration
	if d, err := api.ParseDuration(since); err == nil {
		reach = d.D()
	} else if t, terr := time.Parse(time.RFC3339, since); terr == nil {
		reach = now.Sub(t)
		if reach <= 0 {
			return 0, &QueryError{"since", fmt.Sprintf("%s is not in the past", since)}
		}
	} else {
		return 0, &QueryError{"since", fmt.Sprintf("%q is neither a duration (1h, 30m) nor an RFC 3339 time", since)}
	}
	if reach <= 0 || reach > Window {
		return 0, &QueryError{"since", fmt.Sprintf("%s reaches %s back: figures are kept for %s; ask for more than 0 and at most that", since, reach.Round(time.Second), Window)}
	}
	return reach, nil
}

// Series returns a function's figures, a point per step (zero when there were no calls), from
// since to now; since and step are as the API takes them (see parseWindow). Errors: a
// *QueryError for a bad since or step, store.ErrNotFound for a function that is not known.
func (c *Collector) Series(function, since, step string) (Series, error) {
	now := c.cfg.Now()
	w, err := parseWindow(now, since, step)
	if err != nil {
		return Series{}, err
	}
	f, ok := c.lookup(function)
	if !ok {
		return Series{}, fmt.Errorf("function %q: %w", function, store.ErrNotFound)
	}
	s := Series{Function: function, Since: w.start, Until: now.UTC(), Step: api.Duration(w.step), Points: make([]Point, w.n)}
	r, width := &f.minutes, int64(minuteWidth)
	if w.fine {
		r, width = &f.fine, fineWidth
	}
	per := int64(w.step/time.Second) / width // periods per point
	first := w.start.Unix() / width
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range s.Points {
		var sm sum
		from := first + int64(i)*per
		r.sum(&sm, from, from+per)
		s.Points[i] = point(w.start.Add(time.Duration(i)*w.step), &sm)
	}
	return s, nil
}

func point(t time.Time, s *sum) Point {
	return Point{T: t, Calls: s.calls, Errors: s.errors, ColdNew: s.coldNew, ColdResumed: s.coldResumed,
		P50MS: s.quantile(0.50), P90MS: s.quantile(0.90), P99MS: s.quantile(0.99)}
}
