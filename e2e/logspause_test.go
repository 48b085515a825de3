//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/hearthfn/hearth/api"
)

// TestLogsAcrossPauseAndResume: an instance's output is not followed while it is paused, and
// following it again after the resume loses no line and keeps none twice: each call's lines
// are kept once, tagged with their call, across two pauses and resumes.
func TestLogsAcrossPauseAndResume(t *testing.T) {
	s := startServer(t, serverOpts{})
	dir := s.newFunction(t, "napper")
	writeHandler(t, dir, []string{"fmt"}, `	n := r.URL.Query().Get("n")
	fmt.Println("nap-out " + n + " a")
	fmt.Println("nap-out " + n + " b")
	fmt.Fprintln(w, "ok")`)
	s.must(t, dir, "deploy")
	s.must(t, dir, "config", "napper", "idle_timeout=1s")

	var container string
	calls := map[string]string{} // line prefix -> call id
	for i := range 3 {
		if i > 0 {
			eventually(t, fmt.Sprintf("the instance to be paused (round %d)", i), func() bool {
				return dockerPaused(t, container)
			})
		}
		n := fmt.Sprintf("r%d", i)
		resp, err := s.get("/invoke/napper?n=" + n)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("call %s: status %d", n, resp.StatusCode)
		}
		calls["nap-out "+n] = resp.Header.Get("Hearth-Call-Id")
		cs := containersOf(t, "napper")
		if len(cs) != 1 || (container != "" && cs[0] != container) {
			t.Fatalf("containers after call %s: %v, want the one instance (%s) paused and resumed", n, cs, container)
		}
		container = cs[0]
	}

	var lines []api.LogLine
	eventually(t, "every call's two lines in hearth logs", func() bool {
		lines = lines[:0]
		for raw := range strings.SplitSeq(strings.TrimSpace(s.must(t, dir, "logs", "napper", "-o", "json").stdout), "\n") {
			var l api.LogLine
			if err := json.Unmarshal([]byte(raw), &l); err != nil {
				t.Fatalf("hearth logs -o json: %v in %q", err, raw)
			}
			if strings.HasPrefix(l.Line, "nap-out ") {
				lines = append(lines, l)
			}
		}
		return len(lines) >= 6
	})
	seen := map[string]int{}
	for _, l := range lines {
		seen[l.Line]++
		prefix := l.Line[:strings.LastIndex(l.Line, " ")]
		if want := calls[prefix]; l.CallID != want {
			t.Errorf("line %q tagged with call %q, want %q", l.Line, l.CallID, want)
		}
	}
	for i := range 3 {
		for _, part := range []string{"a", "b"} {
			line := fmt.Sprintf("nap-out r%d %s", i, part)
			if seen[line] != 1 {
				t.Errorf("%q kept %d times, want once (lines: %+v)", line, seen[line], lines)
			}
		}
	}
}
