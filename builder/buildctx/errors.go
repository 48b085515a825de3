package buildctx

import "errors"

var (
	// ErrUnsafePath is returned for an entry that would land outside its folder: an absolute
	// path, a ".." component, a symlink pointing outside, or a file type other than a regular
	// file, folder or symlink.
	ErrUnsafePath = errors.New("unsafe path in function source")
	// ErrTooLarge is returned by Extract for an archive that grows past its size limit.
	ErrTooLarge = errors.New("function source too large")
	// ErrInvalidArchive is wrapped by every error of Extract that is the archive's fault other
	// than its size: input that is not a gzip-compressed tar, and (together with ErrUnsafePath)
	// entries that would land outside the folder.
	ErrInvalidArchive = errors.New("invalid source archive")
)

// archiveError is an unsafe-path error from Extract: its text is the path's story, and it
// matches both ErrUnsafePath and ErrInvalidArchive, so that an upload's bad entry is a client
// error wherever only ErrInvalidArchive is checked.
type archiveError struct{ err error }

func (e archiveError) Error() string   { return e.err.Error() }
func (e archiveError) Unwrap() []error { return []error{ErrInvalidArchive, e.err} }
