package trace

import (
	"reflect"
	"testing"
	"time"
)

func TestSameSeedSameTrace(t *testing.T) {
	c := Config{Seed: 7, Functions: 50, Duration: time.Hour}
	a, b := Generate(c), Generate(c)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two traces of one seed differ")
	}
	c.Seed = 8
	if reflect.DeepEqual(a, Generate(c)) {
		t.Fatal("two seeds gave the same trace")
	}
}

func TestShape(t *testing.T) {
	tr := Generate(Config{Seed: 2019, Functions: 400, Duration: time.Hour})
	kinds := map[Kind]int{}
	lo, hi := 1e18, 0.0
	for _, f := range tr.Functions {
		kinds[f.Kind]++
		lo, hi = min(lo, f.PerHour), max(hi, f.PerHour)
		if f.MemoryMB < 64 || f.MemoryMB > 1536 {
			t.Fatalf("%s: memory %d MB", f.Name, f.MemoryMB)
		}
	}
	if len(kinds) != 3 {
		t.Fatalf("kinds %v, want all three", kinds)
	}
	// Heavy-tailed: the rates span at least six orders of magnitude.
	if hi/lo < 1e6 {
		t.Fatalf("rates from %g to %g per hour: not heavy-tailed", lo, hi)
	}
	for i := 1; i < len(tr.Calls); i++ {
		if tr.Calls[i].At < tr.Calls[i-1].At {
			t.Fatal("calls not sorted")
		}
	}
}
