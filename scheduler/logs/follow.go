package logs

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/hearthfn/hearth/agent/driver"
)

// maxLineBytes bounds a kept line; the rest of a longer one is dropped. Docker splits longer
// lines at 16 KiB itself.
const maxLineBytes = 16 << 10

// position is how far a follow has read: the time of the last line and how many lines had
// that very time, so that a stream opened again from that time skips exactly what was read.
type position struct {
	last   time.Time
	atLast int
}

// maxRetryDelay caps the pause between attempts to open a stream that keeps failing (an engine
// whose log driver cannot be read, say).
const maxRetryDelay = 30 * time.Second

// follow reads one stream of an instance until the stream ends (the instance is gone) or ctx
// does, and opens it again, from where it broke off, when it breaks: after RetryDelay, doubled
// on each failure in a row. The first failure is logged as a warning, the next ones at debug.
func (c *Collector) follow(ctx context.Context, in *followed, id string, stream driver.Stream) {
	defer c.wg.Done()
	defer c.readerDone(id, in)
	// One joiner for the whole follow: its last entry is handed over when the follow ends.
	j := newJoiner(c.cfg.JoinWindow, func(t time.Time, text string) { c.add(in, id, stream, t, text) })
	defer j.stop()
	var pos position
	delay, warned := c.cfg.RetryDelay, false
	for {
		// While the instance is paused no stream is open (pause.go).
		rctx, done, ok := c.openContext(ctx, in, stream)
		if !ok {
			return
		}
		rc, err := c.src.Logs(rctx, id, driver.LogOptions{Follow: true, Timestamps: true, Stream: stream, Since: pos.last})
		before := pos
		if err == nil {
			err = c.read(j, rc, &pos)
			_ = rc.Close()
		}
		paused := pausedWhileReading(ctx, rctx)
		done()
		switch {
		case paused:
			delay = c.cfg.RetryDelay
			continue // opened again, from pos, once it is resumed
		case err == nil:
			return // the instance's output ended
		case pos != before:
			delay = c.cfg.RetryDelay // it worked for a while
		}
		if ctx.Err() != nil || errors.Is(err, driver.ErrInstanceNotFound) || errors.Is(err, driver.ErrNotSupported) {
			return
		}
		level := slog.LevelWarn
		if warned {
			level = slog.LevelDebug
		}
		warned = true
		c.log.Log(ctx, level, "reading an instance's output failed; trying again", "function", in.function,
			"instance", id, "stream", stream, "error", err, "retry_in", delay)
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, maxRetryDelay)
	}
}

// read hands each line of r to j until r ends: nil at its end, the error otherwise. A stream
// opened again after a break starts with lines read before it; pos skips those.
func (c *Collector) read(j *joiner, r io.Reader, pos *position) error {
	catchUp := position{last: pos.last, atLast: pos.atLast}
	br := bufio.NewReaderSize(r, maxLineBytes+64) // the timestamp fits in the margin
	for {
		raw, err := br.ReadSlice('\n')
		text := string(raw)
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = br.ReadSlice('\n') // drop the rest of a line that is too long
		}
		if text != "" {
			t, line := c.parse(strings.TrimRight(text, "\r\n"))
			if !catchUp.seen(t) {
				pos.advance(t)
				j.line(t, line)
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// seen reports whether a line at t, read again after a break, was read before: it is older
// than the last line read, or one of the lines at that very time. The first line not seen ends
// the catching up.
func (p *position) seen(t time.Time) bool {
	switch {
	case p.last.IsZero():
		return false
	case t.Before(p.last):
		return true
	case t.Equal(p.last) && p.atLast > 0:
		p.atLast--
		return true
	}
	*p = position{}
	return false
}

// advance records a line read at t.
func (p *position) advance(t time.Time) {
	switch {
	case t.After(p.last):
		p.last, p.atLast = t, 1
	case t.Equal(p.last):
		p.atLast++
	}
}

// parse splits "TIME TEXT" (driver.LogOptions.Timestamps); a line without a readable time is
// stamped with the collector's clock.
func (c *Collector) parse(s string) (time.Time, string) {
	stamp, text, ok := strings.Cut(s, " ")
	if ok {
		if t, err := time.Parse(time.RFC3339Nano, stamp); err == nil {
			return t, text
		}
	}
	return c.cfg.Now(), s
}
