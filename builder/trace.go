package builder

import (
	"context"
	"time"
)

// Step is one step of a build as it begins or ends. A Dockerfile's instructions are its steps,
// numbered from 1; pushing the image to a registry is a step with N 0 (it is not one of the
// Dockerfile's). Build log lines sent to Request.Progress between a step's start and its end
// are that step's output.
type Step struct {
	// N is the step's number, from 1; 0 for a step outside the Dockerfile (the push).
	N int
	// Total is how many Dockerfile steps the build has; 0 when N is 0.
	Total int
	// Name says what the step does, e.g. "RUN go build -o /f ./hearthmain".
	Name string
	// Done is false when the step begins and true when it ends.
	Done bool
	// Elapsed is how long the step took (Done only).
	Elapsed time.Duration
	// Failed is true when the build (or push) failed in this step (Done only).
	Failed bool
	// Cached is true when the engine reused the step's result from its build cache (Done
	// only).
	Cached bool
}

// Trace receives a build's steps. It rides on the context rather than on Request, as
// net/http/httptrace's hooks do, because the build is started by layers (the registry's
// Deploy) that have no use for steps and should not have to pass them on: only the deploy
// stream at the top and the builder at the bottom know about them.
type Trace func(Step)

type traceKey struct{}

// WithTrace returns a context whose builds report their steps to trace. The builder calls
// trace from the goroutine that sends Request.Progress its lines, in order with them: a step's
// start comes before its first line, its end after its last.
func WithTrace(ctx context.Context, trace Trace) context.Context {
	return context.WithValue(ctx, traceKey{}, trace)
}

// TraceFrom returns the trace WithTrace put on ctx; it is never nil (a no-op when there is
// none), so builders can call it unconditionally.
func TraceFrom(ctx context.Context) Trace {
	if t, ok := ctx.Value(traceKey{}).(Trace); ok && t != nil {
		return t
	}
	return func(Step) {}
}
