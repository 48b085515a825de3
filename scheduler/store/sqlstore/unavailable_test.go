package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/store"
)

// holdWriteLock opens the database as another process would and takes its write lock, until
// the returned func is called (or the test ends).
func holdWriteLock(t *testing.T, path string) (release func()) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(t.Context(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	done := false
	release = func() {
		if done {
			return
		}
		done = true
		if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
			t.Error(err)
		}
		conn.Close()
	}
	t.Cleanup(release)
	return release
}

// clock is a settable clock for the store's lock-out.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestLockedStoreIsUnavailable: a write that cannot take the write lock within the busy timeout
// fails with store.ErrUnavailable, and for as long again the writes after it fail at once
// without waiting for the lock; reads go on (WAL lets them); once the lock is gone and that
// while has passed, the same writes succeed on the same store.
func TestLockedStoreIsUnavailable(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "hearth.db")
	const busy = 50 * time.Millisecond
	s, err := open(ctx, path, busy)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s.now = c.Now
	if _, err := s.AddVersion(ctx, "f", api.Version{Image: "i:1"}); err != nil {
		t.Fatal(err)
	}
	running := api.Call{ID: "c-run", Function: "f", CreatedAt: time.Now()}
	if err := s.EnqueueAsync(ctx, running, store.AsyncRequest{Method: "POST", Path: "/"}, 10); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimAsync(ctx, time.Now(), 1); err != nil {
		t.Fatal(err)
	}

	release := holdWriteLock(t, path)
	call := api.Call{ID: "c1", Function: "f", Status: api.CallSucceeded, CreatedAt: time.Now()}
	writes := map[string]func() error{
		"AddVersion":     func() error { _, err := s.AddVersion(ctx, "f", api.Version{Image: "i:2"}); return err },
		"DeleteFunction": func() error { return s.DeleteFunction(ctx, "f") },
		"RecordCalls":    func() error { return s.RecordCalls(ctx, []api.Call{call}) },
		"EnqueueAsync": func() error {
			return s.EnqueueAsync(ctx, api.Call{ID: "c2", Function: "f", CreatedAt: time.Now()}, store.AsyncRequest{Method: "POST", Path: "/"}, 10)
		},
		"ClaimAsync": func() error { _, err := s.ClaimAsync(ctx, time.Now(), 1); return err },
		"FinishAsync": func() error {
			return s.FinishAsync(ctx, api.Call{ID: "c-run", Status: api.CallSucceeded, HTTPStatus: 200})
		},
		"RetryAsync":     func() error { return s.RetryAsync(ctx, "c-run", time.Now(), "again") },
		"RequeueRunning": func() error { _, err := s.RequeueRunning(ctx); return err },
		"PruneCalls":     func() error { _, err := s.PruneCalls(ctx, time.Now()); return err },
		"UpsertNode": func() error {
			_, err := s.UpsertNode(ctx, store.NodeRecord{ID: "n1", JoinedAt: time.Now()})
			return err
		},
		"SetNodeState": func() error { return s.SetNodeState(ctx, "n1", store.NodeDraining) },
		"TouchNodes":   func() error { return s.TouchNodes(ctx, map[string]time.Time{"n1": time.Now()}) },
		"DeleteNode":   func() error { return s.DeleteNode(ctx, "n1") },
		"CreateJoinToken": func() error {
			return s.CreateJoinToken(ctx, store.JoinTokenRecord{ID: "t1", CreatedAt: time.Now(), ExpiresAt: time.Now()})
		},
		"RevokeJoinToken": func() error { return s.RevokeJoinToken(ctx, "t1") },
	}
	for name, write := range writes {
		c.Add(busy) // past the lock-out of the write before: this one waits for the lock itself
		if err := write(); !errors.Is(err, store.ErrUnavailable) || !strings.Contains(err.Error(), "SQLITE_BUSY") {
			t.Errorf("%s with the write lock held elsewhere = %v, want store.ErrUnavailable from SQLITE_BUSY", name, err)
		}
		// Right after, every write fails at once, naming the lock.
		if err := s.RecordCalls(ctx, []api.Call{call}); !errors.Is(err, store.ErrUnavailable) ||
			!strings.Contains(err.Error(), "another process holds its write lock") {
			t.Errorf("RecordCalls right after %s failed = %v, want store.ErrUnavailable at once", name, err)
		}
	}
	if f, err := s.GetFunction(ctx, "f"); err != nil || f.Version.Image != "i:1" {
		t.Errorf("GetFunction while locked = %+v, %v; want the stored function (reads need no write lock)", f, err)
	}

	release()
	c.Add(busy)
	if _, err := s.AddVersion(ctx, "f", api.Version{Image: "i:2"}); err != nil {
		t.Fatalf("AddVersion once the lock is gone: %v", err)
	}
	if err := s.RecordCalls(ctx, []api.Call{call}); err != nil {
		t.Fatalf("RecordCalls once the lock is gone: %v", err)
	}
}

// TestOtherErrorsStayThemselves: errors that say something about the request, not the store's
// state, are not ErrUnavailable.
func TestOtherErrorsStayThemselves(t *testing.T) {
	ctx := t.Context()
	s, err := open(ctx, filepath.Join(t.TempDir(), "hearth.db"), 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.DeleteFunction(ctx, "ghost"); !errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrUnavailable) {
		t.Errorf("DeleteFunction of an unknown function = %v, want ErrNotFound only", err)
	}
	c := api.Call{ID: "dup", Function: "f", CreatedAt: time.Now()}
	if err := s.EnqueueAsync(ctx, c, store.AsyncRequest{Method: "GET", Path: "/"}, 10); err != nil {
		t.Fatal(err)
	}
	if err := s.EnqueueAsync(ctx, c, store.AsyncRequest{Method: "GET", Path: "/"}, 10); err == nil || errors.Is(err, store.ErrUnavailable) {
		t.Errorf("EnqueueAsync of a stored id = %v, want a constraint error, not ErrUnavailable", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.ListFunctions(cancelled, store.FunctionPage{}); err == nil || errors.Is(err, store.ErrUnavailable) {
		t.Errorf("ListFunctions on a cancelled ctx = %v, want the ctx's error, not ErrUnavailable", err)
	}
}
