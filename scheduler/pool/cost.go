package pool

import (
	"time"

	"github.com/hearthfn/hearth/api"
)

// This file keeps the cost accounts: per function, the memory its instances hold warm (ready
// and idle), busy and paused, integrated over time, and the cold starts its calls took and the
// ones keep-alive avoided (api.FunctionCost says what each figure means). The accounts hang on
// the pool's state transitions: an instance carries one open segment (costMark: a kind since a
// time), closed into its function's ledger whenever the kind changes, and flushed up to now
// when the accounts are read. A call's part is a few additions under the lock the call holds
// anyway: nothing is allocated per call.

// costKind is what an instance's memory counts as.
type costKind uint8

const (
	costNone   costKind = iota // starting, stopping or gone: not counted
	costWarm                   // ready with no call in flight: the price of keep-alive
	costBusy                   // ready and serving calls
	costPaused                 // paused: memory kept, no CPU
	costKinds
)

// costMark is an instance's open accounting segment. Guarded by Pool.mu.
type costMark struct {
	kind  costKind
	since time.Time
	// led is the ledger the segment is counted in: held so that an instance of a function
	// removed meanwhile closes into its old ledger rather than making a new one.
	led *ledger
}

// costSums is one window's figures.
type costSums struct {
	mbs                                  [costKinds]float64 // MB-seconds by kind
	calls, coldNew, coldResumed, avoided int64
}

func (s *costSums) add(o *costSums) {
	for k := range s.mbs {
		s.mbs[k] += o.mbs[k]
	}
	s.calls += o.calls
	s.coldNew += o.coldNew
	s.coldResumed += o.coldResumed
	s.avoided += o.avoided
}

// hourMinutes is how many one-minute buckets the last-hour window keeps.
const hourMinutes = 60

// ledger is one function's accounts, every pool entry of it ("NAME@N") included.
type ledger struct {
	since time.Time
	total costSums
	// hour is a ring of one-minute buckets, each labelled with its minute (Unix minutes) so that
	// a stale one is told from a current one without a sweep.
	hour [hourMinutes]struct {
		minute int64
		sums   costSums
	}
}

// costBook is the pool's accounts. Guarded by Pool.mu.
type costBook struct {
	ledgers map[string]*ledger // by function name (baseName)
}

func unixMinute(t time.Time) int64 { return t.UnixNano() / int64(time.Minute) }

// bucket returns the last-hour bucket of the minute t falls in, emptied if it held an older one.
func (l *ledger) bucket(t time.Time) *costSums {
	m := unixMinute(t)
	b := &l.hour[((m%hourMinutes)+hourMinutes)%hourMinutes]
	if b.minute != m {
		b.minute, b.sums = m, costSums{}
	}
	return &b.sums
}

// accrue counts mb MB held as kind from from to to, split at minute boundaries so that the
// last-hour window holds only what fell inside it.
func (l *ledger) accrue(kind costKind, mb int64, from, to time.Time) {
	if kind == costNone || mb <= 0 || !to.After(from) {
		return
	}
	l.total.mbs[kind] += float64(mb) * to.Sub(from).Seconds()
	// Only the last hour needs the split: older minutes would be overwritten anyway.
	if horizon := to.Add(-hourMinutes * time.Minute); from.Before(horizon) {
		from = horizon
	}
	for from.Before(to) {
		end := from.Truncate(time.Minute).Add(time.Minute)
		if end.After(to) {
			end = to
		}
		l.bucket(from).mbs[kind] += float64(mb) * end.Sub(from).Seconds()
		from = end
	}
}

func (p *Pool) ledgerLocked(name string, now time.Time) *ledger {
	if p.cost.ledgers == nil {
		p.cost.ledgers = map[string]*ledger{}
	}
	l := p.cost.ledgers[name]
	if l == nil {
		l = &ledger{since: now}
		p.cost.ledgers[name] = l
	}
	return l
}

// costMarkLocked closes in's open segment at now and opens one of kind: costWarm for an instance
// that became ready (busy when it has calls in flight), costPaused, or costNone when it leaves
// the pool.
func (p *Pool) costMarkLocked(f *function, in *inst, kind costKind, now time.Time) {
	m := &in.acct
	if m.led != nil {
		m.led.accrue(m.kind, in.res.MemoryMB, m.since, now)
	}
	if kind == costWarm && in.inFlight > 0 {
		kind = costBusy
	}
	m.kind, m.since = kind, now
	if kind != costNone && m.led == nil {
		m.led = p.ledgerLocked(baseName(f.name), now)
	}
}

// costTakeLocked counts a call taking in at now, before in.inFlight and in.lastUsed change;
// cold is how the call came by it. It is on every call's path: no allocation, no map lookup.
func costTakeLocked(in *inst, cold ColdKind, now time.Time) {
	m := &in.acct
	if m.led == nil {
		return // not accounted: never marked ready
	}
	s := m.led.bucket(now)
	t := &m.led.total
	t.calls++
	s.calls++
	switch {
	case cold == ColdNew:
		t.coldNew++
		s.coldNew++
	case cold == ColdResumed:
		t.coldResumed++
		s.coldResumed++
		t.avoided++
		s.avoided++
	case in.inFlight == 0 && now.Sub(in.lastUsed) >= api.AvoidedAfterIdle:
		t.avoided++
		s.avoided++
	}
	if in.inFlight == 0 && m.kind == costWarm {
		m.led.accrue(costWarm, in.res.MemoryMB, m.since, now)
		m.kind, m.since = costBusy, now
	}
}

// costReleaseLocked counts a call ending on in at now, after in.inFlight went down.
func costReleaseLocked(in *inst, now time.Time) {
	m := &in.acct
	if m.led == nil || in.inFlight > 0 || m.kind != costBusy {
		return
	}
	m.led.accrue(costBusy, in.res.MemoryMB, m.since, now)
	m.kind, m.since = costWarm, now
}

// dropCostLocked forgets the accounts of a removed function: deployed again, it counts from
// zero. Removing one of its extra entries ("NAME@N") keeps them.
func (p *Pool) dropCostLocked(entry string) {
	if baseName(entry) == entry {
		delete(p.cost.ledgers, entry)
	}
}

// Cost reports a function's cost (api.FunctionCost); ok is false for a function the pool does
// not know.
func (p *Pool) Cost(name string) (c api.FunctionCost, ok bool) {
	p.mu.Lock()
	f := p.fns[name]
	if f != nil {
		now := p.cfg.Now()
		for entry, g := range p.fns {
			if baseName(entry) == name {
				flushCostLocked(g, now)
			}
		}
		c = p.costLocked(f, now)
	}
	p.mu.Unlock()
	if f == nil {
		return api.FunctionCost{}, false
	}
	p.learnedKeepAlive(name, &c.KeepAlive)
	return c, true
}

// Costs reports the cost of every function the pool knows, by name, for metrics.
func (p *Pool) Costs() map[string]api.FunctionCost {
	p.mu.Lock()
	now := p.cfg.Now()
	out := make(map[string]api.FunctionCost, len(p.fns))
	for _, f := range p.fns {
		flushCostLocked(f, now)
	}
	for name, f := range p.fns {
		if baseName(name) == name {
			out[name] = p.costLocked(f, now)
		}
	}
	p.mu.Unlock()
	for name, c := range out {
		p.learnedKeepAlive(name, &c.KeepAlive)
		out[name] = c
	}
	return out
}

// flushCostLocked counts the open segments of f's instances up to now, so that a reading at now
// holds them.
func flushCostLocked(f *function, now time.Time) {
	for _, in := range f.instances {
		if m := &in.acct; m.led != nil {
			m.led.accrue(m.kind, in.res.MemoryMB, m.since, now)
			m.since = now
		}
	}
}

// costLocked reads the ledger of f's function (all its entries) at now; the caller has flushed
// their open segments.
func (p *Pool) costLocked(f *function, now time.Time) api.FunctionCost {
	c := api.FunctionCost{KeepAlive: configuredKeepAlive(f)}
	name := baseName(f.name)
	l := p.cost.ledgers[name]
	if l == nil {
		// Nothing counted yet: the windows begin now.
		c.Total.From, c.LastHour.From = now, now
		return c
	}
	c.Total = window(l.since, &l.total)
	var hour costSums
	nowMin := unixMinute(now)
	for i := range l.hour {
		if b := &l.hour[i]; b.minute > nowMin-hourMinutes && b.minute <= nowMin {
			hour.add(&b.sums)
		}
	}
	from := time.Unix(0, (nowMin-hourMinutes+1)*int64(time.Minute)).In(now.Location())
	if from.Before(l.since) {
		from = l.since
	}
	c.LastHour = window(from, &hour)
	return c
}

func window(from time.Time, s *costSums) api.CostWindow {
	return api.CostWindow{From: from, WarmMBSeconds: s.mbs[costWarm], BusyMBSeconds: s.mbs[costBusy],
		PausedMBSeconds: s.mbs[costPaused], Calls: s.calls, ColdStartsNew: s.coldNew, ColdStartsResumed: s.coldResumed,
		ColdStartsAvoided: s.avoided}
}

// configuredKeepAlive is what decides when f's idle instances pause and stop when nothing is
// learned: the function's configured timeouts. Cost lays the learning policy's word over it
// (cost_keepalive.go).
func configuredKeepAlive(f *function) api.KeepAlive {
	return api.KeepAlive{Source: api.KeepAliveConfigured, IdleTimeout: f.spec.IdleTimeout, PauseTimeout: f.spec.PauseTimeout}
}
