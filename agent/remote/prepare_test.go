package remote_test

import (
	"context"
	"errors"
	"testing"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
)

// prepAgent is a fakeAgent that prepares instances.
type prepAgent struct {
	fakeAgent
	prepared instance.Spec
}

func (p *prepAgent) PrepareInstance(ctx context.Context, spec instance.Spec) error {
	if err := p.record("prepare " + spec.ID); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.prepared = spec
	return nil
}

func TestPrepareInstance(t *testing.T) {
	pa := &prepAgent{}
	c, _, _ := pair(t, pa)
	spec := instance.Spec{ID: "i1", Function: "f", Version: 2, Image: "img", Env: map[string]string{"A": "b"}}
	if err := c.PrepareInstance(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	if pa.lastCall() != "prepare i1" || pa.prepared.Env["A"] != "b" || pa.prepared.Version != 2 {
		t.Errorf("the agent got %q with %+v", pa.lastCall(), pa.prepared)
	}
	pa.setErr(errors.New("engine hiccup"))
	if err := c.PrepareInstance(context.Background(), spec); err == nil || errors.Is(err, driver.ErrNotSupported) {
		t.Errorf("a failed prepare = %v, want the agent's error", err)
	}
}

// TestPrepareNotSupported: an agent whose node cannot prepare says so with ErrNotSupported.
func TestPrepareNotSupported(t *testing.T) {
	c, _, _ := pair(t, &fakeAgent{})
	err := c.PrepareInstance(context.Background(), instance.Spec{ID: "i1"})
	if !errors.Is(err, driver.ErrNotSupported) {
		t.Errorf("PrepareInstance on an agent without it = %v, want ErrNotSupported", err)
	}
}
