package pool

import (
	"context"
	"reflect"
	"sync"
	"testing"

	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/api"
)

// specNode records the spec of every start.
type specNode struct {
	*fakeNode
	mu    sync.Mutex
	specs map[string]instance.Spec
}

func (n *specNode) StartInstance(ctx context.Context, spec instance.Spec) (instance.Instance, error) {
	n.mu.Lock()
	n.specs[spec.ID] = spec
	n.mu.Unlock()
	return n.fakeNode.StartInstance(ctx, spec)
}

func (n *specNode) spec(id string) instance.Spec {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.specs[id]
}

func newSpecPool(t *testing.T) (*Pool, *specNode) {
	t.Helper()
	n := &specNode{fakeNode: &fakeNode{}, specs: map[string]instance.Spec{}}
	p, _ := newTestPool(t, n)
	return p, n
}

func TestStartPassesSecurity(t *testing.T) {
	for _, tt := range []struct {
		name string
		spec api.FunctionSpec
		want instance.Security
	}{
		{"defaults", api.FunctionSpec{},
			instance.Security{TmpSizeMB: api.DefaultTmpSizeMB, PidsLimit: api.DefaultPidsLimit, NoFile: api.DefaultNoFile}},
		{"every field relaxed", api.FunctionSpec{User: "root", WritableRoot: true, TmpSizeMB: 10, PidsLimit: 100,
			NoFile: 1000, CapAdd: []string{"KILL", "CHOWN"}, Network: api.NetworkNone},
			instance.Security{User: "root", WritableRoot: true, TmpSizeMB: 10, PidsLimit: 100, NoFile: 1000,
				CapAdd: []string{"KILL", "CHOWN"}, Network: instance.NetworkNone}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, n := newSpecPool(t)
			p.Apply(fn("sec", 1, tt.spec))
			l := acquire(t, p, "sec")
			defer l.Release(OutcomeOK)
			if got := n.spec(l.InstanceID()).Security; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Security = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestSecurityChangeReplacesInstances checks that a new version with the same image but another
// hardening field does not carry the old containers over, as a settings-only change would.
func TestSecurityChangeReplacesInstances(t *testing.T) {
	p, n := newSpecPool(t)
	p.Apply(fn("sec", 1, api.FunctionSpec{}))
	first := acquire(t, p, "sec")
	first.Release(OutcomeOK)
	v2 := fn("sec", 2, api.FunctionSpec{Network: api.NetworkNone})
	v2.Version.Image = "img:1"
	p.Apply(v2)
	l := acquire(t, p, "sec")
	defer l.Release(OutcomeOK)
	if l.InstanceID() == first.InstanceID() {
		t.Fatalf("the instance started without network: none took the call after the change")
	}
	if got := n.spec(l.InstanceID()).Security.Network; got != instance.NetworkNone {
		t.Errorf("new instance's network = %q", got)
	}
}

func TestSameSecurityComparesEveryField(t *testing.T) {
	base := instance.Security{User: "1", TmpSizeMB: 1, PidsLimit: 1, NoFile: 1, CapAdd: []string{"KILL"}}
	if !sameSecurity(base, base) {
		t.Fatal("equal settings compare unequal")
	}
	// Change each field in turn, by reflection, so that a field added later cannot be missed.
	rt := reflect.TypeOf(base)
	for i := range rt.NumField() {
		other := base
		f := reflect.ValueOf(&other).Elem().Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString(f.String() + "x")
		case reflect.Bool:
			f.SetBool(!f.Bool())
		case reflect.Int, reflect.Int64:
			f.SetInt(f.Int() + 1)
		case reflect.Slice:
			f.Set(reflect.ValueOf([]string{"CHOWN"}))
		default:
			t.Fatalf("field %s of a kind this test does not change", rt.Field(i).Name)
		}
		if sameSecurity(base, other) {
			t.Errorf("a change of %s is not seen", rt.Field(i).Name)
		}
	}
}
