package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/httpapi"
	"github.com/hearthfn/hearth/scheduler/store"
)

type fakeTriggers map[string][]api.TriggerStatus

func (f fakeTriggers) List(_ context.Context, name string) ([]api.TriggerStatus, error) {
	ts, ok := f[name]
	if !ok {
		return nil, fmt.Errorf("function not found: %w: %q", store.ErrNotFound, name)
	}
	return ts, nil
}

func TestListTriggers(t *testing.T) {
	next := time.Date(2030, 1, 1, 10, 5, 0, 0, time.UTC)
	ft := fakeTriggers{
		"hello": {{Name: "every5", Type: "cron", Schedule: "*/5 * * * *", Timezone: "UTC", Next: next,
			LastFired: next.Add(-5 * time.Minute), LastCallID: "c1", LastStatus: api.CallSucceeded}},
		"plain": nil,
	}
	srv, _ := serveBare(t, &fakeRegistry{}, func(d *httpapi.Deps) { d.Triggers = ft })

	resp := send(t, "GET", srv.URL+"/v1/functions/hello/triggers", viewerToken, "", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	var l api.TriggerList
	if err := json.NewDecoder(resp.Body).Decode(&l); err != nil {
		t.Fatal(err)
	}
	if len(l.Items) != 1 || l.Items[0].Name != "every5" || !l.Items[0].Next.Equal(next) || l.Items[0].LastStatus != api.CallSucceeded {
		t.Fatalf("got %+v", l)
	}

	resp = send(t, "GET", srv.URL+"/v1/functions/plain/triggers", viewerToken, "", nil)
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || strings.Join(strings.Fields(string(b)), "") != `{"items":[]}` {
		t.Fatalf("no triggers: %d %s", resp.StatusCode, b)
	}

	resp = send(t, "GET", srv.URL+"/v1/functions/nope/triggers", viewerToken, "", nil)
	var e api.ErrorBody
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusNotFound || e.Error.Code != api.CodeNotFound || !strings.Contains(e.Error.Message, "nope") {
		t.Fatalf("unknown function: %d %+v", resp.StatusCode, e)
	}
}
