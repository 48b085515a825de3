package stats

import (
	"math/rand/v2"
	"testing"
)

// TestRingMatchesAModel drives rings, sparse and dense as they grow and shrink, with calls of
// random periods around a moving now, and checks each read against a map of the periods of
// the window that had calls.
func TestRingMatchesAModel(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for _, busy := range []int{1, 3, 30} { // calls per period: rarely to all the time
		r := newRing(10, 64)
		model := map[int64]uint32{}
		now := int64(1000)
		sawDense, sawSparseAgain := false, false
		for step := range 3000 {
			if step%busy == 0 || rnd.IntN(busy) == 0 {
				now++
			}
			if step > 1500 && busy == 30 {
				now += 20 + int64(rnd.IntN(8)) // calls thin out: the ring turns sparse again
			}
			p := now - int64(rnd.IntN(int(r.n)+4)) // sometimes outside the window
			if s := r.at(p, now); s != nil {
				s.calls++
				model[p]++
			} else if p > now-r.n && p <= now {
				t.Fatalf("at(%d, now %d) = nil inside the window", p, now)
			}
			for q := range model {
				if q <= now-r.n {
					delete(model, q)
				}
			}
			if r.dense != nil {
				sawDense = true
			} else if sawDense {
				sawSparseAgain = true
			}
			if step%97 == 0 {
				r.sweep(now)
				if r.slots() != len(model) {
					t.Fatalf("busy %d step %d: %d slots after a sweep, want %d", busy, step, r.slots(), len(model))
				}
			}
			from := now - r.n + 1
			var got uint32
			r.each(from, now+1, func(s *slot) {
				got += s.calls
				if s.period < from || s.period > now {
					t.Fatalf("each(%d, %d) gave period %d", from, now+1, s.period)
				}
			})
			var want uint32
			for q, n := range model {
				want += n
				if s := r.get(q); s == nil || s.calls != n {
					t.Fatalf("busy %d step %d: get(%d) = %+v, want %d calls", busy, step, q, s, n)
				}
			}
			if got != want {
				t.Fatalf("busy %d step %d: each counted %d calls, want %d", busy, step, got, want)
			}
		}
		if busy == 30 && (!sawDense || !sawSparseAgain) {
			t.Errorf("a busy ring never turned dense (%v) and sparse again (%v)", sawDense, sawSparseAgain)
		}
		if busy == 1 && r.slots() == 0 {
			t.Error("nothing kept")
		}
	}
}

// A function called once holds the slots of its call, not a whole ring.
func TestRingOfOneCallIsSmall(t *testing.T) {
	r := newRing(minuteWidth, minuteSlots)
	r.at(100, 100).calls++
	if r.dense != nil || len(r.sparse) != 1 || cap(r.sparse) > 1 {
		t.Errorf("one call: dense %d, sparse %d (cap %d); want one slot, no array", len(r.dense), len(r.sparse), cap(r.sparse))
	}
	r.at(100+minuteSlots, 100+minuteSlots).calls++ // a day later: the old slot is reused
	if len(r.sparse) != 1 || r.sparse[0].period != 100+minuteSlots || r.sparse[0].calls != 1 {
		t.Errorf("a day later: %+v, want the new period's slot alone", r.sparse)
	}
}
