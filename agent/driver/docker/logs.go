package docker

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/hearthfn/hearth/agent/driver"
)

// Logs streams the container's stdout and stderr, demultiplexed into one stream of plain lines.
// Only the initial inspect has a timeout: the stream itself lives as long as the caller's ctx
// (and, with Follow, the container), as a follow may rightly last for hours.
func (d *Driver) Logs(ctx context.Context, id string, opts driver.LogOptions) (io.ReadCloser, error) {
	name := containerName(id)
	octx, cancel := d.opCtx(ctx)
	info, err := d.api.ContainerInspect(octx, name)
	cancel()
	if err != nil {
		return nil, d.wrapErr(ctx, err, driver.ErrInstanceNotFound, "logs %s", id)
	}
	lopts := container.LogsOptions{
		ShowStdout: opts.Stream != driver.StreamStderr,
		ShowStderr: opts.Stream != driver.StreamStdout,
		Follow:     opts.Follow,
		Timestamps: opts.Timestamps,
		Tail:       "all",
	}
	if opts.Tail > 0 {
		lopts.Tail = strconv.Itoa(opts.Tail)
	}
	if !opts.Since.IsZero() {
		lopts.Since = fmt.Sprintf("%d.%09d", opts.Since.Unix(), opts.Since.Nanosecond())
	}
	body, err := d.api.ContainerLogs(ctx, name, lopts)
	if err != nil {
		return nil, d.wrapErr(ctx, err, driver.ErrInstanceNotFound, "logs %s", id)
	}

	// A container with a TTY has one raw stream; any other has Docker's multiplexed frames.
	tty := info.Config != nil && info.Config.Tty
	pr, pw := pipeFor(opts)
	go func() {
		var err error
		if tty {
			_, err = io.Copy(pw, body)
		} else {
			_, err = stdcopy.StdCopy(pw, pw, body)
		}
		_ = body.Close()
		if err != nil && ctx.Err() != nil {
			err = ctx.Err()
		}
		if err != nil {
			err = fmt.Errorf("logs %s: %w", id, err)
		}
		_ = pw.CloseWithError(err) // nil: the reader sees io.EOF
	}()
	return &logStream{Reader: pr, closeReader: pr.Close, body: body}, nil
}

// pipeWriter is the copy's end of the stream Logs returns.
type pipeWriter interface {
	io.Writer
	CloseWithError(err error) error
}

// pipeFor returns the two ends of the stream Logs returns: a batching buffer for a follow
// (logbuffer.go), a plain pipe for a read of what was written so far.
func pipeFor(opts driver.LogOptions) (interface {
	io.Reader
	Close() error
}, pipeWriter) {
	if !opts.Follow {
		return io.Pipe()
	}
	b := newLogBuffer(followBatchDelay, followBatchBytes, followMaxBuffered)
	return bufferReader{b}, bufferWriter{b}
}

type bufferReader struct{ *logBuffer }

// Close ends the follower's end: a Read after it returns io.ErrClosedPipe.
func (r bufferReader) Close() error {
	r.logBuffer.CloseWithError(io.ErrClosedPipe)
	return nil
}

type bufferWriter struct{ *logBuffer }

func (w bufferWriter) CloseWithError(err error) error {
	w.logBuffer.CloseWithError(err)
	return nil
}

// logStream is the reader Logs returns. Close also closes Docker's response body, which ends
// the copying goroutine even while it waits for the next line of a follow.
type logStream struct {
	io.Reader
	closeReader func() error
	body        io.Closer
}

func (s *logStream) Close() error {
	_ = s.body.Close()
	return s.closeReader()
}
