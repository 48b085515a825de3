//go:build e2e

package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/internal/syncbuf"
)

// TestLogs follows a function's logs with `hearth logs -f` while a call prints a line, and
// finds the line tagged with the call's id; then reads it back by call id.
func TestLogs(t *testing.T) {
	s := startServer(t, serverOpts{})
	dir := s.newFunction(t, "logger")
	writeHandler(t, dir, []string{"fmt", "os"}, `	fmt.Println("hearth-e2e-log " + r.URL.Query().Get("n"))
	fmt.Fprintln(os.Stderr, "hearth-e2e-err " + r.URL.Query().Get("n"))
	fmt.Fprintln(w, "ok")`)
	s.must(t, dir, "deploy")

	follow := exec.Command(hearthBin(t), "logs", "-f", "logger")
	follow.Env = append(os.Environ(), "HEARTH_API="+s.URL, "HEARTH_TOKEN="+s.adminToken(t))
	out, errOut := &syncbuf.Buffer{}, &syncbuf.Buffer{}
	follow.Stdout, follow.Stderr = out, errOut
	if err := follow.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- follow.Wait() }()
	t.Cleanup(func() {
		if follow.ProcessState == nil {
			_ = follow.Process.Kill()
			<-exited
		}
	})

	b := make([]byte, 8)
	_, _ = rand.Read(b)
	nonce := hex.EncodeToString(b)
	resp, err := s.get("/invoke/logger?n=" + nonce)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	callID := resp.Header.Get("Hearth-Call-Id")
	if resp.StatusCode != http.StatusOK || len(callID) < 8 {
		t.Fatalf("call: status %d, Hearth-Call-Id %q, body %q", resp.StatusCode, callID, body)
	}

	// The follower may have connected before or after the call: the line is either followed
	// live or in the last lines it starts with.
	want := "hearth-e2e-log " + nonce
	var line string
	eventually(t, "hearth logs -f to show "+want, func() bool {
		for l := range strings.SplitSeq(out.String(), "\n") {
			if strings.HasSuffix(l, want) {
				line = l
				return true
			}
		}
		return false
	})
	short := callID[len(callID)-8:] // the end of the id, as `hearth logs` shows it
	if !strings.Contains(line, " logger-v1-") || !strings.Contains(line, "["+short+"]") {
		t.Errorf("followed line %q lacks the instance or the call [%s]", line, short)
	}

	// Interrupting the follower ends it quietly.
	if err := follow.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil || errOut.String() != "" {
			t.Errorf("hearth logs -f after SIGINT: %v, stderr %q; want exit 0 and nothing", err, errOut.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("hearth logs -f did not exit within 10 s of SIGINT")
	}

	// The call's lines by its full id: its stdout and stderr, and the shim's own line for it,
	// which is written once the answer has left and names the call.
	var got []api.LogLine
	var stdout, stderr, shim bool
	eventually(t, "the shim's line for the call", func() bool {
		r := s.must(t, dir, "logs", "logger", "--call", callID, "-o", "json")
		got = got[:0]
		for l := range strings.SplitSeq(strings.TrimSpace(r.stdout), "\n") {
			var ll api.LogLine
			if err := json.Unmarshal([]byte(l), &ll); err != nil {
				t.Fatalf("logs -o json line %q: %v", l, err)
			}
			got = append(got, ll)
		}
		for _, l := range got {
			shim = shim || strings.Contains(l.Line, "msg=call call_id="+callID)
		}
		return shim
	})
	for _, l := range got {
		if l.CallID != callID {
			t.Errorf("logs --call %s gave a line of call %q", callID, l.CallID)
		}
		stdout = stdout || (l.Stream == "stdout" && l.Line == want)
		stderr = stderr || (l.Stream == "stderr" && l.Line == "hearth-e2e-err "+nonce)
	}
	if !stdout || !stderr {
		t.Errorf("lines of the call = %+v, want its stdout and its stderr line", got)
	}

	if msg := s.fails(t, dir, "logs", "nope"); !strings.Contains(msg, "nope") {
		t.Errorf("logs of an unknown function: %q", msg)
	}
}
