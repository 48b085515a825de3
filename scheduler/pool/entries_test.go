package pool

import (
	"strings"
	"testing"

	"github.com/hearthfn/hearth/api"
)

// A function's other versions served as entries "NAME@N" (scheduler/registry/aliases.go) count
// as the function in Stats (metrics, the dashboard), and their instances' ids, which become
// container names, carry no "@".
func TestEntriesOfAFunctionCountAsIt(t *testing.T) {
	p, _ := newTestPool(t, &fakeNode{})
	p.Apply(fn("hello", 2, api.FunctionSpec{}))
	p.Apply(api.Function{Name: "hello@1", Version: fn("hello", 1, api.FunctionSpec{}).Version})
	p.Apply(fn("other", 1, api.FunctionSpec{}))
	for _, name := range []string{"hello", "hello@1"} {
		l := acquire(t, p, name)
		if id := l.InstanceID(); strings.Contains(id, "@") || !strings.HasPrefix(id, "hello-v") {
			t.Fatalf("instance of %s has id %q", name, id)
		}
		l.Release(OutcomeOK)
	}
	st := p.Stats()
	if len(st.Functions) != 2 || st.Functions[0].Function != "hello" || st.Functions[1].Function != "other" {
		t.Fatalf("Stats functions: %+v, want hello and other", st.Functions)
	}
	total := 0
	for _, n := range st.Functions[0].Instances {
		total += n
	}
	if total != 2 {
		t.Fatalf("hello counts %d instances (%v), want its 2 entries' 2", total, st.Functions[0].Instances)
	}
}
