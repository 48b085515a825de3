// Package privatefile writes files that hold secrets (API tokens): readable by their owner
// only, and never seen half written or with wider permissions, not even for a moment.
package privatefile

import (
	"os"
	"path/filepath"
)

// Write writes data to path with mode 0600, replacing what was there, through a temporary file
// in the same directory (made 0700 when missing) that is renamed over path.
func Write(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // a no-op after the rename
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
