package main

import (
	"sort"
	"time"
)

// sample is a set of latencies.
type sample []time.Duration

// summary is what the table shows of a sample.
type summary struct {
	N     int     `json:"n"`
	MinMS float64 `json:"min_ms"`
	P50MS float64 `json:"median_ms"`
	P99MS float64 `json:"p99_ms"`
	RPS   float64 `json:"throughput_rps,omitempty"`
	Note  string  `json:"note,omitempty"`
}

func (s sample) summarize() summary {
	if len(s) == 0 {
		return summary{}
	}
	c := append(sample(nil), s...)
	sort.Slice(c, func(i, j int) bool { return c[i] < c[j] })
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	p99 := c[(len(c)*99)/100]
	if len(c) < 100 {
		p99 = c[len(c)-1]
	}
	return summary{N: len(c), MinMS: ms(c[0]), P50MS: ms(c[len(c)/2]), P99MS: ms(p99)}
}
