package keepalive

import (
	"errors"
	"math"
	"time"
)

// Errors of Windows: why nothing was learned, and the fixed timeouts apply.
var (
	// ErrTooFewSamples: fewer idle times than Config.MinSamples have been seen.
	ErrTooFewSamples = errors.New("too few idle times to learn from")
	// ErrOutOfBounds: too many idle times fell beyond the histogram's range.
	ErrOutOfBounds = errors.New("idle times beyond the histogram's range")
	// ErrNotRepresentative: the idle times spread too evenly for percentiles to predict.
	ErrNotRepresentative = errors.New("idle times too spread out to predict")
)

// Config tunes the policy. Zero fields take the defaults of DefaultConfig.
type Config struct {
	// Bucket is the width of one histogram bucket; Range the longest idle time it holds (and so
	// the longest keep-alive it can learn). Range/Bucket counters are kept per function.
	Bucket time.Duration
	Range  time.Duration
	// MinSamples is how many idle times are needed before anything is learned.
	MinSamples int
	// HeadPercentile and TailPercentile give the pre-warm and keep-alive windows (5 and 99 in
	// the paper); Margin widens both (0.1: pre-warm 10% earlier, keep-alive 10% longer).
	HeadPercentile float64
	TailPercentile float64
	Margin         float64
	// MaxOutOfBounds is the share of idle times beyond Range above which nothing is learned.
	MaxOutOfBounds float64
	// MinCV is the coefficient of variation of the bucket counts below which the histogram is
	// too flat to be representative (the paper uses 2).
	MinCV float64
	// MinPreWarm: a pre-warm window shorter than this is taken as none, since stopping an
	// instance only to start another seconds later saves little memory and costs a start.
	MinPreWarm time.Duration
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{Bucket: 2 * time.Second, Range: time.Hour, MinSamples: 8, HeadPercentile: 5, TailPercentile: 99,
		Margin: 0.1, MaxOutOfBounds: 0.1, MinCV: 2, MinPreWarm: 10 * time.Second}
}

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	d := DefaultConfig()
	if c.Bucket <= 0 {
		c.Bucket = d.Bucket
	}
	if c.Range <= 0 {
		c.Range = d.Range
	}
	if c.MinSamples <= 0 {
		c.MinSamples = d.MinSamples
	}
	if c.HeadPercentile <= 0 {
		c.HeadPercentile = d.HeadPercentile
	}
	if c.TailPercentile <= 0 {
		c.TailPercentile = d.TailPercentile
	}
	if c.Margin <= 0 {
		c.Margin = d.Margin
	}
	if c.MaxOutOfBounds <= 0 {
		c.MaxOutOfBounds = d.MaxOutOfBounds
	}
	if c.MinCV <= 0 {
		c.MinCV = d.MinCV
	}
	if c.MinPreWarm <= 0 {
		c.MinPreWarm = d.MinPreWarm
	}
	return c
}

// Windows is what was learned: both windows count from the end of the function's last call.
type Windows struct {
	// PreWarm is when an instance should be started ahead of the next call; zero keeps the
	// instance from the last call on.
	PreWarm time.Duration
	// KeepAlive is when the function's idle instances should be stopped.
	KeepAlive time.Duration
}

// Histogram counts one function's idle times. The zero value is not usable: use New.
type Histogram struct {
	bucket time.Duration
	counts []uint32
	total  int // every observation, out of bounds included
	oob    int // beyond the range
}

// New returns an empty histogram for c (its Bucket and Range).
func New(c Config) *Histogram {
	c = c.WithDefaults()
	n := int((c.Range + c.Bucket - 1) / c.Bucket)
	return &Histogram{bucket: c.Bucket, counts: make([]uint32, n)}
}

// Observe records one idle time. It does not allocate: it is on every cold call's path.
func (h *Histogram) Observe(idle time.Duration) {
	if idle < 0 {
		idle = 0
	}
	h.total++
	i := int(idle / h.bucket)
	if i >= len(h.counts) {
		h.oob++
		return
	}
	if h.counts[i] < math.MaxUint32 {
		h.counts[i]++
	}
}

// Samples is how many idle times were observed.
func (h *Histogram) Samples() int { return h.total }

// Windows computes the pre-warm and keep-alive windows, or says why it cannot.
func (h *Histogram) Windows(c Config) (Windows, error) {
	c = c.WithDefaults()
	if h.total < c.MinSamples {
		return Windows{}, ErrTooFewSamples
	}
	if float64(h.oob) > c.MaxOutOfBounds*float64(h.total) {
		return Windows{}, ErrOutOfBounds
	}
	if h.cv() < c.MinCV {
		return Windows{}, ErrNotRepresentative
	}
	in := h.total - h.oob
	// The head is the bucket's lower edge (call earlier rather than later), the tail its upper.
	head := time.Duration(h.percentileBucket(in, c.HeadPercentile)) * h.bucket
	tail := time.Duration(h.percentileBucket(in, c.TailPercentile)+1) * h.bucket
	w := Windows{PreWarm: time.Duration(float64(head) * (1 - c.Margin)), KeepAlive: time.Duration(float64(tail) * (1 + c.Margin))}
	if w.PreWarm < c.MinPreWarm {
		w.PreWarm = 0
	}
	return w, nil
}

// percentileBucket returns the index of the bucket holding the pct-th percentile of the n
// in-range observations.
func (h *Histogram) percentileBucket(n int, pct float64) int {
	want := uint64(math.Ceil(pct / 100 * float64(n)))
	if want < 1 {
		want = 1
	}
	var seen uint64
	for i, c := range h.counts {
		seen += uint64(c)
		if seen >= want {
			return i
		}
	}
	return len(h.counts) - 1
}

// cv is the coefficient of variation of the bucket counts: high when the idle times gather in
// few buckets (predictable), low when they spread evenly over the range.
func (h *Histogram) cv() float64 {
	n := float64(len(h.counts))
	var sum, sq float64
	for _, c := range h.counts {
		sum += float64(c)
		sq += float64(c) * float64(c)
	}
	if sum == 0 {
		return 0
	}
	mean := sum / n
	variance := sq/n - mean*mean
	if variance < 0 {
		variance = 0
	}
	return math.Sqrt(variance) / mean
}

// ExpectedNext estimates how long after idleFor (the time the function has been idle) its next
// call comes: the median of the observed idle times longer than idleFor, less idleFor. With
// nothing to go on (no longer idle time seen, or too few samples) it returns idleFor itself: a
// function idle for long is taken to stay idle about as long again. The pool evicts by it.
func (h *Histogram) ExpectedNext(c Config, idleFor time.Duration) time.Duration {
	c = c.WithDefaults()
	if h == nil || h.total < c.MinSamples {
		return idleFor
	}
	from := int(idleFor / h.bucket)
	if from >= len(h.counts) {
		return idleFor
	}
	var above uint64
	for _, n := range h.counts[from:] {
		above += uint64(n)
	}
	above += uint64(h.oob)
	if above == 0 {
		// Never seen idle this long: past every idle time observed, the next call is not near.
		return h.bucket * time.Duration(len(h.counts))
	}
	want := (above + 1) / 2
	var seen uint64
	for i, n := range h.counts[from:] {
		seen += uint64(n)
		if seen >= want {
			mid := time.Duration(from+i)*h.bucket + h.bucket/2
			if mid < idleFor {
				return 0
			}
			return mid - idleFor
		}
	}
	return h.bucket*time.Duration(len(h.counts)) - idleFor // the median is out of range
}
