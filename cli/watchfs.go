package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/fsnotify/fsnotify"

	"github.com/hearthfn/hearth/builder/buildctx"
)

// changeSource tells the watch loop which files of the function changed. Changes carries
// slash-separated paths relative to the function's folder, already filtered: only what a
// deploy would upload. Errors carries problems of the watcher that do not stop it. Both are
// closed once the source has stopped (after Close).
type changeSource interface {
	Changes() <-chan string
	Errors() <-chan error
	Close() error
}

// errWatchLimit is wrapped by the error of a folder that could not be watched because the
// system's limit of watches is reached; the message says how to get under it.
var errWatchLimit = errors.New("too many folders to watch")

// watchFilter decides which changes matter: those to files a deploy uploads. It follows the
// packer (builder/buildctx walkSource): .git and what .hearthignore excludes are left out, so a
// change there cannot cause a deploy that uploads exactly what the last one did. It also
// leaves out the temporary files editors write beside the file being saved.
type watchFilter struct {
	ig *buildctx.Ignore
}

// skip reports whether a change of rel (slash-separated, relative to the root; isDir when it
// is a folder) is not worth a deploy.
func (f *watchFilter) skip(rel string, isDir bool) bool {
	if rel == "." || rel == "" {
		return false
	}
	if rel == buildctx.IgnoreFile {
		return false // it changes what is uploaded, even when it excludes itself
	}
	segs := strings.Split(rel, "/")
	for i, s := range segs {
		if s == ".git" {
			return true
		}
		// An excluded folder excludes what is inside it, as the packer does not walk it.
		if i < len(segs)-1 && f.ig.Match(strings.Join(segs[:i+1], "/"), true) {
			return true
		}
	}
	return editorTemp(segs[len(segs)-1]) || f.ig.Match(rel, isDir)
}

// editorTemp reports whether base is the name of a file an editor writes while saving or
// editing another one: vim's swap files and its "4913" probe of whether the folder is
// writable, backups ending in "~", emacs's lock (".#x") and auto-save ("#x#") files, and
// JetBrains' safe-write copies. Each save makes such files appear and vanish; none is source.
func editorTemp(base string) bool {
	switch {
	case base == "4913",
		strings.HasSuffix(base, "~"),
		strings.HasPrefix(base, ".#"),
		len(base) > 1 && strings.HasPrefix(base, "#") && strings.HasSuffix(base, "#"),
		strings.HasSuffix(base, "___jb_tmp___"), strings.HasSuffix(base, "___jb_old___"):
		return true
	}
	switch path.Ext(base) {
	case ".swp", ".swo", ".swx":
		return true
	}
	return false
}

// fsSource is the changeSource of a real folder, through fsnotify. fsnotify watches one
// folder at a time, so every folder of the tree is added, and new ones as they appear.
type fsSource struct {
	root    string
	w       *fsnotify.Watcher
	filter  watchFilter
	dirs    map[string]bool // watched folders, relative to root ("." is the root)
	changes chan string
	errs    chan error
	stop    chan struct{} // closed by Close, so that run stops even while handing a change on
	done    chan struct{} // closed when run has returned

	closeOnce sync.Once
}

// watchDir starts watching root and everything under it that a deploy would upload.
func watchDir(root string) (*fsSource, error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", root, err)
	}
	s := &fsSource{
		root:    root,
		w:       w,
		dirs:    map[string]bool{},
		changes: make(chan string),
		errs:    make(chan error, 8),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	s.loadIgnore()
	if err := s.addTree("."); err != nil {
		_ = w.Close()
		return nil, err
	}
	go s.run()
	return s, nil
}

func (s *fsSource) Changes() <-chan string { return s.changes }
func (s *fsSource) Errors() <-chan error   { return s.errs }

// Close stops the watcher and waits until its goroutine has finished.
// Closing again does nothing.
func (s *fsSource) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.stop)
		err = s.w.Close()
		<-s.done
	})
	return err
}

// loadIgnore (re)reads .hearthignore. A file that does not parse watches everything: the
// next deploy fails on it and says why, which is more use than failing here.
func (s *fsSource) loadIgnore() {
	ig, err := buildctx.LoadIgnore(os.DirFS(s.root))
	if err != nil {
		ig = nil
	}
	s.filter.ig = ig
}

// addTree watches the folder rel and every folder under it that the filter keeps.
func (s *fsSource) addTree(rel string) error {
	return filepath.WalkDir(filepath.Join(s.root, filepath.FromSlash(rel)), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p != s.root {
				return nil // gone again before we got to it
			}
			return err
		}
		if !d.IsDir() {
			return nil
		}
		r := s.rel(p)
		if s.filter.skip(r, true) {
			return fs.SkipDir
		}
		if err := s.w.Add(p); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return fmt.Errorf("watch %s: %w: raise fs.inotify.max_user_watches, or list big folders (such as node_modules) in %s", p, errWatchLimit, buildctx.IgnoreFile)
			}
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return fmt.Errorf("watch %s: %w", p, err)
		}
		s.dirs[r] = true
		return nil
	})
}

// rel is p relative to the root, slash-separated.
func (s *fsSource) rel(p string) string {
	r, err := filepath.Rel(s.root, p)
	if err != nil {
		return filepath.ToSlash(p)
	}
	return filepath.ToSlash(r)
}

// run turns fsnotify's events into changes until the watcher is closed.
func (s *fsSource) run() {
	defer close(s.done)
	defer close(s.changes)
	defer close(s.errs)
	for {
		select {
		case ev, ok := <-s.w.Events:
			if !ok {
				return
			}
			if rel, ok := s.event(ev); ok && !s.send(rel) {
				return
			}
		case err, ok := <-s.w.Errors:
			if !ok {
				return
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				// Some changes were lost: deploy, so that what runs is what is on disk.
				if !s.send(".") {
					return
				}
			}
			s.report(err)
		}
	}
}

// event handles one fsnotify event and says which change, if any, it is.
func (s *fsSource) event(ev fsnotify.Event) (string, bool) {
	rel := s.rel(ev.Name)
	if rel == buildctx.IgnoreFile {
		s.loadIgnore()
		return rel, true
	}
	isDir := s.dirs[rel]
	if ev.Has(fsnotify.Create) {
		if fi, err := os.Lstat(ev.Name); err == nil && fi.IsDir() {
			isDir = true
		}
	}
	if s.filter.skip(rel, isDir) {
		return "", false
	}
	switch {
	case ev.Has(fsnotify.Create) && isDir:
		// Files may have been made in it before the watch was added: the change of the folder
		// itself stands for them.
		if err := s.addTree(rel); err != nil {
			s.report(err)
		}
	case ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename):
		// fsnotify drops the watch of a folder that is gone; forget it and what was under it.
		for d := range s.dirs {
			if d == rel || strings.HasPrefix(d, rel+"/") {
				delete(s.dirs, d)
			}
		}
	}
	return rel, true
}

// send hands a change to the loop; false means the source is closing.
func (s *fsSource) send(rel string) bool {
	select {
	case s.changes <- rel:
		return true
	case <-s.stop:
		return false
	}
}

// report passes err on without blocking: a watcher error is news, not something to wait for.
func (s *fsSource) report(err error) {
	select {
	case s.errs <- err:
	default:
	}
}
