package fake

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
)

// fakeInstance is one started instance. Its mutable fields are guarded by the driver's mu, which
// mu points to (the HTTP middleware runs outside any driver method).
type fakeInstance struct {
	mu     *sync.Mutex
	spec   instance.Spec
	inst   instance.Instance
	labels map[string]string
	srv    *http.Server

	state    instance.State
	exitCode int
	reason   string
	// gate is closed while requests may pass and open (blocking) while paused.
	gate chan struct{}
	// held counts the requests waiting at the gate.
	held int

	logs []logLine
	// logNotify is closed and replaced on every new line, waking followers; logsDone is set
	// once no more lines will come (exit or stop).
	logNotify chan struct{}
	logsDone  bool
}

type logLine struct {
	at   time.Time
	text string
}

func newInstance(spec instance.Spec, endpoint string, mu *sync.Mutex) *fakeInstance {
	labels := maps.Clone(spec.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[instance.LabelOwner] = instance.OwnerValue
	labels[instance.LabelInstance] = spec.ID
	if spec.Function != "" {
		labels[instance.LabelFunction] = spec.Function
	}
	gate := make(chan struct{})
	close(gate)
	return &fakeInstance{
		mu:     mu,
		spec:   spec,
		labels: labels,
		inst: instance.Instance{
			ID:        spec.ID,
			DriverRef: "fake-" + spec.ID,
			Endpoint:  endpoint,
			StartedAt: time.Now(),
		},
		state:     instance.StateRunning,
		gate:      gate,
		logNotify: make(chan struct{}),
	}
}

// openGate releases held requests; the caller holds mu.
func (in *fakeInstance) openGate() {
	select {
	case <-in.gate:
	default:
		close(in.gate)
	}
}

// appendLogLocked records a line and wakes followers; the caller holds mu.
func (in *fakeInstance) appendLogLocked(text string) {
	if in.logsDone {
		return
	}
	in.logs = append(in.logs, logLine{at: time.Now(), text: text})
	close(in.logNotify)
	in.logNotify = make(chan struct{})
}

// endLogsLocked marks the log complete, ending every follower; the caller holds mu.
func (in *fakeInstance) endLogsLocked() {
	if in.logsDone {
		return
	}
	in.logsDone = true
	close(in.logNotify)
}

func (in *fakeInstance) statusLocked() instance.Status {
	return instance.Status{
		Instance: in.inst,
		Function: in.spec.Function,
		State:    in.state,
		ExitCode: in.exitCode,
		Reason:   in.reason,
		Labels:   maps.Clone(in.labels),
	}
}

// wrap puts the driver's behaviour around the instance's handler: requests wait while the
// instance is paused (a frozen container does not answer either), and each one is logged, as the
// function contract's runtimes do.
func (in *fakeInstance) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in.mu.Lock()
		gate := in.gate
		in.held++
		in.mu.Unlock()
		select {
		case <-gate:
		case <-r.Context().Done():
		}
		in.mu.Lock()
		in.held--
		in.mu.Unlock()
		if r.Context().Err() != nil {
			return
		}
		in.mu.Lock()
		in.appendLogLocked(fmt.Sprintf("%s %s", r.Method, r.URL.RequestURI()))
		in.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// DefaultHandler is the handler instances serve unless WithHandler replaces it. Like the
// integration tests' echo image, it answers GET /_/ready with 200 and echoes any other request's
// body back, with the status from the "status" query parameter (default 200) after sleeping for
// the "sleep" parameter (a Go duration, cut short when the request ends). Every response carries
// the instance id in X-Instance.
func DefaultHandler(spec instance.Spec) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Instance", spec.ID)
		if r.URL.Path == "/_/ready" {
			_, _ = io.WriteString(w, "ok\n")
			return
		}
		q := r.URL.Query()
		if d, err := time.ParseDuration(q.Get("sleep")); err == nil && d > 0 {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-t.C:
			case <-r.Context().Done():
				return
			}
		}
		status := http.StatusOK
		if s, err := strconv.Atoi(q.Get("status")); err == nil && s >= 100 && s <= 999 {
			status = s
		}
		if ct := r.Header.Get("Content-Type"); ct != "" {
			w.Header().Set("Content-Type", ct)
		}
		w.WriteHeader(status)
		_, _ = io.Copy(w, r.Body)
	})
}

// streamLogs returns a reader over in's log lines selected by opts, fed by a goroutine that ends
// with the log (or, with Follow, with the instance), with ctx, or when the reader is closed.
func (d *Driver) streamLogs(ctx context.Context, in *fakeInstance, opts driver.LogOptions) io.ReadCloser {
	pr, pw := io.Pipe()
	r := &logReader{PipeReader: pr, closed: make(chan struct{})}
	go func() {
		d.mu.Lock()
		next := firstLine(in.logs, opts)
		d.mu.Unlock()
		for {
			d.mu.Lock()
			lines := in.logs[next:]
			next = len(in.logs)
			notify, done := in.logNotify, in.logsDone
			d.mu.Unlock()
			for _, l := range lines {
				if opts.Stream == driver.StreamStderr {
					continue // the fake writes every line to stdout
				}
				text := l.text + "\n"
				if opts.Timestamps {
					text = l.at.UTC().Format(time.RFC3339Nano) + " " + text
				}
				if _, err := io.WriteString(pw, text); err != nil {
					return
				}
			}
			if !opts.Follow || done {
				_ = pw.Close()
				return
			}
			select {
			case <-notify:
			case <-ctx.Done():
				_ = pw.CloseWithError(ctx.Err())
				return
			case <-r.closed:
				return
			}
		}
	}()
	return r
}

// firstLine returns the index of the first line opts select: those at or after Since, and of
// those only the last Tail when Tail > 0.
func firstLine(lines []logLine, opts driver.LogOptions) int {
	i := 0
	for i < len(lines) && lines[i].at.Before(opts.Since) {
		i++
	}
	if opts.Tail > 0 && len(lines)-i > opts.Tail {
		i = len(lines) - opts.Tail
	}
	return i
}

// logReader is the reading end of a log pipe; Close also stops a following writer that is
// waiting for new lines rather than blocked in a write.
type logReader struct {
	*io.PipeReader
	once   sync.Once
	closed chan struct{}
}

func (r *logReader) Close() error {
	r.once.Do(func() { close(r.closed) })
	return r.PipeReader.Close()
}
