package nodes

import (
	"errors"
	"fmt"
)

var (
	// ErrJoinTokenInvalid: a join token that is malformed, unknown, revoked, made by another
	// server (its CA pin differs), or whose secret is wrong. The message says which, except
	// that a wrong secret reads as unknown.
	ErrJoinTokenInvalid = errors.New("invalid join token")
	// ErrJoinTokenExpired: a join token past its expiry.
	ErrJoinTokenExpired = errors.New("join token expired")
	// ErrBadJoinRequest: a join request without a name, or with a CSR that does not parse or
	// is not signed by its own key.
	ErrBadJoinRequest = errors.New("bad join request")
	// ErrLocalNode: the request cannot apply to the server's own, in-process node (removing
	// it).
	ErrLocalNode = errors.New("the server's own node")
	// ErrNodeUnknown: a connect from a node that is not in the store (removed, or never
	// joined).
	ErrNodeUnknown = errors.New("unknown node")
)

// kindError is an error of a kind (a sentinel above) whose text is its message alone: the
// messages are shown to operators and agents as they are, without the sentinel's words.
type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

func errorf(kind error, format string, args ...any) error {
	return &kindError{kind: kind, msg: fmt.Sprintf(format, args...)}
}
