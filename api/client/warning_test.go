package client_test

import (
	"context"
	"net/http"
	"reflect"
	"sync"
	"testing"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/api/client"
)

func TestWithWarnings(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("PATCH /v1/functions/{name}/config", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Warning", `299 - "memory_mb is deprecated; use memory"`)
		w.Header().Add("Warning", `299 hearth "a \"quoted\" word" "Sat, 01 Jan 2000 00:00:00 GMT"`)
		w.Header().Add("Warning", `not in the usual form`)
		writeJSON(w, 200, api.Function{Name: "hello"})
	})
	var (
		mu  sync.Mutex
		got []string
	)
	c := newServer(t, mux, client.WithWarnings(func(s string) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, s)
	}))
	if _, err := c.Configure(context.Background(), "hello", api.ConfigPatch{}); err != nil {
		t.Fatal(err)
	}
	want := []string{"memory_mb is deprecated; use memory", `a "quoted" word`, "not in the usual form"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("warnings = %q, want %q", got, want)
	}

	// Without WithWarnings they are dropped, quietly.
	if _, err := newServer(t, mux).Configure(context.Background(), "hello", api.ConfigPatch{}); err != nil {
		t.Fatal(err)
	}
}
