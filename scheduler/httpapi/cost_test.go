package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/httpapi"
)

// fakeCost knows the cost of "hello" only.
type fakeCost struct{}

var helloCost = api.FunctionCost{
	Total:     api.CostWindow{From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), WarmMBSeconds: 1280, PausedMBSeconds: 2560, Calls: 2, ColdStartsNew: 1, ColdStartsAvoided: 1},
	KeepAlive: api.KeepAlive{Source: api.KeepAliveConfigured, IdleTimeout: api.Duration(30 * time.Second), PauseTimeout: api.Duration(10 * time.Minute)},
}

func (fakeCost) Cost(name string) (api.FunctionCost, bool) {
	if name != "hello" {
		return api.FunctionCost{}, false
	}
	return helloCost, true
}

func TestCostEndpoint(t *testing.T) {
	reg := &fakeRegistry{get: func(name string) (api.Function, error) { return sampleFunction(name, 1), nil }}
	srv, _ := serveBare(t, reg, func(d *httpapi.Deps) { d.Cost = fakeCost{} })

	var c api.FunctionCost
	decodeJSON(t, send(t, http.MethodGet, srv.URL+"/v1/functions/hello/cost", viewerToken, "", nil), http.StatusOK, &c)
	if c.Total.WarmMBSeconds != 1280 || c.Total.PausedMBSeconds != 2560 || c.Total.ColdStartsAvoided != 1 ||
		c.KeepAlive.Source != api.KeepAliveConfigured || c.KeepAlive.PauseTimeout.D() != 10*time.Minute {
		t.Fatalf("cost %+v", c)
	}
	var fn api.Function
	decodeJSON(t, send(t, http.MethodGet, srv.URL+"/v1/functions/hello", viewerToken, "", nil), http.StatusOK, &fn)
	if fn.Cost == nil || fn.Cost.Total.Calls != 2 {
		t.Fatalf("GET function carries no cost: %+v", fn.Cost)
	}

	for _, tc := range []struct {
		name, url, token string
		status           int
	}{
		{"unknown function", srv.URL + "/v1/functions/nope/cost", adminToken, http.StatusNotFound},
		{"token for another function", srv.URL + "/v1/functions/other/cost", scopedViewer, http.StatusForbidden},
		{"no token", srv.URL + "/v1/functions/hello/cost", "", http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := send(t, http.MethodGet, tc.url, tc.token, "", nil)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
		})
	}
}

// Without a cost source the route is absent and a function GET has no cost.
func TestCostAbsentWithoutSource(t *testing.T) {
	reg := &fakeRegistry{get: func(name string) (api.Function, error) { return sampleFunction(name, 1), nil }}
	srv, _ := serveBare(t, reg)
	resp := send(t, http.MethodGet, srv.URL+"/v1/functions/hello/cost", viewerToken, "", nil)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("status %d, want 404", resp.StatusCode)
	}
	var fn api.Function
	decodeJSON(t, send(t, http.MethodGet, srv.URL+"/v1/functions/hello", viewerToken, "", nil), http.StatusOK, &fn)
	if fn.Cost != nil {
		t.Fatalf("cost without a source: %+v", fn.Cost)
	}
}
