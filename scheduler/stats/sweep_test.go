package stats

import (
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
)

func TestSweepFreesWhatLeftTheWindow(t *testing.T) {
	now := time.Date(2031, 5, 6, 12, 0, 0, 0, time.UTC)
	c := New(Config{Now: func() time.Time { return now }})
	c.SetFunction(api.Function{Name: "kept"})
	for _, fn := range []string{"kept", "ghost"} { // ghost: a deleted function's late call
		c.Observe(api.Call{ID: fn + "1", Function: fn, Status: api.CallFailed, CreatedAt: now.Add(-time.Minute), DurationMS: 1})
	}
	c.Sweep()
	if _, ok := c.fns.Load("ghost"); !ok {
		t.Fatal("Sweep forgot a function with figures of the last day")
	}

	now = now.Add(Window + time.Minute)
	c.Observe(api.Call{ID: "k2", Function: "kept", Status: api.CallSucceeded, CreatedAt: now.Add(-time.Second)})
	c.Sweep()
	if _, ok := c.fns.Load("ghost"); ok {
		t.Error("Sweep kept an unknown function with nothing left")
	}
	f, ok := c.lookup("kept")
	if !ok {
		t.Fatal("Sweep forgot a known function")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if used := f.minutes.slots() + f.fine.slots(); used != 2 {
		t.Errorf("%d slots left, want the new call's 2", used)
	}
	if len(f.failures) != 0 {
		t.Errorf("failures older than the window kept: %v", f.failures)
	}
}
