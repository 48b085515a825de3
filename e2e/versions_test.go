//go:build e2e

package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
)

// TestVersionsRollbackAliases walks through versions as a user would: two deploys answering
// differently, `hearth versions`, a rollback that serves version 1 again and is recorded so,
// a version pinned by number, an alias splitting calls between the versions (recorded with
// version and alias, and kept across a server restart), the alias made the default, and the
// errors each step can give.
func TestVersionsRollbackAliases(t *testing.T) {
	s := startServer(t, serverOpts{})
	dir := s.newFunction(t, "ver")
	for _, answer := range []string{"v1", "v2"} {
		writeHandler(t, dir, nil, `_, _ = w.Write([]byte("`+answer+`"))`)
		s.must(t, dir, "deploy")
	}
	if got := callBody(t, s, "ver"); got != "v2" {
		t.Fatalf("after the second deploy /invoke/ver answered %q, want v2", got)
	}

	// hearth versions: both, the newest current.
	var vl api.VersionList
	if err := json.Unmarshal([]byte(s.must(t, dir, "versions", "ver", "-o", "json").stdout), &vl); err != nil {
		t.Fatal(err)
	}
	if len(vl.Items) != 2 || vl.Items[0].Number != 2 || !vl.Items[0].Current || vl.Items[1].Number != 1 || vl.Items[1].Current {
		t.Fatalf("hearth versions -o json: %+v", vl.Items)
	}
	if out := s.must(t, dir, "versions", "ver").stdout; !strings.HasPrefix(out, "VERSION   CURRENT   ALIASES") {
		t.Fatalf("hearth versions:\n%s", out)
	}

	// Rollback: version 1 answers again, and the calls say so.
	out := s.must(t, dir, "rollback", "ver").stdout
	if want := "ver: version 1 is current again (was 2); instances of 2 drain after their calls\n"; out != want {
		t.Fatalf("hearth rollback ver printed %q, want %q", out, want)
	}
	for range 3 {
		if got := callBody(t, s, "ver"); got != "v1" {
			t.Fatalf("after the rollback /invoke/ver answered %q, want v1", got)
		}
	}
	calls := listCalls(t, s, dir, "ver", "--version", "1")
	if len(calls) < 3 {
		t.Fatalf("hearth calls ver --version 1 lists %d calls, want at least the 3 after the rollback", len(calls))
	}
	for _, c := range calls {
		if c.Version != 1 {
			t.Fatalf("hearth calls ver --version 1 lists a call of version %d: %+v", c.Version, c)
		}
	}
	vl = api.VersionList{} // false and empty fields are left out: decode afresh
	if err := json.Unmarshal([]byte(s.must(t, dir, "versions", "ver", "-o", "json").stdout), &vl); err != nil {
		t.Fatal(err)
	}
	if vl.Items[0].Current || !vl.Items[1].Current {
		t.Fatalf("after the rollback hearth versions shows %+v, want version 1 current", vl.Items)
	}

	// A version number pins it, through the front door and the CLI.
	if got := callBody(t, s, "ver@2"); got != "v2" {
		t.Fatalf("/invoke/ver@2 answered %q, want v2", got)
	}
	if got := s.must(t, dir, "invoke", "ver@2").stdout; strings.TrimSpace(got) != "v2" {
		t.Fatalf("hearth invoke ver@2 printed %q, want v2", got)
	}

	// An alias at 50/50 splits the calls both ways, and the records carry version and alias.
	if out := s.must(t, dir, "alias", "set", "ver", "live", "1=50", "2=50").stdout; out != "ver@live: version 1 50%, version 2 50%\n" {
		t.Fatalf("hearth alias set printed %q", out)
	}
	split := func(s *server) map[string]int {
		got := map[string]int{}
		for range 200 {
			got[callBody(t, s, "ver@live")]++
		}
		return got
	}
	got := split(s)
	if got["v1"] <= 50 || got["v2"] <= 50 || got["v1"]+got["v2"] != 200 {
		t.Fatalf("200 calls to ver@live (1=50 2=50) answered %v, want each version over a quarter", got)
	}
	byVersion := map[int]int{}
	for _, c := range listCalls(t, s, dir, "ver", "--limit", "1000") {
		if c.Alias == "live" {
			byVersion[c.Version]++
		}
	}
	if byVersion[1] != got["v1"] || byVersion[2] != got["v2"] {
		t.Fatalf("the records of the calls through live count %v by version; the answers were %v", byVersion, got)
	}
	if out := s.must(t, dir, "alias", "list", "ver").stdout; !strings.Contains(out, "live    1=50 2=50") {
		t.Fatalf("hearth alias list ver:\n%s", out)
	}
	vl = api.VersionList{}
	if err := json.Unmarshal([]byte(s.must(t, dir, "versions", "ver", "-o", "json").stdout), &vl); err != nil {
		t.Fatal(err)
	}
	if strings.Join(vl.Items[0].Aliases, ",") != "live" || strings.Join(vl.Items[1].Aliases, ",") != "live" {
		t.Fatalf("hearth versions does not name live on both versions: %+v", vl.Items)
	}

	// An async call through the alias runs through it, and its record says so.
	req, err := http.NewRequest(http.MethodPost, s.URL+"/invoke/ver@live", strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(api.HeaderAsync, "true")
	resp := s.do(t, req)
	var acc api.CallAccepted
	if err := json.NewDecoder(resp.Body).Decode(&acc); err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("async call to ver@live: %d, %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	var rec api.Call
	eventually(t, "the async call through live to finish", func() bool {
		rec = api.Call{}
		return s.getJSON(t, "/v1/calls/"+acc.ID, &rec) == http.StatusOK && rec.Status.Finished()
	})
	if rec.Status != api.CallSucceeded || rec.Alias != "live" || rec.Version < 1 || rec.Version > 2 || rec.Function != "ver" ||
		rec.Result == nil || string(rec.Result.Body) != "v"+strconv.Itoa(rec.Version) {
		t.Fatalf("the async call through live: %+v", rec)
	}

	// A restart (an upgrade) keeps routing ver@live both ways, on the instances it had.
	before := map[string]int{}
	for _, in := range s.pool(t, "ver").Instances {
		if in.State != "draining" {
			before[in.ID] = in.Version
		}
	}
	if vs := distinct(before); vs != 2 {
		t.Fatalf("inspect lists instances of %d versions, want 2 (1 and 2): %v", vs, before)
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		if err != nil {
			t.Fatalf("the server exited with %v:\n%s", err, s.logs())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("the server did not stop within 60 s:\n%s", s.logs())
	}
	s2 := startServer(t, serverOpts{dataDir: s.dataDir})
	eventually(t, "the instances of both versions to be taken back", func() bool {
		return len(s2.pool(t, "ver").Instances) == len(before)
	})
	for _, in := range s2.pool(t, "ver").Instances {
		if v, ok := before[in.ID]; !ok || v != in.Version {
			t.Fatalf("after the restart the pool has %s (version %d), not an instance of the first run %v", in.ID, in.Version, before)
		}
	}
	if got := split(s2); got["v1"] <= 50 || got["v2"] <= 50 {
		t.Fatalf("after the restart 200 calls to ver@live answered %v", got)
	}
	s = s2

	// --default: /invoke/ver follows the alias, here all on version 2 while 1 is current.
	s.must(t, dir, "alias", "set", "ver", "live", "2", "--default")
	for range 5 {
		if got := callBody(t, s, "ver"); got != "v2" {
			t.Fatalf("/invoke/ver with the default alias live (2=100) answered %q, want v2", got)
		}
	}
	if out := s.must(t, dir, "inspect", "ver").stdout; !strings.Contains(out, "live 2=100 (default: /invoke/ver follows it)") {
		t.Fatalf("hearth inspect does not show the alias:\n%s", out)
	}

	// Errors are one readable line.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"alias", "set", "ver", "live", "1=60", "2=50"}, "the weights add up to 110, not 100"},
		{[]string{"alias", "set", "ver", "live", "7"}, "function ver has no version 7"},
		{[]string{"alias", "set", "ver", "Live", "1"}, `alias "Live" must start with a lowercase letter`},
		{[]string{"rollback", "ver", "9"}, "ver has no version 9"},
		{[]string{"rollback", "ver", "1"}, "version 1 of ver is current already"},
		{[]string{"alias", "rm", "ver", "live"}, "alias live is the default alias of ver"},
		{[]string{"alias", "rm", "ver", "nope"}, "not found"},
	} {
		if line := s.fails(t, dir, tc.args...); !strings.Contains(line, tc.want) {
			t.Errorf("hearth %s: error %q, want it to say %q", strings.Join(tc.args, " "), line, tc.want)
		}
	}
	for target, want := range map[string]string{"ver@nope": `function "ver" has no alias "nope"`, "ver@9": "function ver has no version 9"} {
		status, body := invoke(t, s, target)
		var e api.ErrorBody
		if status != http.StatusNotFound || json.Unmarshal([]byte(body), &e) != nil || e.Error.Code != api.CodeNotFound ||
			!strings.Contains(e.Error.Message, want) {
			t.Errorf("/invoke/%s: %d %s, want 404 not_found saying %q", target, status, body, want)
		}
	}

	// Clearing the default lets the alias go; /invoke/ver calls the current version again.
	s.must(t, dir, "alias", "default", "ver", "--clear")
	s.must(t, dir, "alias", "rm", "ver", "live")
	if got := callBody(t, s, "ver"); got != "v1" {
		t.Fatalf("without aliases /invoke/ver answered %q, want the current v1", got)
	}
	s.must(t, dir, "delete", "ver")
}

// invoke POSTs to /invoke/target with the admin token and returns the status and body.
func invoke(t *testing.T, s *server, target string) (int, string) {
	t.Helper()
	resp, err := s.post("/invoke/"+target, "text/plain", strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// callBody invokes target and returns the body of its 200 answer.
func callBody(t *testing.T, s *server, target string) string {
	t.Helper()
	status, body := invoke(t, s, target)
	if status != http.StatusOK {
		t.Fatalf("/invoke/%s: %d %s", target, status, body)
	}
	return body
}

// listCalls runs hearth calls NAME args... -o json.
func listCalls(t *testing.T, s *server, dir, name string, args ...string) []api.Call {
	t.Helper()
	var l api.CallList
	r := s.must(t, dir, append(append([]string{"calls", name}, args...), "-o", "json")...)
	if err := json.Unmarshal([]byte(r.stdout), &l); err != nil {
		t.Fatal(err)
	}
	return l.Items
}

func distinct(m map[string]int) int {
	seen := map[int]bool{}
	for _, v := range m {
		seen[v] = true
	}
	return len(seen)
}
