package trace

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"time"
)

// Config sizes a trace. Zero fields take the defaults of DefaultConfig.
type Config struct {
	Seed      uint64
	Functions int
	Duration  time.Duration
	// MaxRate clips the busiest functions' calls per second.
	MaxRate float64
}

// DefaultConfig returns the defaults: 400 functions over 8 hours, seed 2019.
func DefaultConfig() Config {
	return Config{Seed: 2019, Functions: 400, Duration: 8 * time.Hour, MaxRate: 1}
}

// Kind is how a function's calls arrive.
type Kind string

const (
	Periodic Kind = "periodic" // a timer trigger
	Poisson  Kind = "poisson"
	Bursty   Kind = "bursty"
)

// Function is one function of the trace.
type Function struct {
	Name     string
	Kind     Kind
	MemoryMB int64
	// PerHour is its mean rate of calls.
	PerHour float64
}

// Call is one call: At from the trace's start, running for Duration.
type Call struct {
	Function string
	At       time.Duration
	Duration time.Duration
}

// Trace is the generated functions and their calls, sorted by At.
type Trace struct {
	Functions []Function
	Calls     []Call
}

// Generate makes the trace of c.
func Generate(c Config) Trace {
	d := DefaultConfig()
	if c.Functions <= 0 {
		c.Functions = d.Functions
	}
	if c.Duration <= 0 {
		c.Duration = d.Duration
	}
	if c.MaxRate <= 0 {
		c.MaxRate = d.MaxRate
	}
	rng := rand.New(rand.NewPCG(c.Seed, c.Seed^0x9e3779b97f4a7c15))
	var t Trace
	for i := range c.Functions {
		f := Function{Name: fmt.Sprintf("fn-%03d", i)}
		// log10(calls per hour) ~ N(0.1, 1.9): 45% at most one an hour, 81% at most one a minute.
		perHour := math.Pow(10, 0.1+1.9*rng.NormFloat64())
		perHour = min(perHour, c.MaxRate*3600)
		f.PerHour = perHour
		switch r := rng.Float64(); {
		case r < 0.3:
			f.Kind = Periodic
		case r < 0.8:
			f.Kind = Poisson
		default:
			f.Kind = Bursty
		}
		f.MemoryMB = memory(rng)
		// The function's median execution time, and the spread of its calls around it.
		median := clampDur(time.Duration(float64(400*time.Millisecond)*math.Exp(1.3*rng.NormFloat64())), 5*time.Millisecond, 30*time.Second)
		dur := func() time.Duration {
			return clampDur(time.Duration(float64(median)*math.Exp(0.4*rng.NormFloat64())), time.Millisecond, time.Minute)
		}
		for _, at := range arrivals(rng, f, c.Duration) {
			t.Calls = append(t.Calls, Call{Function: f.Name, At: at, Duration: dur()})
		}
		t.Functions = append(t.Functions, f)
	}
	sort.SliceStable(t.Calls, func(i, j int) bool { return t.Calls[i].At < t.Calls[j].At })
	return t
}

// periods are the timers' periods: the common cron schedules.
var periods = []time.Duration{time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute,
	30 * time.Minute, time.Hour}

// arrivals are f's call times within span.
func arrivals(rng *rand.Rand, f Function, span time.Duration) []time.Duration {
	var out []time.Duration
	mean := time.Duration(float64(time.Hour) / f.PerHour) // mean gap between calls
	switch f.Kind {
	case Periodic:
		// The common period nearest the rate (a timer fires at least once a minute).
		p := periods[len(periods)-1]
		for _, q := range periods {
			if q >= mean {
				p = q
				break
			}
		}
		if mean < time.Minute {
			p = time.Minute
		}
		for at := time.Duration(rng.Int64N(int64(p))); at < span; at += p {
			out = append(out, at+time.Duration(rng.Int64N(int64(2*time.Second)))) // a timer's jitter
		}
	case Poisson:
		for at := expo(rng, mean); at < span; at += expo(rng, mean) {
			out = append(out, at)
		}
	case Bursty:
		// Bursts arrive as a Poisson process; each is a few to a few dozen calls about a
		// second apart, the mean rate staying f.PerHour.
		size := 2 + rng.IntN(30)
		for at := expo(rng, mean*time.Duration(size)); at < span; at += expo(rng, mean*time.Duration(size)) {
			b := at
			for range size {
				if b >= span {
					break
				}
				out = append(out, b)
				b += expo(rng, time.Second)
			}
		}
		sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	}
	return out
}

func expo(rng *rand.Rand, mean time.Duration) time.Duration {
	return time.Duration(rng.ExpFloat64() * float64(mean))
}

// memory draws a function's memory: log-normal, median 150 MB, in steps of 32 MB from 64 MB to
// 1.5 GB.
func memory(rng *rand.Rand) int64 {
	mb := 150 * math.Exp(0.7*rng.NormFloat64())
	mb = math.Ceil(mb/32) * 32
	return int64(min(max(mb, 64), 1536))
}

func clampDur(d, lo, hi time.Duration) time.Duration { return min(max(d, lo), hi) }
