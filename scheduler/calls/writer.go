package calls

import (
	"bytes"
	"net/http"
)

// bufferWriter is the http.ResponseWriter an async call answers into: it keeps the status,
// the headers and up to max bytes of the body.
type bufferWriter struct {
	header    http.Header
	status    int
	buf       bytes.Buffer
	max       int
	truncated bool
}

func newBufferWriter(max int) *bufferWriter { return &bufferWriter{header: http.Header{}, max: max} }

func (w *bufferWriter) Header() http.Header { return w.header }

func (w *bufferWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *bufferWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if room := w.max - w.buf.Len(); len(b) > room {
		w.buf.Write(b[:max(room, 0)])
		w.truncated = true
		return len(b), nil
	}
	return w.buf.Write(b)
}

// Flush is a no-op: the whole answer is kept.
func (w *bufferWriter) Flush() {}
