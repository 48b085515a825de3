package pool

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/api"
)

// secretsNode is a fakeNode that records the secrets each start got.
type secretsNode struct {
	*fakeNode
	mu   sync.Mutex
	got  map[string]instance.SecretValues // by instance id
	mode map[string]string
}

func (n *secretsNode) StartInstance(ctx context.Context, spec instance.Spec) (instance.Instance, error) {
	n.mu.Lock()
	n.got[spec.ID], n.mode[spec.ID] = spec.Secrets, spec.SecretsAs
	n.mu.Unlock()
	return n.fakeNode.StartInstance(ctx, spec)
}

// secretSource is a Config.Secrets whose values and error the test changes.
type secretSource struct {
	mu    sync.Mutex
	value string
	err   error
	asked []string
}

func (s *secretSource) get(_ context.Context, function string) (instance.SecretValues, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked = append(s.asked, function)
	if s.err != nil {
		return nil, s.err
	}
	return instance.SecretValues{"TOKEN": []byte(s.value)}, nil
}

func (s *secretSource) set(v string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.value, s.err = v, err
}

func newSecretsPool(t *testing.T, src *secretSource) (*Pool, *secretsNode) {
	t.Helper()
	c := &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	p := New(Config{Now: c.Now, Secrets: src.get}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(func() { p.Shutdown(false) })
	n := &secretsNode{fakeNode: &fakeNode{}, got: map[string]instance.SecretValues{}, mode: map[string]string{}}
	addNode(t, p, testNode, n, nil)
	return p, n
}

func TestStartGetsSecrets(t *testing.T) {
	src := &secretSource{value: "one"}
	p, n := newSecretsPool(t, src)
	p.Apply(fn("sec", 1, api.FunctionSpec{SecretsAs: api.SecretsEnv}))
	l := acquire(t, p, "sec")
	defer l.Release(OutcomeOK)
	n.mu.Lock()
	defer n.mu.Unlock()
	if got := string(n.got[l.InstanceID()]["TOKEN"]); got != "one" || n.mode[l.InstanceID()] != api.SecretsEnv {
		t.Fatalf("start got secrets %q as %q", got, n.mode[l.InstanceID()])
	}
}

// TestRestartFunctionDrains checks rotation: the instance with a call in flight finishes it,
// the next call gets a new instance with the new value, and the old one stops after its call.
func TestRestartFunctionDrains(t *testing.T) {
	src := &secretSource{value: "one"}
	p, n := newSecretsPool(t, src)
	p.Apply(fn("sec", 1, api.FunctionSpec{}))
	p.Apply(fn("other", 1, api.FunctionSpec{}))
	old := acquire(t, p, "sec")
	other := acquire(t, p, "other")
	other.Release(OutcomeOK)

	src.set("two", nil)
	p.RestartFunction("sec")
	p.RestartFunction("unknown") // ignored
	if _, stopped := n.counts(); stopped != 0 {
		t.Fatal("an instance stopped while its call was in flight, or another function's was replaced")
	}
	nl := acquire(t, p, "sec")
	if nl.InstanceID() == old.InstanceID() {
		t.Fatal("the call after the restart went to the old instance")
	}
	n.mu.Lock()
	got := string(n.got[nl.InstanceID()]["TOKEN"])
	n.mu.Unlock()
	if got != "two" {
		t.Fatalf("the new instance got %q, want the new value", got)
	}
	old.Release(OutcomeOK)
	waitFor(t, "the old instance to stop", func() bool { _, s := n.counts(); return s == 1 })
	nl.Release(OutcomeOK)
	if o := acquire(t, p, "other"); o.InstanceID() != other.InstanceID() {
		t.Fatal("another function's instance was replaced")
	} else {
		o.Release(OutcomeOK)
	}
}

func TestSecretsErrorFailsStart(t *testing.T) {
	bad := errors.New("secret K of function sec cannot be decrypted with the secrets key from /k")
	src := &secretSource{}
	src.set("", bad)
	p, n := newSecretsPool(t, src)
	p.Apply(fn("sec", 1, api.FunctionSpec{}))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := p.Acquire(ctx, "sec"); !errors.Is(err, bad) || ctx.Err() != nil {
		t.Fatalf("want the secrets error before the deadline, got %v", err)
	}
	if started, _ := n.counts(); started != 0 {
		t.Fatalf("the node was asked to start an instance without its secrets")
	}
}

func TestBaseName(t *testing.T) {
	for in, want := range map[string]string{"hello": "hello", "hello@3": "hello", "": ""} {
		if got := baseName(in); got != want {
			t.Errorf("baseName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSecretsModeChangeNeedsNewInstances(t *testing.T) {
	files, env := api.FunctionSpec{SecretsAs: api.SecretsFiles}, api.FunctionSpec{SecretsAs: api.SecretsEnv}
	if !sameInstance(api.FunctionSpec{}, files) {
		t.Error("the default and an explicit files mode are the same")
	}
	if sameInstance(files, env) {
		t.Error("a change from files to env keeps the instances")
	}
}
