package keepalive

import (
	"errors"
	"testing"
	"time"
)

func observe(h *Histogram, d time.Duration, n int) {
	for range n {
		h.Observe(d)
	}
}

func TestWindowsPeriodic(t *testing.T) {
	c := Config{Bucket: time.Second, Range: time.Hour}
	h := New(c)
	// A timer every ten minutes, give or take a few seconds.
	for i := range 100 {
		h.Observe(10*time.Minute + time.Duration(i%5)*time.Second)
	}
	w, err := h.Windows(c)
	if err != nil {
		t.Fatal(err)
	}
	// Head bucket 600 s less 10%, tail bucket 605 s plus 10%.
	if want := 540 * time.Second; w.PreWarm != want {
		t.Errorf("PreWarm = %v, want %v", w.PreWarm, want)
	}
	if want := 665500 * time.Millisecond; w.KeepAlive != want {
		t.Errorf("KeepAlive = %v, want %v", w.KeepAlive, want)
	}
}

func TestWindowsPercentiles(t *testing.T) {
	c := Config{Bucket: time.Second, Range: time.Hour, MinPreWarm: time.Second}
	h := New(c)
	// 5 of 100 at 20 s, 94 at 60 s, 1 at 300 s: the 5th percentile is 20 s, the 99th 60 s.
	observe(h, 20*time.Second, 5)
	observe(h, 60*time.Second, 94)
	observe(h, 300*time.Second, 1)
	w, err := h.Windows(c)
	if err != nil {
		t.Fatal(err)
	}
	if want := 18 * time.Second; w.PreWarm != want {
		t.Errorf("PreWarm = %v, want %v", w.PreWarm, want)
	}
	if want := 67100 * time.Millisecond; w.KeepAlive != want { // 67.1 s
		t.Errorf("KeepAlive = %v, want %v", w.KeepAlive, want)
	}
}

func TestShortPreWarmIsNone(t *testing.T) {
	c := Config{Bucket: time.Second, Range: time.Hour}
	h := New(c)
	observe(h, 3*time.Second, 50)
	w, err := h.Windows(c)
	if err != nil {
		t.Fatal(err)
	}
	if w.PreWarm != 0 {
		t.Errorf("PreWarm = %v, want none under MinPreWarm", w.PreWarm)
	}
	if w.KeepAlive <= 3*time.Second {
		t.Errorf("KeepAlive = %v, want past the idle times", w.KeepAlive)
	}
}

func TestWindowsFallBack(t *testing.T) {
	c := Config{Bucket: time.Second, Range: 10 * time.Minute}
	tests := []struct {
		name string
		fill func(h *Histogram)
		want error
	}{
		{"too few", func(h *Histogram) { observe(h, time.Minute, 7) }, ErrTooFewSamples},
		{"out of bounds", func(h *Histogram) {
			observe(h, time.Minute, 20)
			observe(h, time.Hour, 3)
		}, ErrOutOfBounds},
		{"flat", func(h *Histogram) {
			for i := range 600 {
				h.Observe(time.Duration(i) * time.Second)
			}
		}, ErrNotRepresentative},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := New(c)
			tt.fill(h)
			if _, err := h.Windows(c); !errors.Is(err, tt.want) {
				t.Fatalf("Windows error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestExpectedNext(t *testing.T) {
	c := Config{Bucket: time.Second, Range: time.Hour}
	h := New(c)
	observe(h, 10*time.Second, 10)
	observe(h, 100*time.Second, 10)
	// Idle 5 s: half the idle times seen end at 10 s, half at 100 s: the median is 10.5 s.
	if got, want := h.ExpectedNext(c, 5*time.Second), 5500*time.Millisecond; got != want {
		t.Errorf("ExpectedNext(5s) = %v, want %v", got, want)
	}
	// Idle 20 s: only the 100 s ones are still possible.
	if got, want := h.ExpectedNext(c, 20*time.Second), 80500*time.Millisecond; got != want {
		t.Errorf("ExpectedNext(20s) = %v, want %v", got, want)
	}
	// Past everything seen: far.
	if got := h.ExpectedNext(c, 200*time.Second); got < time.Hour-200*time.Second {
		t.Errorf("ExpectedNext(200s) = %v, want far", got)
	}
	// Nothing learned: as long again as it has been idle.
	if got := New(c).ExpectedNext(c, 42*time.Second); got != 42*time.Second {
		t.Errorf("ExpectedNext without samples = %v, want 42s", got)
	}
}

func TestObserveDoesNotAllocate(t *testing.T) {
	h := New(Config{})
	if n := testing.AllocsPerRun(100, func() { h.Observe(3 * time.Second) }); n != 0 {
		t.Fatalf("Observe allocates %v times", n)
	}
}
