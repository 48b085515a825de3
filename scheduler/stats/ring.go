package stats

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

// ring keeps the last len(slots) periods of width seconds: period p lives in slots[p %
// len(slots)]. Slots are made the first time a period of theirs has calls, then reused in
// place when the ring comes round, so a function that is called all day allocates nothing
// once its ring is full, and one that is called rarely holds only the slots it used.
type ring struct {
	width int64 // seconds
	n     int64 // periods kept
	slots []*slot
	// newest is the newest period counted, so that a reader of recent periods can skip a
	// function that has had no call since.
	newest int64
}

func newRing(width, n int64) ring { return ring{width: width, n: n} }

// at returns the slot to count a call of period p in, now being the current period, or nil
// when p is outside the ring's window (older than it keeps, or in the future).
func (r *ring) at(p, now int64) *slot {
	if p > now || p <= now-r.n {
		return nil
	}
	if r.slots == nil {
		r.slots = make([]*slot, r.n)
	}
	i := p % r.n
	s := r.slots[i]
	switch {
	case s == nil:
		s = &slot{period: p}
		r.slots[i] = s
	case s.period > p:
		return nil // the clock went back: the slot holds a later period
	case s.period < p:
		*s = slot{period: p}
	}
	r.newest = max(r.newest, p)
	return s
}

// get returns period p's slot, or nil when the ring holds nothing for it.
func (r *ring) get(p int64) *slot {
	if r.slots == nil {
		return nil
	}
	s := r.slots[((p%r.n)+r.n)%r.n]
	if s == nil || s.period != p {
		return nil
	}
	return s
}

// each calls fn with the slots of periods [from, to) that hold figures, oldest first. It walks
// the slot array once, without a division per period: the overview reads every function's
// last periods.
func (r *ring) each(from, to int64, fn func(*slot)) {
	if r.slots == nil || to <= from || r.newest < from {
		return
	}
	i := ((from % r.n) + r.n) % r.n
	for p := from; p < to; p++ {
		if s := r.slots[i]; s != nil && s.period == p {
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
// and reports whether any slot is left.
func (r *ring) sweep(now int64) bool {
	left := false
	for i, s := range r.slots {
		switch {
		case s == nil:
		case s.period <= now-r.n:
			r.slots[i] = nil
		default:
			left = true
		}
	}
	if !left {
		r.slots = nil
	}
	return left
}
