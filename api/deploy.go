package api

// Deploy is POST /v1/functions/{name}/versions with the function's source as a gzip-compressed
// tar (Content-Type application/gzip), func.yaml at its root. The server answers with a stream of
// newline-delimited DeployEvents (Content-Type application/x-ndjson): build log lines and the
// build's steps while it builds, then exactly one "result" or "error" event. Problems found
// before the build starts (bad func.yaml, unknown runtime, archive too large) are a plain JSON
// error with a 4xx status.
//
// Every line of the build log is a "log" event, the step announcements ("Step 3/9 : COPY . .")
// included, so a client that knows only "log" events shows the whole log; a client may instead
// follow the "step" and "step_end" events, which say when each step begins and ends: the "log"
// events between them are that step's output.

// Deploy event types. A client skips types it does not know: newer servers may add some.
const (
	EventLog     = "log"
	EventStep    = "step"     // a build step began
	EventStepEnd = "step_end" // a build step ended
	EventResult  = "result"
	EventError   = "error"
)

// DeployEvent is one line of the deploy stream.
type DeployEvent struct {
	Type string `json:"type"`
	// Line is a build log line (Type "log").
	Line string `json:"line,omitempty"`
	// Step is the step that began or ended (Types "step" and "step_end").
	Step *BuildStep `json:"step,omitempty"`
	// Function is the deployed function (Type "result").
	Function *Function `json:"function,omitempty"`
	// Cached is true when the image was reused without building (Type "result").
	Cached bool `json:"cached,omitempty"`
	// Error is set for Type "error".
	Error *ErrorDetail `json:"error,omitempty"`
	// Hint, for a failed build (Type "error"), says what to do about it, e.g. how to build the
	// function's dependencies offline. Error.Message ends with the same text, for clients that
	// do not read this field.
	Hint string `json:"hint,omitempty"`
}

// BuildStep is one step of a build: a Dockerfile instruction, or pushing the image.
type BuildStep struct {
	// N is the step's number, from 1; 0 for a step that is not a Dockerfile instruction (the
	// push to a registry).
	N int `json:"n"`
	// Total is how many Dockerfile steps the build has (0 when N is 0).
	Total int `json:"total"`
	// Name says what the step does: "RUN go build -o /hearth-function ./hearthmain",
	// "push 127.0.0.1:5000/hearth/hello:0123abcd".
	Name string `json:"name"`
	// ElapsedMS is how long the step took, in milliseconds ("step_end" only).
	ElapsedMS int64 `json:"elapsed_ms,omitempty"`
	// Failed is true when the build failed in this step ("step_end" only).
	Failed bool `json:"failed,omitempty"`
	// Cached is true when the step's result came from the engine's build cache ("step_end"
	// only).
	Cached bool `json:"cached,omitempty"`
}
