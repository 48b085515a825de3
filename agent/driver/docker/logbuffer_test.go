package docker

import (
	"errors"
	"io"
	"testing"
	"time"
)

// noWait makes a buffer's batching wait return at once, recording that it was asked to wait.
func noWait(waited *int) func(time.Duration, <-chan struct{}, <-chan struct{}) {
	return func(time.Duration, <-chan struct{}, <-chan struct{}) { *waited++ }
}

func TestLogBufferBatchesUntilTheDelay(t *testing.T) {
	b := newLogBuffer(time.Hour, 1<<10, 1<<20)
	var waited int
	b.wait = noWait(&waited)
	for _, l := range []string{"one\n", "two\n"} {
		if _, err := b.Write([]byte(l)); err != nil {
			t.Fatal(err)
		}
	}
	p := make([]byte, 64)
	n, err := b.Read(p)
	if err != nil || string(p[:n]) != "one\ntwo\n" {
		t.Fatalf("Read = %q, %v; want both lines in one batch", p[:n], err)
	}
	if waited != 1 {
		t.Fatalf("the read waited %d times for more; want once, the batch being short", waited)
	}
}

func TestLogBufferAFullBatchGoesAtOnce(t *testing.T) {
	b := newLogBuffer(time.Hour, 8, 1<<20)
	var waited int
	b.wait = noWait(&waited)
	if _, err := b.Write([]byte("0123456789\n")); err != nil {
		t.Fatal(err)
	}
	p := make([]byte, 4)
	var got []byte
	for len(got) < 11 {
		n, err := b.Read(p)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p[:n]...)
	}
	if string(got) != "0123456789\n" || waited != 0 {
		t.Fatalf("got %q after %d waits; want the whole batch and no wait", got, waited)
	}
}

func TestLogBufferEndsWithTheWritersError(t *testing.T) {
	for _, tc := range []struct {
		name    string
		closeBy error
		want    error
	}{{"end of stream", nil, io.EOF}, {"broken", errors.New("engine gone"), nil}} {
		t.Run(tc.name, func(t *testing.T) {
			b := newLogBuffer(time.Hour, 1<<10, 1<<20)
			var waited int
			b.wait = noWait(&waited)
			_, _ = b.Write([]byte("last\n"))
			b.CloseWithError(tc.closeBy)
			got, err := io.ReadAll(b)
			if string(got) != "last\n" || waited != 0 {
				t.Fatalf("read %q after %d waits; want the buffered line at once", got, waited)
			}
			want := tc.want
			if want == nil {
				want = tc.closeBy
			}
			if tc.want == io.EOF {
				if err != nil { // ReadAll turns io.EOF into nil
					t.Fatalf("ReadAll error = %v, want none", err)
				}
			} else if !errors.Is(err, want) {
				t.Fatalf("ReadAll error = %v, want %v", err, want)
			}
			if _, err := b.Write([]byte("x")); !errors.Is(err, io.ErrClosedPipe) {
				t.Fatalf("Write after close = %v, want io.ErrClosedPipe", err)
			}
		})
	}
}

func TestLogBufferDropsRatherThanBlocks(t *testing.T) {
	b := newLogBuffer(time.Hour, 4, 8)
	for _, l := range []string{"abcd", "efgh", "ijkl"} {
		if n, err := b.Write([]byte(l)); err != nil || n != 4 {
			t.Fatalf("Write(%q) = %d, %v; want it taken without blocking", l, n, err)
		}
	}
	if d := b.Dropped(); d != 4 {
		t.Fatalf("Dropped = %d, want 4 (the write over the bound)", d)
	}
	b.CloseWithError(nil)
	got, _ := io.ReadAll(b)
	if string(got) != "abcdefgh" {
		t.Fatalf("read %q, want the two writes within the bound", got)
	}
}

func TestLogBufferReaderWaitsForTheFirstByte(t *testing.T) {
	b := newLogBuffer(0, 1<<10, 1<<20)
	got := make(chan string)
	go func() {
		p := make([]byte, 16)
		n, _ := b.Read(p)
		got <- string(p[:n])
	}()
	_, _ = b.Write([]byte("hello\n"))
	if s := <-got; s != "hello\n" {
		t.Fatalf("Read = %q, want the line written after it began waiting", s)
	}
}
