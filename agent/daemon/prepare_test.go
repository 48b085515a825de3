package daemon

import (
	"context"
	"errors"
	"testing"

	"github.com/hearthfn/hearth/agent"
	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
)

// preparingAgent is an agent.Agent that can prepare; the embedded nil Agent is never called.
type preparingAgent struct {
	agent.Agent
	prepared []string
}

func (p *preparingAgent) PrepareInstance(_ context.Context, spec instance.Spec) error {
	p.prepared = append(p.prepared, spec.ID)
	return nil
}

// The daemon's wrapping must not hide the agent's prepare: the remote wire serves prepares only
// when the served agent is an agent.Preparer.
func TestExpectingPassesPreparesOn(t *testing.T) {
	inner := &preparingAgent{}
	var wrapped agent.Agent = expecting{Agent: inner, x: newExpectations()}
	p, ok := wrapped.(agent.Preparer)
	if !ok {
		t.Fatal("the wrapped agent is not an agent.Preparer")
	}
	if err := p.PrepareInstance(context.Background(), instance.Spec{ID: "i1"}); err != nil {
		t.Fatal(err)
	}
	if len(inner.prepared) != 1 || inner.prepared[0] != "i1" {
		t.Fatalf("prepared %v, want [i1]", inner.prepared)
	}

	// An agent that cannot prepare says so with driver.ErrNotSupported.
	plain := expecting{Agent: struct{ agent.Agent }{}, x: newExpectations()}
	if err := plain.PrepareInstance(context.Background(), instance.Spec{ID: "i2"}); !errors.Is(err, driver.ErrNotSupported) {
		t.Fatalf("err = %v, want driver.ErrNotSupported", err)
	}
}
