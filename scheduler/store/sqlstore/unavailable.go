package sqlstore

import (
	"errors"
	"fmt"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/hearthfn/hearth/scheduler/store"
)

// unavailable turns *errp into store.ErrUnavailable when SQLite says that the database cannot
// be used now, though nothing is wrong with the request: another process holds the write lock
// past the busy timeout, the file or its folder is read-only, the disk is full, or the disk
// fails. Every exported method of the store defers it, so that callers can
// answer 503 and retry later instead of treating the failure as a bug. It wraps once: an error that is already
// ErrUnavailable (from a method calling another) is left as it is.
func (s *Store) unavailable(errp *error) {
	err := *errp
	if err == nil || errors.Is(err, store.ErrUnavailable) {
		return
	}
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return
	}
	// Code may be an extended result code (SQLITE_IOERR_WRITE, SQLITE_BUSY_SNAPSHOT, ...);
	// its low byte is the primary code.
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		s.lockedOut(err)
		*errp = &unavailableError{path: s.path, err: err}
	case sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN:
		*errp = &unavailableError{path: s.path, err: err}
	}
}

// lockedOut records that a statement waited out the busy timeout for a lock another process
// holds: for as long again, writes fail at once (see writable).
func (s *Store) lockedOut(err error) {
	s.lockMu.Lock()
	defer s.lockMu.Unlock()
	s.lockedUntil, s.lockErr = s.now().Add(s.busy), err
}

// writable fails with store.ErrUnavailable, at once, while a recent write found the database
// locked by another process (lockedOut); every write method calls it first. Without it, each
// write would wait out the busy timeout in turn on the one write connection, and a request
// behind a few of them would answer its 503 only after tens of seconds. A write that comes
// after the wait tries the lock again: the store notices within the busy timeout that the
// other process let it go.
func (s *Store) writable() error {
	s.lockMu.Lock()
	defer s.lockMu.Unlock()
	if wait := s.lockedUntil.Sub(s.now()); wait > 0 {
		return &unavailableError{path: s.path,
			err: fmt.Errorf("another process holds its write lock (%v); the next write tries again in %s", s.lockErr, wait.Round(time.Millisecond))}
	}
	return nil
}

// unavailableError is both store.ErrUnavailable and SQLite's error for errors.Is and As.
type unavailableError struct {
	path string
	err  error
}

func (e *unavailableError) Error() string {
	return fmt.Sprintf("the store %s is unavailable (%v): retry later", e.path, e.err)
}

func (e *unavailableError) Unwrap() []error { return []error{store.ErrUnavailable, e.err} }
