package sqlstore_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/store"
	"github.com/hearthfn/hearth/scheduler/store/sqlstore"
)

// killPathEnv, when set, makes TestEnqueueSurvivesSIGKILL the child: it enqueues into the
// store at that path, says so, and waits to be killed.
const killPathEnv = "HEARTH_SQLSTORE_KILL_PATH"

const killedCalls = 50

// TestEnqueueSurvivesSIGKILL checks EnqueueAsync's promise: a call it accepted is there after
// the process is killed without a chance to close the database.
func TestEnqueueSurvivesSIGKILL(t *testing.T) {
	if path := os.Getenv(killPathEnv); path != "" {
		enqueueAndHang(path)
		return
	}
	path := filepath.Join(t.TempDir(), "hearth.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestEnqueueSurvivesSIGKILL$")
	cmd.Env = append(os.Environ(), killPathEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "enqueued\n" {
		cmd.Process.Kill()
		t.Fatalf("child: %q, %v", line, err)
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL on Unix
		t.Fatal(err)
	}
	cmd.Wait()

	s, err := sqlstore.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	calls, err := s.ListCalls(t.Context(), store.CallFilter{Status: api.CallQueued, Limit: 1000})
	if err != nil || len(calls) != killedCalls {
		t.Fatalf("after SIGKILL: %d queued calls, %v; want %d", len(calls), err, killedCalls)
	}
}

func enqueueAndHang(path string) {
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for i := range killedCalls {
		c := api.Call{ID: fmt.Sprintf("c%03d", i), Function: "f", CreatedAt: time.Now()}
		if err := s.EnqueueAsync(ctx, c, store.AsyncRequest{Method: "POST", Path: "/", Body: []byte("x")}, 1000); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	fmt.Println("enqueued")
	time.Sleep(time.Minute)
	os.Exit(1)
}
