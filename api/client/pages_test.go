package client_test

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/api/client"
)

// ListFunctions and ListVersions follow the pages to the last, asking for the largest pages.
func TestListsFollowPages(t *testing.T) {
	var (
		mu    sync.Mutex
		asked []string
	)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/functions", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked = append(asked, r.URL.RawQuery)
		mu.Unlock()
		switch r.URL.Query().Get("after") {
		case "":
			writeJSON(w, 200, api.FunctionList{Items: []api.Function{{Name: "a"}, {Name: "b"}}, Next: "b"})
		case "b":
			writeJSON(w, 200, api.FunctionList{Items: []api.Function{{Name: "c"}}})
		default:
			writeErr(w, 400, api.CodeInvalid, "unexpected page", "after")
		}
	})
	mux.HandleFunc("GET /v1/functions/{name}/versions", func(w http.ResponseWriter, r *http.Request) {
		after, _ := strconv.Atoi(r.URL.Query().Get("after"))
		if after == 0 {
			after = 4
		}
		l := api.VersionList{Items: []api.Version{}}
		for n := after - 1; n >= 1 && len(l.Items) < 2; n-- {
			l.Items = append(l.Items, api.Version{Number: n})
		}
		if last := l.Items[len(l.Items)-1].Number; last > 1 {
			l.Next = strconv.Itoa(last)
		}
		writeJSON(w, 200, l)
	})
	c := newServer(t, mux)
	ctx := context.Background()

	fns, err := c.ListFunctions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range fns {
		got = append(got, f.Name)
	}
	if !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("ListFunctions = %v, want a, b, c", got)
	}
	if want := []string{"limit=1000", "after=b&limit=1000"}; !slices.Equal(asked, want) {
		t.Errorf("pages asked: %q, want %q", asked, want)
	}
	vs, err := c.ListVersions(ctx, "hello")
	if err != nil || len(vs) != 3 || vs[0].Number != 3 || vs[2].Number != 1 {
		t.Errorf("ListVersions = %+v, %v; want 3, 2, 1", vs, err)
	}

	page, err := c.FunctionsPage(ctx, client.PageOptions{After: "b", Limit: 5})
	if err != nil || len(page.Items) != 1 || page.Next != "" {
		t.Errorf("FunctionsPage after b = %+v, %v", page, err)
	}
}

// A server that answers the same cursor again is not asked forever.
func TestFollowStopsOnARepeatedCursor(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/functions", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, api.FunctionList{Items: []api.Function{{Name: "a"}}, Next: "a"})
	})
	c := newServer(t, mux)
	if _, err := c.ListFunctions(context.Background()); err == nil {
		t.Fatal("ListFunctions of a server that repeats its cursor returned no error")
	}
}
