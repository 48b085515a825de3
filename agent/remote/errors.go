package remote

import (
	"errors"
	"net/http"

	"github.com/hearthfn/hearth/agent"
	"github.com/hearthfn/hearth/agent/driver"
)

// Error codes of the agent's API that carry no sentinel.
const (
	codeInternal   = "internal"
	codeBadRequest = CodeBadRequest
)

// errorTable is the two-way mapping between the sentinels of agent.Agent and the error codes
// of the agent's API: the agent walks it in order to pick a code and a status, the client to
// rebuild an error that errors.Is matches. It is the only place errors cross the session.
var errorTable = []struct {
	err    error
	code   string
	status int
}{
	{agent.ErrNotReady, "not_ready", http.StatusBadGateway},
	{driver.ErrInstanceNotFound, "instance_not_found", http.StatusNotFound},
	{driver.ErrImageNotFound, "image_not_found", http.StatusNotFound},
	{driver.ErrNotSupported, "not_supported", http.StatusNotImplemented},
	{driver.ErrNoCapacity, "no_capacity", http.StatusInsufficientStorage},
	{driver.ErrUnavailable, "unavailable", http.StatusServiceUnavailable},
}

// codeOf returns the code and status the agent answers err with.
func codeOf(err error) (code string, status int) {
	for _, e := range errorTable {
		if errors.Is(err, e.err) {
			return e.code, e.status
		}
	}
	return codeInternal, http.StatusInternalServerError
}

// sentinelOf returns the sentinel of a code, nil for a code without one.
func sentinelOf(code string) error {
	for _, e := range errorTable {
		if e.code == code {
			return e.err
		}
	}
	return nil
}

// Error is an error the agent answered, rebuilt on the server's side. Its text is the agent's
// message prefixed with the node; Unwrap returns the sentinel of its code, so errors.Is works
// as if there were no session in between.
type Error struct {
	NodeID  string
	Code    string
	Message string
}

func (e *Error) Error() string { return "node " + e.NodeID + ": " + e.Message }

// Unwrap returns the sentinel of e's code, or nil.
func (e *Error) Unwrap() error { return sentinelOf(e.Code) }
