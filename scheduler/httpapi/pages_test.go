package httpapi_test

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"testing"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/httpapi"
	"github.com/hearthfn/hearth/scheduler/store"
)

// names returns the names of a page of functions.
func names(fns []api.Function) []string {
	out := []string{}
	for _, f := range fns {
		out = append(out, f.Name)
	}
	return out
}

func TestListFunctionsPages(t *testing.T) {
	var fns []api.Function
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		fns = append(fns, sampleFunction(n, 1))
	}
	var asked []store.FunctionPage
	list := listing(fns...)
	reg := &fakeRegistry{list: func(p store.FunctionPage) ([]api.Function, error) {
		asked = append(asked, p)
		return list(p)
	}}
	srv, _ := serve(t, reg)

	for _, c := range []struct {
		query string
		items []string
		next  string
	}{
		{"?limit=2", []string{"a", "b"}, "b"},
		{"?limit=2&after=b", []string{"c", "d"}, "d"},
		{"?limit=2&after=d", []string{"e"}, ""},
		// A last page as full as the limit says so: no next, and no empty page after it.
		{"?limit=5", []string{"a", "b", "c", "d", "e"}, ""},
		{"?after=c", []string{"d", "e"}, ""},
		{"?after=zzz", []string{}, ""},
	} {
		var got api.FunctionList
		decodeJSON(t, do(t, http.MethodGet, srv.URL+"/v1/functions"+c.query, nil), http.StatusOK, &got)
		if !slices.Equal(names(got.Items), c.items) || got.Next != c.next {
			t.Errorf("GET /v1/functions%s = %v next %q, want %v next %q", c.query, names(got.Items), got.Next, c.items, c.next)
		}
	}
	// The store is asked for one more than the page: that says whether another follows.
	if asked[0].Limit != 3 || asked[4].Limit != api.DefaultListLimit+1 || asked[4].After != "c" || asked[0].Names != nil {
		t.Errorf("the registry was asked for %+v", asked)
	}
}

func TestListFunctionsDefaultLimit(t *testing.T) {
	var fns []api.Function
	for i := range 150 {
		fns = append(fns, sampleFunction(fmt.Sprintf("f%03d", i), 1))
	}
	srv, _ := serve(t, &fakeRegistry{list: listing(fns...)})
	var got api.FunctionList
	decodeJSON(t, do(t, http.MethodGet, srv.URL+"/v1/functions", nil), http.StatusOK, &got)
	if len(got.Items) != api.DefaultListLimit || got.Next != "f099" {
		t.Errorf("a first page of 150 functions has %d, next %q; want %d, next f099", len(got.Items), got.Next, api.DefaultListLimit)
	}
	got = api.FunctionList{}
	decodeJSON(t, do(t, http.MethodGet, srv.URL+"/v1/functions?limit=1000", nil), http.StatusOK, &got)
	if len(got.Items) != 150 || got.Next != "" {
		t.Errorf("limit=1000 of 150 functions: %d, next %q", len(got.Items), got.Next)
	}
}

func TestListPagesBadQueries(t *testing.T) {
	reg := &fakeRegistry{list: listing(), versions: func(string, store.VersionPage) ([]api.Version, error) { return nil, nil }}
	srv, _ := serve(t, reg)
	for _, c := range []struct{ path, field string }{
		{"/v1/functions?limit=0", "limit"},
		{"/v1/functions?limit=1001", "limit"},
		{"/v1/functions?limit=ten", "limit"},
		{"/v1/functions/hello/versions?limit=-1", "limit"},
		{"/v1/functions/hello/versions?after=latest", "after"},
		{"/v1/functions/hello/versions?after=0", "after"},
	} {
		if e := errorBody(t, do(t, http.MethodGet, srv.URL+c.path, nil), http.StatusBadRequest); e.Code != api.CodeInvalid || e.Field != c.field {
			t.Errorf("GET %s: %+v, want invalid naming %s", c.path, e, c.field)
		}
	}
	if calls := reg.Calls(); len(calls) != 0 {
		t.Errorf("bad queries reached the registry: %v", calls)
	}
}

// A token limited to some functions pages through those: its pages are full, and it learns
// nothing of the others.
func TestListFunctionsPagesOfAScopedToken(t *testing.T) {
	var fns []api.Function
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		fns = append(fns, sampleFunction(n, 1))
	}
	const scoped = "hth_viewer_b_d"
	srv, _ := serveBare(t, &fakeRegistry{list: listing(fns...)}, func(d *httpapi.Deps) {
		d.Auth = fakeTokens{scoped: {ID: "view3", Role: api.RoleViewer, Functions: []string{"d", "b"}}}
	})
	var got api.FunctionList
	decodeJSON(t, send(t, http.MethodGet, srv.URL+"/v1/functions?limit=1", scoped, "", nil), http.StatusOK, &got)
	if !slices.Equal(names(got.Items), []string{"b"}) || got.Next != "b" {
		t.Fatalf("first page of 1 = %v next %q, want [b] next b", names(got.Items), got.Next)
	}
	got = api.FunctionList{}
	decodeJSON(t, send(t, http.MethodGet, srv.URL+"/v1/functions?limit=1&after=b", scoped, "", nil), http.StatusOK, &got)
	if !slices.Equal(names(got.Items), []string{"d"}) || got.Next != "" {
		t.Fatalf("second page of 1 = %v next %q, want [d] and no next", names(got.Items), got.Next)
	}
}

func TestListVersionsPages(t *testing.T) {
	reg := &fakeRegistry{versions: func(name string, p store.VersionPage) ([]api.Version, error) {
		if name != "hello" {
			return nil, notFound(name)
		}
		out := []api.Version{}
		for n := 5; n >= 1; n-- {
			if (p.Before == 0 || n < p.Before) && (p.Limit <= 0 || len(out) < p.Limit) {
				out = append(out, sampleFunction("hello", n).Version)
			}
		}
		return out, nil
	}}
	srv, _ := serve(t, reg)
	numbers := func(vs []api.Version) []int {
		out := []int{}
		for _, v := range vs {
			out = append(out, v.Number)
		}
		return out
	}
	for _, c := range []struct {
		query string
		items []int
		next  string
	}{
		{"", []int{5, 4, 3, 2, 1}, ""},
		{"?limit=2", []int{5, 4}, "4"},
		{"?limit=2&after=4", []int{3, 2}, "2"},
		{"?limit=2&after=2", []int{1}, ""},
		{"?after=1", []int{}, ""},
	} {
		var got api.VersionList
		decodeJSON(t, do(t, http.MethodGet, srv.URL+"/v1/functions/hello/versions"+c.query, nil), http.StatusOK, &got)
		if !slices.Equal(numbers(got.Items), c.items) || got.Next != c.next {
			t.Errorf("versions%s = %v next %q, want %v next %q", c.query, numbers(got.Items), got.Next, c.items, c.next)
		}
		if got.Next != "" {
			if _, err := strconv.Atoi(got.Next); err != nil {
				t.Errorf("next %q is not a version number", got.Next)
			}
		}
	}
}
