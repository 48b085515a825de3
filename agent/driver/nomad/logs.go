package nomad

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/hearthfn/hearth/agent/driver"
)

// stampLayout is how Timestamps stamps a line: RFC 3339 with nanoseconds, fixed width, as
// `docker logs --timestamps` does (and time.RFC3339Nano parses).
const stampLayout = "2006-01-02T15:04:05.000000000Z07:00"

// drainDelay is how long a follow goes on after the watcher saw the instance's allocation end,
// so that its last lines, which Nomad's client ships in batches, still come through.
const drainDelay = time.Second

// maxLineBytes is the longest line handed on whole; a longer one is cut into lines of this size.
const maxLineBytes = 64 << 10

// Logs streams the instance's stdout and stderr from Nomad's allocation logs API (the task's
// log files on its client, read through the API) as plain lines. Nomad keeps no time per line,
// which shapes the options:
//   - Timestamps stamps each line with the time the driver read it, which for a follow is
//     within Nomad's batching (a fraction of a second) of when it was written;
//   - Since cannot select lines already written: with Since set, only lines written from now on
//     are returned (and none read before Since). A follow opened again after a break thus
//     misses what was written during the break, rather than repeating the whole log;
//   - Tail reads the last bytes of each stream and keeps the last lines; with both streams,
//     whose lines cannot be ordered across them, stderr's come after stdout's;
//   - both streams of a follow are read at once and interleaved line by line.
//
// A follow ends (io.EOF) shortly after the watcher sees the allocation end; otherwise Nomad
// would hold it open until the allocation is collected.
func (d *Driver) Logs(ctx context.Context, id string, opts driver.LogOptions) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("logs %s: %w", id, err)
	}
	_, a, err := d.instance(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("logs %s: %w", id, err)
	}
	if a == nil {
		return nil, fmt.Errorf("logs %s: the instance has no allocation yet", id)
	}
	sctx, cancel := context.WithCancel(ctx)
	pr, pw := io.Pipe()
	lw := &lineWriter{w: pw, stamp: opts.Timestamps, since: opts.Since, now: time.Now}
	go func() {
		err := d.copyLogs(sctx, id, a.ID, opts, lw)
		cancel()
		if err != nil && ctx.Err() != nil {
			err = ctx.Err()
		}
		if err != nil {
			err = fmt.Errorf("logs %s: %w", id, err)
		}
		_ = pw.CloseWithError(err) // nil: the reader sees io.EOF
	}()
	return &logStream{PipeReader: pr, cancel: cancel}, nil
}

// logStream is the reader Logs returns; Close also ends the requests to Nomad.
type logStream struct {
	*io.PipeReader
	cancel context.CancelFunc
}

func (s *logStream) Close() error {
	s.cancel()
	return s.PipeReader.Close()
}

// copyLogs writes what opts selects of the allocation's logs to lw.
func (d *Driver) copyLogs(ctx context.Context, id, allocID string, opts driver.LogOptions, lw *lineWriter) error {
	var types []driver.Stream
	for _, s := range []driver.Stream{driver.StreamStdout, driver.StreamStderr} {
		if opts.Stream == "" || opts.Stream == s {
			types = append(types, s)
		}
	}
	origin := api.OriginStart
	switch {
	case opts.Tail > 0:
		var lines [][]byte
		for _, t := range types {
			l, err := d.tail(ctx, allocID, t, opts.Tail)
			if err != nil {
				return err
			}
			lines = append(lines, l...)
		}
		for _, l := range lines[max(0, len(lines)-opts.Tail):] {
			if err := lw.line(l); err != nil {
				return err
			}
		}
		origin = api.OriginEnd
	case !opts.Since.IsZero():
		origin = api.OriginEnd
	}
	if !opts.Follow {
		if opts.Tail > 0 || !opts.Since.IsZero() {
			return nil // nothing written after "now" can be there yet
		}
		for _, t := range types {
			if err := d.readLog(ctx, allocID, t, origin, false, lw); err != nil {
				return err
			}
		}
		return nil
	}

	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	gone := d.whenGone(fctx, id)
	ended := make(chan struct{})
	go func() {
		select {
		case <-gone:
			select {
			case <-time.After(drainDelay):
				close(ended)
				cancel()
			case <-fctx.Done():
			}
		case <-fctx.Done():
		}
	}()
	// Both streams at once; the first to fail ends the other.
	var wg sync.WaitGroup
	errs := make(chan error, len(types))
	for _, t := range types {
		wg.Go(func() {
			if err := d.readLog(fctx, allocID, t, origin, true, lw); err != nil {
				errs <- err
				cancel()
			}
		})
	}
	wg.Wait()
	close(errs)
	select {
	case <-ended:
		return nil // the instance ended and its output with it
	default:
	}
	return <-errs // nil when none failed
}

// readLog copies one stream of the allocation's task, from the start or from the end, to lw.
func (d *Driver) readLog(ctx context.Context, allocID string, t driver.Stream, origin string, follow bool, lw *lineWriter) error {
	body, err := d.openLog(ctx, allocID, t, origin, 0, follow)
	if err != nil {
		return err
	}
	defer func() { _ = body.Close() }()
	return lw.copyLines(body)
}

// tail returns the last n lines of one stream: from a window at its end large enough for them
// (unless the lines are very long), dropping the window's first line, which may be cut, unless
// the window reached the start.
func (d *Driver) tail(ctx context.Context, allocID string, t driver.Stream, n int) ([][]byte, error) {
	window := int64(min(max(n*512, 64<<10), 4<<20))
	body, err := d.openLog(ctx, allocID, t, api.OriginEnd, window, false)
	if err != nil {
		return nil, err
	}
	defer func() { _ = body.Close() }()
	b, err := io.ReadAll(body)
	if err != nil {
		return nil, d.wrapErr(ctx, err, nil, "read %s of allocation %s", t, allocID)
	}
	lines := bytes.SplitAfter(b, []byte("\n"))
	if len(lines) > 0 && len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	if int64(len(b)) >= window && len(lines) > 0 {
		lines = lines[1:]
	}
	lines = lines[max(0, len(lines)-n):]
	for i := range lines {
		lines[i] = bytes.TrimSuffix(lines[i], []byte("\n"))
	}
	return lines, nil
}

// openLog opens one stream of the allocation's task log, as plain text, offset bytes from the
// origin. Its body is read as Nomad sends it (with follow, as the task writes).
func (d *Driver) openLog(ctx context.Context, allocID string, t driver.Stream, origin string, offset int64, follow bool) (io.ReadCloser, error) {
	q := (&api.QueryOptions{Params: map[string]string{
		"task": taskName, "type": string(t), "origin": origin, "offset": strconv.FormatInt(offset, 10),
		"follow": strconv.FormatBool(follow), "plain": "true",
	}}).WithContext(ctx)
	body, err := d.api.Raw().Response("/v1/client/fs/logs/"+allocID, q)
	if err != nil {
		return nil, d.wrapErr(ctx, err, driver.ErrInstanceNotFound, "read %s of allocation %s", t, allocID)
	}
	return body, nil
}

// whenGone returns a channel closed once the view shows the instance's allocation ended, or the
// instance gone, until ctx ends. While the view is not current, it waits.
func (d *Driver) whenGone(ctx context.Context, id string) <-chan struct{} {
	gone := make(chan struct{})
	go func() {
		for {
			changed := d.view.wait()
			if d.view.ended(id) {
				close(gone)
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-changed:
			}
		}
	}()
	return gone
}

// lineWriter writes whole lines, from any number of streams at once, to w: one stream's line
// never cuts into another's.
type lineWriter struct {
	mu    sync.Mutex
	w     io.Writer
	stamp bool
	since time.Time
	now   func() time.Time
}

// line writes one line (without its newline), stamped when asked, unless read before since.
func (l *lineWriter) line(b []byte) error {
	t := l.now()
	if !l.since.IsZero() && t.Before(l.since) {
		return nil
	}
	buf := make([]byte, 0, len(stampLayout)+2+len(b))
	if l.stamp {
		buf = t.UTC().AppendFormat(buf, stampLayout)
		buf = append(buf, ' ')
	}
	buf = append(append(buf, b...), '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	_, err := l.w.Write(buf)
	return err
}

// copyLines hands each line of r to line, until r ends: nil at its end, the error otherwise. A
// last line without a newline is handed on too.
func (l *lineWriter) copyLines(r io.Reader) error {
	br := bufio.NewReaderSize(r, maxLineBytes)
	for {
		b, err := br.ReadSlice('\n')
		if len(b) > 0 {
			if werr := l.line(bytes.TrimSuffix(b, []byte("\n"))); werr != nil {
				return werr
			}
		}
		switch {
		case err == nil, errors.Is(err, bufio.ErrBufferFull):
		case errors.Is(err, io.EOF):
			return nil
		default:
			return err
		}
	}
}
