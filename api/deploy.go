package api

// Deploy is POST /v1/functions/{name}/versions with the function's source as a gzip-compressed
// tar (Content-Type application/gzip), func.yaml at its root. The server answers with a stream of
// newline-delimited DeployEvents (Content-Type application/x-ndjson): build log lines while it
// builds, then exactly one "result" or "error" event. Problems found before the build starts
// (bad func.yaml, unknown runtime, archive too large) are a plain JSON error with a 4xx status.

// Deploy event types.
const (
	EventLog    = "log"
	EventResult = "result"
	EventError  = "error"
)

// DeployEvent is one line of the deploy stream.
type DeployEvent struct {
	Type string `json:"type"`
	// Line is a build log line (Type "log").
	Line string `json:"line,omitempty"`
	// Function is the deployed function (Type "result").
	Function *Function `json:"function,omitempty"`
	// Cached is true when the image was reused without building (Type "result").
	Cached bool `json:"cached,omitempty"`
	// Error is set for Type "error".
	Error *ErrorDetail `json:"error,omitempty"`
}
