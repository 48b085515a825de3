package cli_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/cli"
)

func TestTriggers(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/functions/{name}/triggers", func(w http.ResponseWriter, r *http.Request) {
		switch r.PathValue("name") {
		case "hello":
			writeJSON(w, http.StatusOK, api.TriggerList{Items: []api.TriggerStatus{
				{Name: "every5", Type: "cron", Schedule: "*/5 * * * *", Timezone: "UTC", Next: now.Add(3 * time.Minute),
					LastFired: now.Add(-2 * time.Minute), LastCallID: "0193abc", LastStatus: api.CallSucceeded},
				{Name: "morning", Type: "cron", Schedule: "0 9 * * *", Timezone: "Europe/Berlin", Next: time.Date(2025, 6, 2, 9, 0, 0, 0, berlin)},
			}})
		case "plain":
			writeJSON(w, http.StatusOK, api.TriggerList{Items: []api.TriggerStatus{}})
		default:
			writeErr(w, http.StatusNotFound, api.CodeNotFound, `function not found: not found: "`+r.PathValue("name")+`" (deploy it first: hearth deploy)`, "")
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	env := map[string]string{"HEARTH_API": srv.URL, "HEARTH_TOKEN": "hth_x"}
	run := func(args ...string) result { return runCLI(t, srv, env, t.TempDir(), t.TempDir(), "", args...) }

	r := run("triggers", "hello")
	if r.code != cli.ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	want := "" +
		"NAME      SCHEDULE      TIMEZONE        NEXT                                LAST FIRED   LAST CALL   STATUS\n" +
		"every5    */5 * * * *   UTC             2025-06-01 12:03:00 UTC (in 3m)     2m ago       0193abc     succeeded\n" +
		"morning   0 9 * * *     Europe/Berlin   2025-06-02 09:00:00 CEST (in 19h)   -            -           -\n"
	if r.stdout != want {
		t.Errorf("stdout =\n%s\nwant\n%s", r.stdout, want)
	}

	r = run("triggers", "hello", "-o", "json")
	var l api.TriggerList
	if err := json.Unmarshal([]byte(r.stdout), &l); err != nil || len(l.Items) != 2 || l.Items[1].Timezone != "Europe/Berlin" {
		t.Fatalf("json: %+v, %v\n%s", l, err, r.stdout)
	}

	r = run("triggers", "plain")
	if r.code != cli.ExitOK || r.stdout != "" || !strings.Contains(r.stderr, "plain has no cron triggers") {
		t.Errorf("no triggers: %d %q %q", r.code, r.stdout, r.stderr)
	}

	r = run("triggers", "nope")
	if r.code == cli.ExitOK || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 || !strings.Contains(r.stderr, `"nope"`) {
		t.Errorf("unknown function: %d %q", r.code, r.stderr)
	}

	r = run("triggers")
	if r.code != cli.ExitUsage || !strings.Contains(r.stderr, "needs NAME") {
		t.Errorf("no name: %d %q", r.code, r.stderr)
	}
}
