// Package contract holds the function contract's constants: what every function instance, of any
// runtime, promises the platform. See docs/user/function-contract.md.
//
// It imports only the standard library: the runtime shims, the node agent's readiness check and
// the router all use it.
package contract

import (
	"encoding/json"
	"net/http"
)

const (
	// PortEnv is the environment variable that tells an instance which port to serve on.
	PortEnv = "PORT"
	// DefaultPort is the port an instance serves on when PORT is not set.
	DefaultPort = 8080
	// ReadyPath answers 200 once the instance can take calls.
	ReadyPath = "/_/ready"

	// HeaderCallID carries the call's id to the handler (and back in the response).
	HeaderCallID = "Hearth-Call-Id"
	// HeaderDeadline carries the call's deadline to the handler, RFC 3339 with nanoseconds.
	HeaderDeadline = "Hearth-Deadline"
	// HeaderFailed is set by a shim on a response to say the instance is no longer healthy (the
	// handler panicked or threw); the platform replaces the instance. It never reaches the caller.
	HeaderFailed = "Hearth-Instance-Failed"
)

// Error codes in the error body of a response the platform or a shim writes.
const (
	CodeHandlerError = "handler_error"
	CodeTimeout      = "timeout"
)

// ErrorBody is the JSON body of every error hearth writes, from the API, the front door or a
// runtime shim: {"error": {"code": "...", "message": "...", "field": "..."}}.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the stable shape inside ErrorBody. Code is a machine-readable word, Message is
// for people, Field names the offending input when there is one.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// WriteError writes an ErrorBody with the given status.
func WriteError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(ErrorBody{Error: ErrorDetail{Code: code, Message: message}})
}
