//go:build e2e

package e2e

import (
	"encoding/json"
	"testing"

	"github.com/hearthfn/hearth/api"
)

// TestCallListedAtOnce: a sync call is in `hearth calls` as soon as it has returned, though
// records are written in batches: a read makes the recorder write what it holds first.
func TestCallListedAtOnce(t *testing.T) {
	s := startServer(t, serverOpts{})
	dir := echoFunction(t, s, "listed", nil)
	s.must(t, dir, "deploy")
	for i := range 5 {
		a := s.mustInvoke(t, "listed", "")
		var l api.CallList
		if err := json.Unmarshal([]byte(s.must(t, dir, "calls", "listed", "-o", "json").stdout), &l); err != nil {
			t.Fatal(err)
		}
		if len(l.Items) == 0 || l.Items[0].ID != a.callID {
			t.Fatalf("call %d (%s) is not the newest in hearth calls right after it returned: %+v", i, a.callID, l.Items)
		}
	}
}
