package stats

import (
	"slices"
	"sort"
)

// slot is one function's figures for one period of its ring (a minute, or ten seconds): 224
// bytes.
type slot struct {
	// period numbers the period the figures are of: its start in Unix seconds divided by the
	// ring's width. A slot whose period is not the one asked for holds another (older) one.
	period                              int64
	calls, errors, coldNew, coldResumed uint32
	timed                               uint32 // calls with a duration, in hist
	hist                                hist
}

// ring keeps the last n periods of width seconds. It has two forms, so that a function called
// rarely costs what its calls cost and a function called all day allocates nothing once its
// ring is full:
//
//   - sparse (dense is nil): the slots of the periods that had calls, oldest first. A function
//     called once holds one slot and a one-pointer slice, not n pointers.
//   - dense: period p lives in dense[p % n], a slot reused in place when the ring comes round.
//
// A ring becomes dense once it holds denseAt slots, and sparse again when a sweep leaves it
// fewer than half that.
type ring struct {
	width int64 // seconds
	n     int64 // periods kept
	// sparse holds the slots of the sparse form, oldest period first; dense the slot array of
	// the dense form. At most one of them is not nil.
	sparse []*slot
	dense  []*slot
	// newest is the newest period counted, so that a reader of recent periods can skip a
	// function that has had no call since.
	newest int64
}

// denseAt is the number of slots at which a ring of n periods turns dense: an eighth of its
// periods, where the sparse form's search costs more than the dense array's pointers save.
func denseAt(n int64) int { return int(max(n/8, 4)) }

func newRing(width, n int64) ring { return ring{width: width, n: n} }

// empty reports whether the ring holds no slot (nothing to keep of the function).
func (r *ring) empty() bool { return r.sparse == nil && r.dense == nil }

// at returns the slot to count a call of period p in, now being the current period, or nil
// when p is outside the ring's window (older than it keeps, or in the future).
func (r *ring) at(p, now int64) *slot {
	if p > now || p <= now-r.n {
		return nil
	}
	if r.dense != nil {
		return r.atDense(p)
	}
	i, found := r.find(p)
	if found {
		r.newest = max(r.newest, p)
		return r.sparse[i]
	}
	// The slots of periods that have left the window make room, oldest first; the first of
	// them is reused for p, so a function called now and then allocates once.
	var s *slot
	gone := 0
	for gone < len(r.sparse) && r.sparse[gone].period <= now-r.n {
		gone++
	}
	if gone > 0 {
		s = r.sparse[0]
		*s = slot{period: p}
		clear(r.sparse[:gone]) // copy below moves the rest down over them
		r.sparse = r.sparse[:copy(r.sparse, r.sparse[gone:])]
		i -= gone
	} else {
		s = &slot{period: p}
	}
	r.sparse = slices.Insert(r.sparse, i, s)
	r.newest = max(r.newest, p)
	if len(r.sparse) >= denseAt(r.n) {
		r.toDense()
	}
	return s
}

// atDense is at for the dense form.
func (r *ring) atDense(p int64) *slot {
	i := p % r.n
	s := r.dense[i]
	switch {
	case s == nil:
		s = &slot{period: p}
		r.dense[i] = s
	case s.period > p:
		return nil // the clock went back: the slot holds a later period
	case s.period < p:
		*s = slot{period: p}
	}
	r.newest = max(r.newest, p)
	return s
}

// find returns where period p is in the sparse form, or where it would go.
func (r *ring) find(p int64) (int, bool) {
	i := sort.Search(len(r.sparse), func(i int) bool { return r.sparse[i].period >= p })
	return i, i < len(r.sparse) && r.sparse[i].period == p
}

// toDense moves the sparse form's slots into a dense array. Two slots of periods n apart would
// share a place: the older goes (it has left the window of the newer).
func (r *ring) toDense() {
	r.dense = make([]*slot, r.n)
	for _, s := range r.sparse { // oldest first: a newer slot replaces an older one
		r.dense[((s.period%r.n)+r.n)%r.n] = s
	}
	r.sparse = nil
}

// get returns period p's slot, or nil when the ring holds nothing for it.
func (r *ring) get(p int64) *slot {
	if r.dense == nil {
		if i, found := r.find(p); found {
			return r.sparse[i]
		}
		return nil
	}
	s := r.dense[((p%r.n)+r.n)%r.n]
	if s == nil || s.period != p {
		return nil
	}
	return s
}

// each calls fn with the slots of periods [from, to) that hold figures, oldest first. It walks
// the slot array once, without a division per period: the overview reads every function's
// last periods.
func (r *ring) each(from, to int64, fn func(*slot)) {
	if r.empty() || to <= from || r.newest < from {
		return
	}
	if r.dense == nil {
		i, _ := r.find(from)
		for ; i < len(r.sparse) && r.sparse[i].period < to; i++ {
			fn(r.sparse[i])
		}
		return
	}
	i := ((from % r.n) + r.n) % r.n
	for p := from; p < to; p++ {
		if s := r.dense[i]; s != nil && s.period == p {
			fn(s)
		}
		if i++; i == r.n {
			i = 0
		}
	}
}

// sum adds the slots of periods [from, to) to s.
func (r *ring) sum(s *sum, from, to int64) {
	r.each(from, to, s.add)
}

// sweep frees the slots of periods that have left the window (now being the current period)
// and reports whether any slot is left. A dense ring left with few slots turns sparse.
func (r *ring) sweep(now int64) bool {
	if r.dense == nil {
		kept := r.sparse[:0]
		for _, s := range r.sparse {
			if s.period > now-r.n {
				kept = append(kept, s)
			}
		}
		clear(r.sparse[len(kept):])
		r.sparse = slices.Clip(kept)
		if len(r.sparse) == 0 {
			r.sparse = nil
		}
		return r.sparse != nil
	}
	var left []*slot
	for i, s := range r.dense {
		switch {
		case s == nil:
		case s.period <= now-r.n:
			r.dense[i] = nil
		default:
			left = append(left, s)
		}
	}
	if len(left) < denseAt(r.n)/2 {
		slices.SortFunc(left, func(a, b *slot) int { return int(a.period - b.period) })
		r.dense, r.sparse = nil, left
	}
	return len(left) > 0
}

// slots counts the slots the ring holds.
func (r *ring) slots() int {
	n := len(r.sparse)
	for _, s := range r.dense {
		if s != nil {
			n++
		}
	}
	return n
}
