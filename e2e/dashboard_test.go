//go:build e2e

package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hearthfn/hearth/api"
)

// TestDashboard drives the dashboard (/ui/) in headless chromium against a real server with
// real functions, as a person would: sign in (a wrong token is refused with a message), the
// overview, a function's page (invoke it from the form, see the call listed within 2 s and its
// log line arrive live, a bad setting refused beside its field and a good one saved), the calls
// and a call's detail, the nodes; then a viewer token, which sees nothing it could change. It
// saves a screenshot of every page into docs/images/, which docs/user/dashboard.md shows.
func TestDashboard(t *testing.T) {
	chromiumPath(t) // before the functions are built: without a browser there is no test
	s := startServer(t, serverOpts{})
	// Two functions, for an overview with more than one row and a failure among the calls:
	// hello answers and logs what it got; flaky fails when asked to.
	hello := s.newFunction(t, "hello")
	writeHandler(t, hello, []string{"fmt", "io"}, `	body, _ := io.ReadAll(r.Body)
	fmt.Println("dashboard-log " + string(body))
	fmt.Fprintf(w, "Hello from the dashboard: %s\n", body)`)
	s.must(t, hello, "deploy")
	flaky := s.newFunction(t, "flaky")
	writeHandler(t, flaky, []string{"fmt", "strings"}, `	if strings.Contains(r.URL.Path, "fail") {
		http.Error(w, "asked to fail", http.StatusInternalServerError)
		return
	}
	fmt.Fprintln(w, "ok")`)
	s.must(t, flaky, "deploy")
	// Some traffic for the overview's figures and the charts.
	for i := range 12 {
		postCall(t, s, "/invoke/hello", fmt.Sprintf("warm-up %d", i), http.StatusOK)
	}
	for i := range 6 {
		path, want := "/invoke/flaky/ok", http.StatusOK
		if i%3 == 0 {
			path, want = "/invoke/flaky/fail", http.StatusInternalServerError
		}
		postCall(t, s, path, "", want)
	}
	viewer := createToken(t, s, "--role", "viewer")
	node := localNodeID(t, s)

	br := newBrowser(t, s, 8*time.Minute)
	nonce := randomHex(t)
	var callID string

	t.Run("sign in", func(t *testing.T) {
		b := br.on(t)
		b.open("#/signin")
		b.waitVisible("signin-token")
		b.screenshot("signin", laptopWidth)

		b.signIn("hth_0000000000000000_notatoken")
		b.waitVisible("signin-error")
		if msg := b.text("signin-error"); !strings.Contains(strings.ToLower(msg), "token") {
			t.Errorf("a wrong token shows %q, want a message about the token", msg)
		}
		b.signIn(s.adminToken(t))
		b.waitVisible("overview-functions")
	})

	t.Run("overview", func(t *testing.T) {
		b := br.on(t)
		b.open("#/")
		b.waitVisible("function-row-hello")
		b.waitVisible("function-row-flaky")
		if row := b.text("function-row-hello"); !strings.Contains(row, "hello") {
			t.Errorf("hello's row on the overview reads %q", row)
		}
		// The figures come from the call records: hello's calls per minute, flaky's errors and
		// its failed calls among the recent failures.
		b.waitFor("hello's calls per minute on the overview", cellAbove(sel("function-row-hello"), "calls_per_min", 0), 10*time.Second)
		b.waitFor("flaky's error rate on the overview", cellAbove(sel("function-row-flaky"), "error_rate", 0), 10*time.Second)
		b.waitFor("a recent failure of flaky", fmt.Sprintf(`!!document.querySelector('%s [data-test^="failure-row-"]')`, sel("overview-failures")), 10*time.Second)
		b.waitVisible("node-card-" + node)
		b.screenshot("overview", laptopWidth)
		b.screenshot("overview-phone", phoneWidth)

		// A function's name opens its page.
		b.run("open hello from the overview", chromedp.Click(sel("function-row-hello")+" a", chromedp.ByQuery))
		b.waitVisible("function-name")
		if name := b.text("function-name"); name != "hello" {
			t.Errorf("the function's page is headed %q, want hello", name)
		}
	})

	t.Run("function page and invoke", func(t *testing.T) {
		b := br.on(t)
		b.open("#/functions/hello")
		b.waitVisible("invoke-submit")
		b.waitVisible("logs-lines")
		// The logs panel follows from here on: the line of the call below arrives live.

		b.setValue("invoke-method", "POST")
		b.setValue("invoke-path", "/")
		b.setValue("invoke-body", nonce)
		b.click("invoke-submit")
		b.waitFor("the invoke answer's status", hasText(sel("invoke-status"), "200"), 60*time.Second)
		answered := time.Now()
		if start := b.text("invoke-start"); !containsAny(start, api.StartWarm, api.StartNew, api.StartResumed) {
			t.Errorf("the answer's start type reads %q, want warm, new or resumed", start)
		}
		if out := b.text("invoke-body-out"); !strings.Contains(out, "Hello from the dashboard: "+nonce) {
			t.Errorf("the answer's body reads %q", out)
		}
		// The answer links the call's record; its title is the full id (Hearth-Call-Id).
		b.eval("read the call's id", fmt.Sprintf(`(() => { const a = document.querySelector(%q); return a ? a.title : ""; })()`,
			sel("invoke-call-link")), &callID)
		if len(callID) != 32 {
			t.Fatalf("the answer's call link names the call %q, want its 32-digit id", callID)
		}

		// The call in the function's list of calls, within 2 s of the answer.
		b.waitFor("the call in the function's calls", fmt.Sprintf(`!!document.querySelector(%q)`, sel("call-row-"+callID)),
			2*time.Second-time.Since(answered))
		t.Logf("the call was listed %s after its answer", time.Since(answered).Round(time.Millisecond))

		b.waitFor("the call's log line in the logs panel", hasText(sel("logs-lines"), "dashboard-log "+nonce), 10*time.Second)

		// The page with the answer, its charts, calls and logs.
		b.waitFor("the charts", fmt.Sprintf(`!!document.querySelector('%s canvas')`, sel("chart-calls")), 10*time.Second)
		b.screenshot("function", laptopWidth)
	})

	t.Run("settings", func(t *testing.T) {
		b := br.on(t)
		b.open("#/functions/hello")
		b.waitVisible("config-field-idle_timeout")
		b.setValue("config-field-idle_timeout", "soon")
		b.click("config-save")
		b.waitVisible("config-error-idle_timeout")
		if msg := b.text("config-error-idle_timeout"); msg == "" {
			t.Error("a bad idle_timeout shows an empty error")
		}
		if got := functionSpec(t, s, "hello").IdleTimeout.D(); got != 30*time.Second {
			t.Errorf("after a refused save the function's idle_timeout is %s, want the default 30s kept", got)
		}
		b.setValue("config-field-idle_timeout", "45s")
		b.click("config-save")
		deadline := time.Now().Add(10 * time.Second)
		for functionSpec(t, s, "hello").IdleTimeout.D() != 45*time.Second {
			if time.Now().After(deadline) {
				b.fail("save idle_timeout 45s", fmt.Errorf("the function's idle_timeout is still %s", functionSpec(t, s, "hello").IdleTimeout))
			}
			time.Sleep(100 * time.Millisecond)
		}
		b.waitFor("the form to say it saved", hasText(sel("config-status"), "Saved"), 5*time.Second)
		b.waitFor("the field's error to go", fmt.Sprintf(`(() => { const el = document.querySelector(%q); return !el || el.hidden || el.innerText.trim() === ""; })()`,
			sel("config-error-idle_timeout")), 5*time.Second)

		// memory and cpu are shown and sent as func.yaml writes them.
		fieldIs := func(name, want string) string {
			return fmt.Sprintf(`document.querySelector(%q)?.value === %q`, sel(name), want)
		}
		b.waitFor("memory 128 and cpu 0 (no limit)", fieldIs("config-field-memory", "128")+" && "+fieldIs("config-field-cpu", "0"), 5*time.Second)
		b.setValue("config-field-cpu", "250m")
		b.click("config-save")
		deadline = time.Now().Add(10 * time.Second)
		for functionSpec(t, s, "hello").CPUMilli != 250 {
			if time.Now().After(deadline) {
				b.fail("save cpu 250m", fmt.Errorf("the function's cpu is still %dm", functionSpec(t, s, "hello").CPUMilli))
			}
			time.Sleep(100 * time.Millisecond)
		}
		b.waitFor("the cpu field to show 250m", fieldIs("config-field-cpu", "250m"), 5*time.Second)
	})

	t.Run("calls", func(t *testing.T) {
		if callID == "" {
			t.Fatal("no call was made from the form (see the subtest \"function page and invoke\")")
		}
		b := br.on(t)
		b.open("#/calls")
		b.waitVisible("calls-table")
		b.waitVisible("call-row-" + callID)
		b.screenshot("calls", laptopWidth)

		// The failures only: the status filter applies at once.
		b.setValue("calls-filter-status", string(api.CallFailed))
		b.waitFor("only failed calls listed", fmt.Sprintf(`!document.querySelector(%q) && !!document.querySelector('[data-test^="call-row-"][data-status="failed"]')`,
			sel("call-row-"+callID)), 5*time.Second)

		// A call's detail, from its row: its record and its log lines.
		b.open("#/calls?function=hello")
		b.run("open the call", chromedp.Click(sel("call-row-"+callID)+` a[href*="/calls/"]`, chromedp.ByQuery))
		b.waitVisible("call-detail")
		if id := b.text("call-id"); id != callID {
			t.Errorf("the call's page shows the id %q, want %s", id, callID)
		}
		b.waitFor("the call's log line in its detail", hasText(sel("call-logs"), "dashboard-log "+nonce), 10*time.Second)
		b.screenshot("call", laptopWidth)
	})

	t.Run("nodes", func(t *testing.T) {
		b := br.on(t)
		b.open("#/nodes")
		b.waitVisible("node-row-" + node)
		if row := b.text("node-row-" + node); !strings.Contains(row, "local") {
			t.Errorf("the local node's row reads %q, want it marked local", row)
		}
		b.screenshot("nodes", laptopWidth)
		// An admin drains the node and undrains it again.
		b.click("node-drain-" + node)
		b.waitVisible("node-undrain-" + node)
		if state := b.text("node-state-" + node); !strings.Contains(state, "draining") {
			t.Errorf("after drain the node's state reads %q", state)
		}
		b.click("node-undrain-" + node)
		b.waitVisible("node-drain-" + node)
	})

	t.Run("viewer", func(t *testing.T) {
		b := br.on(t)
		b.signOut()
		b.signIn(viewer)
		b.waitVisible("overview-functions")
		b.open("#/functions/hello")
		// The page has loaded (its facts and settings show) before controls are looked for.
		b.waitVisible("function-facts")
		b.waitVisible("config-field-idle_timeout")
		// The invoke form is replaced by a note, the settings are read-only with a note.
		b.waitVisible("invoke-denied")
		b.waitVisible("config-readonly")
		for _, control := range []string{"config-save", "invoke-submit", "config-field-idle_timeout"} {
			if b.enabled(control) {
				t.Errorf("a viewer can use %s", sel(control))
			}
		}
		b.open("#/nodes")
		b.waitVisible("nodes-table")
		b.waitVisible("node-row-" + node)
		b.waitVisible("nodes-readonly")
		if b.enabled("node-drain-" + node) {
			t.Errorf("a viewer can use %s", sel("node-drain-"+node))
		}
		// The overview shows a viewer the functions too.
		b.open("#/")
		b.waitVisible("function-row-hello")
	})
}

// postCall sends body to path on the server with the admin token and checks the status.
func postCall(t *testing.T, s *server, path, body string, want int) {
	t.Helper()
	status, out := s.postAs(t, "text/plain", path, body)
	if status != want {
		t.Fatalf("POST %s: %d %q, want %d", path, status, out, want)
	}
}

// functionSpec returns the spec of the function's current version.
func functionSpec(t *testing.T, s *server, name string) api.FunctionSpec {
	t.Helper()
	resp, err := s.get("/v1/functions/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var fn api.Function
	if err := json.Unmarshal(b, &fn); err != nil {
		t.Fatalf("GET /v1/functions/%s: %v: %s", name, err, b)
	}
	return fn.Version.Spec
}

// localNodeID is the id of the server's own node.
func localNodeID(t *testing.T, s *server) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.dataDir, "node-id"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func randomHex(t *testing.T) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// cellAbove is a JavaScript expression: the row's cell of the column col reads a number above min.
func cellAbove(row, col string, min float64) string {
	return fmt.Sprintf(`(() => { const c = document.querySelector('%s [data-col="%s"]'); return !!c && parseFloat(c.innerText) > %g; })()`, row, col, min)
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
