package router

import (
	"cmp"
	"net/http"
	"time"

	"github.com/hearthfn/hearth/api"
)

// Recorder receives the record of every finished sync call (calls to unknown functions aside).
// It is on the hot path: it must not block (scheduler/calls hands records to the store in
// batches, off the path).
type Recorder interface {
	Record(c api.Call)
}

// recordingWriter remembers what the call answered, for its record.
type recordingWriter struct {
	http.ResponseWriter
	status int
	errMsg string
}

func (w *recordingWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recordingWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush lets the reverse proxy stream: it flushes after every write.
func (w *recordingWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap gives http.ResponseController the writer underneath.
func (w *recordingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// finish reports the call to the observer and records it: into run for an async run (the
// runner stores it), else to the Recorder.
func (rt *Router) finish(c *call, rw *recordingWriter, start time.Time, run *api.Call) {
	end := time.Now()
	if rt.cfg.Observer != nil {
		fn := c.function
		if c.result == OutcomeNotFound {
			fn = ""
		}
		rt.cfg.Observer.CallDone(fn, c.result, end.Sub(start))
	}
	if c.result == OutcomeNotFound && run == nil || (run == nil && rt.cfg.Recorder == nil) {
		return
	}
	rec := api.Call{ID: c.id, Function: c.function, Status: callStatus(c.result, rw.status),
		HTTPStatus: rw.status, CreatedAt: start, FinishedAt: end, Error: cmp.Or(rw.errMsg, c.errMsg), Alias: c.alias}
	if c.lease != nil {
		rec.Version = c.lease.Version()
		rec.Instance = c.lease.InstanceID()
		rec.Cold = string(c.lease.Cold())
		rec.StartedAt = c.leasedAt
		rec.DurationMS = float64(end.Sub(c.leasedAt).Microseconds()) / 1000
	}
	if run != nil {
		rec.Async, rec.CreatedAt = true, run.CreatedAt
		rec.Attempts, rec.CallbackURL = run.Attempts, run.CallbackURL
		rec.Alias = cmp.Or(rec.Alias, run.Alias)
		*run = rec
		return
	}
	rt.cfg.Recorder.Record(rec)
}

// callStatus is the record's status for a call that ended with outcome and answered status.
func callStatus(outcome string, status int) api.CallStatus {
	switch outcome {
	case OutcomeOK:
		if status >= 500 {
			return api.CallFailed
		}
		return api.CallSucceeded
	case OutcomeHandlerError:
		return api.CallFailed
	case OutcomeTimeout:
		return api.CallTimedOut
	case OutcomeCanceled:
		return api.CallCanceled
	}
	return api.CallError
}
