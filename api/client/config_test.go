package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/api/client"
)

func TestConfigure(t *testing.T) {
	fn := api.Function{Name: "hello", Version: api.Version{Number: 4, Image: "hearth/hello:abc",
		Spec: api.FunctionSpec{Name: "hello", Runtime: "go", MaxInstances: 5}}}
	var gotBody map[string]any
	mux := http.NewServeMux()
	mux.HandleFunc("PATCH /v1/functions/{name}/config", func(w http.ResponseWriter, r *http.Request) {
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			writeErr(w, 415, api.CodeInvalid, "Content-Type "+ct, "")
			return
		}
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &gotBody); err != nil {
			writeErr(w, 400, api.CodeInvalid, err.Error(), "")
			return
		}
		switch r.PathValue("name") {
		case "hello":
			writeJSON(w, 200, fn)
		case "bad":
			writeErr(w, 400, api.CodeInvalid, `setting "queue": must be a whole number from 1 to 10000`, "queue")
		default:
			writeErr(w, 404, api.CodeNotFound, `function "`+r.PathValue("name")+`": not found`, "")
		}
	})
	c := newServer(t, mux)
	ctx := context.Background()

	maxInst, idle, val := 5, api.Duration(10*time.Second), "b"
	got, err := c.Configure(ctx, "hello", api.ConfigPatch{MaxInstances: &maxInst, IdleTimeout: &idle,
		Env: map[string]*string{"A": &val, "GONE": nil}})
	if err != nil {
		t.Fatalf("Configure: %v", err)
	}
	if !reflect.DeepEqual(got, fn) {
		t.Errorf("Configure = %+v, want %+v", got, fn)
	}
	// Only the settings given are sent, and an unset variable is sent as null.
	wantBody := map[string]any{"max_instances": 5.0, "idle_timeout": "10s", "env": map[string]any{"A": "b", "GONE": nil}}
	if !reflect.DeepEqual(gotBody, wantBody) {
		t.Errorf("body = %v, want %v", gotBody, wantBody)
	}

	queue := 20000
	_, err = c.Configure(ctx, "bad", api.ConfigPatch{Queue: &queue})
	var ce *client.Error
	if !errors.Is(err, client.ErrInvalid) || !errors.As(err, &ce) || ce.Detail.Field != "queue" {
		t.Errorf("refused value: error %v, want ErrInvalid naming queue", err)
	}
	if _, err := c.Configure(ctx, "nope", api.ConfigPatch{}); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("unknown function: error %v, want ErrNotFound", err)
	}
	if _, err := c.Configure(ctx, "", api.ConfigPatch{}); !errors.Is(err, client.ErrInvalid) {
		t.Errorf(`Configure("") = %v, want ErrInvalid`, err)
	}
}
