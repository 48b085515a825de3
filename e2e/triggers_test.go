//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
)

// TestCronTriggers: a function whose func.yaml has a cron trigger ("@every 2s", hearth's
// short-interval extension) is called by it as async calls marked "cron/tick", with the
// trigger's path, body and headers; `hearth triggers` shows the next and last firing. A server
// stopped over several scheduled times fires exactly one catch-up call at its next start, says
// so in its log and marks the call, then keeps the schedule. A bad schedule fails the deploy
// with one readable line naming the field.
func TestCronTriggers(t *testing.T) {
	s1 := startServer(t, serverOpts{})
	dir := s1.newFunction(t, "ticker")
	writeHandler(t, dir, []string{"fmt", "io"}, `	b, _ := io.ReadAll(r.Body)
	fmt.Fprintf(w, "%s|%s|%s|%s", r.Header.Get("Hearth-Trigger"), r.URL.Path, b, r.Header.Get("X-Job"))`)
	appendFuncYAML(t, dir, `triggers:
  - name: web
    type: http
    source: /ticker
  - name: tick
    type: cron
    schedule: "@every 2s"
    path: /tick
    body: hello
    headers:
      X-Job: report
`)
	s1.must(t, dir, "deploy")

	// Firings arrive as async calls marked with the trigger, and run the handler as asked.
	var first api.Call
	eventually(t, "two firings of the trigger to succeed", func() bool {
		calls := triggerCalls(t, s1, dir)
		n := 0
		for _, c := range calls {
			if c.Trigger == "cron/tick" && c.Status == api.CallSucceeded {
				n++
				first = c
			}
		}
		return n >= 2
	})
	if !first.Async {
		t.Fatalf("a firing is not an async call: %+v", first)
	}
	var got api.Call
	if err := json.Unmarshal([]byte(s1.must(t, dir, "calls", "get", first.ID, "-o", "json").stdout), &got); err != nil {
		t.Fatal(err)
	}
	if got.Result == nil || string(got.Result.Body) != "cron/tick|/tick|hello|report" {
		t.Fatalf("the firing's result: %+v", got.Result)
	}
	if out := s1.must(t, dir, "calls", "get", first.ID).stdout; !strings.Contains(out, "cron/tick") {
		t.Fatalf("hearth calls get does not show the trigger:\n%s", out)
	}

	// hearth triggers: the cron trigger (not the http one) with its next and last firing.
	var l api.TriggerList
	if err := json.Unmarshal([]byte(s1.must(t, dir, "triggers", "ticker", "-o", "json").stdout), &l); err != nil {
		t.Fatal(err)
	}
	if len(l.Items) != 1 || l.Items[0].Name != "tick" || l.Items[0].Schedule != "@every 2s" || l.Items[0].Timezone != "UTC" ||
		l.Items[0].Next.IsZero() || l.Items[0].LastFired.IsZero() || l.Items[0].LastCallID == "" || !l.Items[0].Next.After(l.Items[0].LastFired) {
		t.Fatalf("hearth triggers -o json: %+v", l)
	}
	text := s1.must(t, dir, "triggers", "ticker").stdout
	for _, want := range []string{"NAME", "NEXT", "LAST FIRED", "tick", "@every 2s", "UTC"} {
		if !strings.Contains(text, want) {
			t.Fatalf("hearth triggers does not show %q:\n%s", want, text)
		}
	}

	// Stop the server over several scheduled times, then start it again on the same store.
	_ = s1.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s1.done:
		if err != nil {
			t.Fatalf("the server exited with %v:\n%s", err, s1.logs())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("the server did not stop within 60 s:\n%s", s1.logs())
	}
	time.Sleep(7 * time.Second) // three or more times of "@every 2s" pass with no server
	s2 := startServer(t, serverOpts{dataDir: s1.dataDir})
	serverLogShows(t, s2, "trigger tick of ticker missed ")
	serverLogShows(t, s2, "firings while the server was down; firing once now")

	// Exactly one catch-up, then regular firings again.
	var catchUps []api.Call
	eventually(t, "regular firings after the catch-up", func() bool {
		catchUps = nil
		after := 0
		for _, c := range triggerCalls(t, s2, dir) { // newest first
			switch {
			case strings.HasPrefix(c.Trigger, "cron/tick (catch-up of "):
				catchUps = append(catchUps, c)
			case c.Trigger == "cron/tick" && len(catchUps) == 0:
				after++
			}
		}
		return len(catchUps) > 0 && after >= 2
	})
	if len(catchUps) != 1 {
		t.Fatalf("want one catch-up call, got %d: %+v", len(catchUps), catchUps)
	}
	var missed int
	if _, err := fmt.Sscanf(catchUps[0].Trigger, "cron/tick (catch-up of %d)", &missed); err != nil || missed < 3 {
		t.Fatalf("the catch-up call's mark %q: want 3 or more missed times (%v)", catchUps[0].Trigger, err)
	}

	// A schedule that is not one fails the deploy, naming the field.
	bad := s2.newFunction(t, "badcron")
	appendFuncYAML(t, bad, "triggers:\n  - type: cron\n    schedule: \"every five minutes\"\n")
	line := s2.fails(t, bad, "deploy")
	if !strings.Contains(line, "triggers[0].schedule") {
		t.Fatalf("a bad schedule: %q", line)
	}
	line = s2.fails(t, bad, "triggers", "badcron")
	if !strings.Contains(line, "badcron") || !strings.Contains(line, "not found") {
		t.Fatalf("triggers of an unknown function: %q", line)
	}
}

// triggerCalls lists the function's recent calls through the CLI, newest first.
func triggerCalls(t *testing.T, s *server, dir string) []api.Call {
	t.Helper()
	var l api.CallList
	if err := json.Unmarshal([]byte(s.must(t, dir, "calls", "ticker", "--limit", "200", "-o", "json").stdout), &l); err != nil {
		t.Fatal(err)
	}
	return l.Items
}

// appendFuncYAML adds text at the end of dir/func.yaml.
func appendFuncYAML(t *testing.T, dir, text string) {
	t.Helper()
	path := filepath.Join(dir, "func.yaml")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(strings.TrimRight(string(b), "\n")+"\n"+text), 0o644); err != nil {
		t.Fatal(err)
	}
}
