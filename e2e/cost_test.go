//go:build e2e

package e2e

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/hearthfn/hearth/api"
)

// TestCostCountsColdStartsAndMemory: against the real engine, a new start, a pause and a resume
// show in the function's cost as the API, the CLI and /metrics report it: one new cold start,
// one resumed that avoided a new start, memory held warm and paused. Only counts and signs are
// checked: the seconds depend on the machine.
func TestCostCountsColdStartsAndMemory(t *testing.T) {
	s := startServer(t, serverOpts{})
	dir := s.newFunction(t, "ledger")
	setFuncYAML(t, dir, "idle_timeout", "1s")
	s.must(t, dir, "deploy")
	mustCall(t, s, "ledger")
	eventually(t, "the idle instance to be paused", func() bool {
		p := poolOf(t, s, "ledger")
		return len(p.Instances) == 1 && p.Instances[0].State == "paused"
	})
	mustCall(t, s, "ledger")

	resp, err := s.get("/v1/functions/ledger/cost")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var c api.FunctionCost
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
		t.Fatal(err)
	}
	tot := c.Total
	if tot.Calls != 2 || tot.ColdStartsNew != 1 || tot.ColdStartsResumed != 1 || tot.ColdStartsAvoided != 1 {
		t.Fatalf("counts %+v, want 2 calls: 1 new, 1 resumed that avoided a new start", tot)
	}
	if tot.WarmMBSeconds <= 0 || tot.PausedMBSeconds <= 0 || c.LastHour.Calls != 2 {
		t.Fatalf("cost %+v, want memory held warm and paused, and both calls in the last hour", c)
	}
	if c.KeepAlive.IdleTimeout.String() != "1s" {
		t.Fatalf("keep-alive %+v, want idle_timeout 1s", c.KeepAlive)
	}

	out := s.must(t, dir, "inspect", "ledger").stdout
	for _, want := range []string{"COST", "cold starts avoided by keep-alive   ", "Keep-alive: "} {
		if !strings.Contains(out, want) {
			t.Fatalf("inspect lacks %q:\n%s", want, out)
		}
	}
	if got := metric(t, s, `hearth_cold_starts_avoided_total{function="ledger"}`); got != "1" {
		t.Fatalf("hearth_cold_starts_avoided_total = %q, want 1", got)
	}
	paused, err := strconv.ParseFloat(metric(t, s, `hearth_function_memory_seconds_total{function="ledger",state="paused"}`), 64)
	if err != nil || paused <= 0 {
		t.Fatalf("paused memory-seconds %v (%v), want > 0", paused, err)
	}
}
