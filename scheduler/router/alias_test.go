package router

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/store"
)

func TestPickWeightedFollowsTheWeights(t *testing.T) {
	ws := []api.AliasWeight{{Version: 3, Weight: 90}, {Version: 4, Weight: 10}}
	// Every draw in [0, 100) once: exactly 90 picks of 3 and 10 of 4, the 4s at the end.
	got := map[int]int{}
	for x := range 100 {
		v := pickWeighted(ws, func(n int) int {
			if n != 100 {
				t.Fatalf("randN(%d), want randN(100)", n)
			}
			return x
		})
		got[v]++
		if want := 3; x < 90 && v != want {
			t.Fatalf("draw %d picked %d, want %d", x, v, want)
		}
	}
	if got[3] != 90 || got[4] != 10 {
		t.Fatalf("picks over every draw: %v, want 3:90 4:10", got)
	}
	// Zero weights are never picked; no weight at all picks nothing.
	if v := pickWeighted([]api.AliasWeight{{Version: 1, Weight: 0}, {Version: 2, Weight: 100}}, func(int) int { return 0 }); v != 2 {
		t.Fatalf("a zero weight was picked: %d", v)
	}
	if v := pickWeighted([]api.AliasWeight{{Version: 1, Weight: 0}}, func(int) int { return 0 }); v != 0 {
		t.Fatalf("no weight picked %d, want 0", v)
	}
}

func TestPickWeightedSpreadsCalls(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	ws := []api.AliasWeight{{Version: 1, Weight: 50}, {Version: 2, Weight: 30}, {Version: 3, Weight: 20}}
	got := map[int]int{}
	const n = 10000
	for range n {
		got[pickWeighted(ws, r.IntN)]++
	}
	for _, w := range ws {
		share := float64(got[w.Version]) / n * 100
		if share < float64(w.Weight)-5 || share > float64(w.Weight)+5 {
			t.Errorf("version %d took %.1f%% of the calls, want about %d%%", w.Version, share, w.Weight)
		}
	}
}

// fakeAliases routes "hello": current 2, aliases live (1=50 2=50) and beta (3=100), versions 1-3.
type fakeAliases struct {
	def    string
	pinned []int
	err    error
}

func (a *fakeAliases) Routing(function string) api.Routing {
	if function != "hello" {
		return api.Routing{}
	}
	return api.Routing{Current: 2, Default: a.def, Aliases: map[string][]api.AliasWeight{
		"live": {{Version: 1, Weight: 50}, {Version: 2, Weight: 50}},
		"beta": {{Version: 3, Weight: 100}},
	}}
}

func (a *fakeAliases) Pin(_ context.Context, function string, version int) (string, error) {
	if a.err != nil {
		return "", a.err
	}
	if version < 1 || version > 3 {
		return "", fmt.Errorf("function %s has no version %d: %w", function, version, store.ErrNotFound)
	}
	a.pinned = append(a.pinned, version)
	if version == 2 {
		return function, nil
	}
	return fmt.Sprintf("%s@%d", function, version), nil
}

func TestResolve(t *testing.T) {
	ctx := context.Background()
	rt := New(errPool{}, Config{}, slog.New(slog.DiscardHandler))
	if got, err := rt.resolve(ctx, "hello", ""); err != nil || got != (target{entry: "hello"}) {
		t.Fatalf("without aliases: %+v, %v", got, err)
	}
	if _, err := rt.resolve(ctx, "hello", "live"); !isUnknownTarget(err) {
		t.Fatalf("an alias without aliases: want an unknown target, got %v", err)
	}
	fa := &fakeAliases{}
	rt.SetAliases(fa)
	draw := 0
	rt.randN = func(int) int { return draw }
	for _, tc := range []struct {
		selector, def string
		draw          int
		want          target
	}{
		{"", "", 0, target{entry: "hello"}},
		{"live", "", 0, target{entry: "hello@1", alias: "live"}},
		{"live", "", 50, target{entry: "hello", alias: "live"}}, // version 2 is current: the main entry
		{"beta", "", 0, target{entry: "hello@3", alias: "beta"}},
		{"", "beta", 0, target{entry: "hello@3", alias: "beta"}}, // the default alias
		{"3", "beta", 0, target{entry: "hello@3", pinned: 3}},
		{"2", "", 0, target{entry: "hello", pinned: 2}},
	} {
		fa.def, draw = tc.def, tc.draw
		got, err := rt.resolve(ctx, "hello", tc.selector)
		if err != nil || got != tc.want {
			t.Errorf("resolve(hello, %q) with default %q: %+v, %v; want %+v", tc.selector, tc.def, got, err, tc.want)
		}
	}
	for _, sel := range []string{"nope", "9"} {
		if _, err := rt.resolve(ctx, "hello", sel); !isUnknownTarget(err) {
			t.Errorf("resolve(hello, %q): want an unknown target, got %v", sel, err)
		}
	}
	fa.err = store.ErrUnavailable
	if _, err := rt.resolve(ctx, "hello", "1"); err == nil || isUnknownTarget(err) {
		t.Errorf("a store failure: want an error other than unknown, got %v", err)
	}
}

func TestUnknownAliasIs404NamingIt(t *testing.T) {
	rt := New(errPool{err: errors.New("unused")}, Config{}, slog.New(slog.DiscardHandler))
	rt.SetAliases(&fakeAliases{})
	for _, tc := range []struct{ target, want string }{
		{"hello@nope", `function "hello" has no alias "nope" (hearth alias list hello)`},
		{"hello@9", "function hello has no version 9: not found"},
	} {
		w := httptest.NewRecorder()
		rt.Invoke(w, httptest.NewRequest(http.MethodPost, "/invoke/"+tc.target, nil), tc.target, "/")
		if w.Code != http.StatusNotFound {
			t.Fatalf("%s: status %d, want 404", tc.target, w.Code)
		}
		var body api.ErrorBody
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error.Code != api.CodeNotFound || body.Error.Message != tc.want {
			t.Errorf("%s: body %s, want not_found %q", tc.target, w.Body.String(), tc.want)
		}
	}
}
