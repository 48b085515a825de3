package stats

import "math"

// The duration histogram: histBuckets buckets whose bounds grow by the same ratio r from
// histMinMS to histMaxMS, r = (histMaxMS/histMinMS)^(1/histBuckets) ≈ 1.384. Bucket i holds
// durations in [histMinMS·r^i, histMinMS·r^(i+1)); shorter ones go in the first, longer ones
// in the last. A quantile is reported as the geometric middle of its bucket, so it is within a
// factor √r ≈ 1.177 of the true value (17.7 %) for durations between the bounds.
const (
	histBuckets = 48
	histMinMS   = 0.05
	histMaxMS   = 300_000.0 // 5 min
)

// histLogRatio is ln r.
var histLogRatio = math.Log(histMaxMS/histMinMS) / histBuckets

// histIndex is the bucket of a duration in milliseconds.
func histIndex(ms float64) int {
	switch {
	case !(ms > histMinMS): // NaN too
		return 0
	case ms >= histMaxMS: // +Inf too, whose int conversion is undefined
		return histBuckets - 1
	}
	return min(int(math.Log(ms/histMinMS)/histLogRatio), histBuckets-1)
}

// histValue is what a quantile that falls in bucket i reads as: the bucket's geometric middle,
// rounded to the microsecond.
func histValue(i int) float64 {
	v := histMinMS * math.Exp((float64(i)+0.5)*histLogRatio)
	return math.Round(v*1000) / 1000
}

// hist counts durations by bucket: one slot's, kept small.
type hist [histBuckets]uint32

// sum is the merge of several slots' histograms, which may outgrow uint32.
type sum struct {
	calls, errors, coldNew, coldResumed uint64
	timed                               uint64 // calls with a duration: the histogram's total
	hist                                [histBuckets]uint64
}

func (s *sum) add(sl *slot) {
	s.calls += uint64(sl.calls)
	s.errors += uint64(sl.errors)
	s.coldNew += uint64(sl.coldNew)
	s.coldResumed += uint64(sl.coldResumed)
	if sl.timed == 0 {
		return
	}
	s.timed += uint64(sl.timed)
	for i, n := range sl.hist {
		s.hist[i] += uint64(n)
	}
}

// quantile is the q-quantile (0 < q ≤ 1) of the durations by nearest rank: the middle of the
// bucket that holds the ⌈q·n⌉-th shortest. It is 0 when there are none.
func (s *sum) quantile(q float64) float64 {
	if s.timed == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(s.timed)))
	rank = max(rank, 1)
	var seen uint64
	for i, n := range s.hist {
		seen += n
		if seen >= rank {
			return histValue(i)
		}
	}
	return histValue(histBuckets - 1)
}
