package stats

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"unsafe"
)

func TestHistBounds(t *testing.T) {
	r := math.Exp(histLogRatio)
	if math.Abs(histMinMS*math.Pow(r, histBuckets)-histMaxMS) > 1e-6 {
		t.Fatalf("48 buckets of ratio %g do not reach %g ms", r, histMaxMS)
	}
	for _, tc := range []struct {
		ms   float64
		want int
	}{
		{0, 0}, {-1, 0}, {math.NaN(), 0}, {0.01, 0}, {0.05, 0}, {0.05 * r * 1.0001, 1},
		{histMaxMS / r * 1.0001, histBuckets - 1}, {histMaxMS, histBuckets - 1}, {1e12, histBuckets - 1},
		{math.Inf(1), histBuckets - 1}, {math.Inf(-1), 0},
	} {
		if got := histIndex(tc.ms); got != tc.want {
			t.Errorf("histIndex(%g) = %d, want %d", tc.ms, got, tc.want)
		}
	}
	// Every bucket's middle falls in that bucket.
	for i := range histBuckets {
		if got := histIndex(histValue(i)); got != i {
			t.Errorf("the middle of bucket %d (%g ms) is in bucket %d", i, histValue(i), got)
		}
	}
	if n := unsafe.Sizeof(slot{}); n != 224 {
		t.Errorf("a slot is %d bytes; doc.go says 224", n)
	}
}

// TestQuantileErrorBound checks doc.go's bound: within a factor √r of the nearest-rank
// quantile, for durations spread over the whole range and for narrow ones.
func TestQuantileErrorBound(t *testing.T) {
	bound := math.Sqrt(math.Exp(histLogRatio)) * 1.001 // rounding to the microsecond
	rng := rand.New(rand.NewPCG(1, 2))
	draws := map[string]func() float64{
		"log-uniform 0.05ms..5min": func() float64 { return histMinMS * math.Exp(rng.Float64()*math.Log(histMaxMS/histMinMS)) },
		"around 3 ms":              func() float64 { return 3 * math.Exp(rng.NormFloat64()*0.2) },
		"bimodal 1 ms and 2 s":     func() float64 { return []float64{1, 2000}[rng.IntN(2)] * (1 + rng.Float64()/10) },
	}
	for name, draw := range draws {
		for _, n := range []int{1, 2, 7, 100, 10_000} {
			var s sum
			vals := make([]float64, n)
			for i := range vals {
				vals[i] = draw()
				s.timed++
				s.hist[histIndex(vals[i])]++
			}
			slices.Sort(vals)
			for _, q := range []float64{0.5, 0.9, 0.99, 1} {
				exact := vals[int(math.Ceil(q*float64(n)))-1]
				got := s.quantile(q)
				if ratio := got / exact; ratio > bound || ratio < 1/bound {
					t.Errorf("%s, n=%d: q%g = %g ms, exact %g ms: off by %.3f, bound %.3f", name, n, q, got, exact, ratio, bound)
				}
			}
		}
	}
	var empty sum
	if q := empty.quantile(0.5); q != 0 {
		t.Errorf("quantile of nothing = %g, want 0", q)
	}
}
