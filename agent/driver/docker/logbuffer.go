package docker

import (
	"io"
	"sync"
	"time"
)

// A followed instance writes a line now and then: one per call for the runtimes' shims. Handed
// on line by line (through an io.Pipe, as before), every line woke the reader's goroutine, and in
// the driver plugin that meant one gRPC message per line to the server, which woke its log
// collector in turn: about 15 µs of the plugin's CPU per call and a few of the server's
// (docs/performance.md, issue 14). logBuffer hands lines on in batches instead: a Read waits
// until followBatchBytes have come or followBatchDelay has passed since the first byte it will
// return. Lines keep the time the engine stamped them with, so a batch changes when a follower
// sees a line (by at most followBatchDelay; the collector holds lines back longer anyway, see
// logs.Config.JoinWindow), never which call it is tagged with.
const (
	followBatchDelay = 10 * time.Millisecond
	followBatchBytes = 16 << 10
	// followMaxBuffered bounds what waits for a reader that does not keep up. Beyond it, output
	// is dropped rather than held: the writer (the copy from the engine) must never block on a
	// slow follower.
	followMaxBuffered = 1 << 20
)

// logBuffer is a pipe whose writer never blocks and whose reader takes what came in batches.
// It is safe for one writer and one reader at a time.
type logBuffer struct {
	delay, batch, max int64
	// wait, when set, replaces the batching wait (tests).
	wait func(d time.Duration, full, done <-chan struct{})

	mu      sync.Mutex
	buf     []byte
	first   time.Time // when the oldest buffered byte came
	err     error     // set once the writer closed: io.EOF or why it ended
	dropped int64     // bytes dropped over max

	ready chan struct{} // a signal: data came into an empty buffer
	full  chan struct{} // a signal: the buffer reached batch
	done  chan struct{} // closed once the writer closed
}

func newLogBuffer(delay time.Duration, batch, max int) *logBuffer {
	return &logBuffer{delay: int64(delay), batch: int64(batch), max: int64(max),
		ready: make(chan struct{}, 1), full: make(chan struct{}, 1), done: make(chan struct{})}
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Write keeps p for the reader, or drops it when max bytes wait already. It never blocks.
func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return 0, io.ErrClosedPipe
	}
	if int64(len(b.buf)+len(p)) > b.max {
		b.dropped += int64(len(p))
		return len(p), nil
	}
	if len(b.buf) == 0 {
		b.first = time.Now()
		signal(b.ready)
	}
	b.buf = append(b.buf, p...)
	if int64(len(b.buf)) >= b.batch {
		signal(b.full)
	}
	return len(p), nil
}

// CloseWithError ends the writing: the reader gets what is buffered, then err (io.EOF when nil).
func (b *logBuffer) CloseWithError(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return
	}
	if err == nil {
		err = io.EOF
	}
	b.err = err
	close(b.done)
}

// Read returns buffered bytes once a batch is full, the batch delay has passed since the first
// of them came, or the writer closed; it waits for the first byte.
func (b *logBuffer) Read(p []byte) (int, error) {
	for {
		b.mu.Lock()
		n, closed := int64(len(b.buf)), b.err != nil
		if n == 0 && closed {
			err := b.err
			b.mu.Unlock()
			return 0, err
		}
		if n > 0 && n < b.batch && !closed {
			if left := time.Duration(b.delay) - time.Since(b.first); left > 0 {
				b.mu.Unlock()
				b.pause(left)
				b.mu.Lock()
			}
		}
		if len(b.buf) > 0 {
			n := copy(p, b.buf)
			b.buf = b.buf[n:]
			if len(b.buf) == 0 {
				b.buf = b.buf[:0:0] // let a large batch's array go
			} else {
				b.first = time.Now().Add(-time.Duration(b.delay)) // the rest goes at once
			}
			b.mu.Unlock()
			return n, nil
		}
		b.mu.Unlock()
		select {
		case <-b.ready:
		case <-b.done:
		}
	}
}

// pause waits d at most, less when the batch fills or the writer closes.
func (b *logBuffer) pause(d time.Duration) {
	if b.wait != nil {
		b.wait(d, b.full, b.done)
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-b.full:
	case <-b.done:
	}
}

// Dropped returns how many bytes were dropped because the reader did not keep up.
func (b *logBuffer) Dropped() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.dropped
}
