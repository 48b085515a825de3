package plugin

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hearthfn/hearth/agent/driver"
)

// TestErrorRoundTrip sends each kind of driver error through toStatus and back through
// fromStatus, as a call across the plugin boundary does: the code on the wire is the table's,
// the text survives unchanged and errors.Is finds the same sentinel.
func TestErrorRoundTrip(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		code     codes.Code
		sentinel error // nil: none
	}{
		{"instance not found", fmt.Errorf("inspect hearth-a1: %w", driver.ErrInstanceNotFound), codes.NotFound, driver.ErrInstanceNotFound},
		{"image not found", fmt.Errorf("pull x:1: %w", driver.ErrImageNotFound), codes.FailedPrecondition, driver.ErrImageNotFound},
		{"not supported", fmt.Errorf("pause a1: %w", driver.ErrNotSupported), codes.Unimplemented, driver.ErrNotSupported},
		{"unavailable", fmt.Errorf("cannot reach Docker at unix:///x.sock: %w", driver.ErrUnavailable), codes.Unavailable, driver.ErrUnavailable},
		{"plugin exited", fmt.Errorf("nested: %w", driver.ErrPluginExited), codes.Aborted, driver.ErrPluginExited},
		{"deadline", fmt.Errorf("docker start: %w", context.DeadlineExceeded), codes.DeadlineExceeded, context.DeadlineExceeded},
		{"canceled", fmt.Errorf("docker stop: %w", context.Canceled), codes.Canceled, context.Canceled},
		{"bare sentinel", driver.ErrInstanceNotFound, codes.NotFound, driver.ErrInstanceNotFound},
		{"other error", errors.New("container name already in use"), codes.Unknown, nil},
		{"first sentinel wins", fmt.Errorf("%w: %w", driver.ErrUnavailable, context.DeadlineExceeded), codes.Unavailable, driver.ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wire := toStatus(tt.err)
			if got := status.Code(wire); got != tt.code {
				t.Errorf("code on the wire = %v, want %v", got, tt.code)
			}
			got := fromStatus(context.Background(), wire)
			if got.Error() != tt.err.Error() {
				t.Errorf("host error text = %q, want the plugin's %q", got.Error(), tt.err.Error())
			}
			if tt.sentinel != nil && !errors.Is(got, tt.sentinel) {
				t.Errorf("errors.Is(%v, %v) = false", got, tt.sentinel)
			}
			for _, e := range errorTable {
				if e.err != tt.sentinel && errors.Is(got, e.err) {
					t.Errorf("host error also matches %v", e.err)
				}
			}
		})
	}
	if toStatus(nil) != nil || fromStatus(context.Background(), nil) != nil {
		t.Error("nil errors must stay nil")
	}
}

// TestErrorFromBareStatus covers statuses without hearth's detail: those gRPC makes itself (the
// plugin is gone, the caller's ctx ended) and those a foreign plugin might send.
func TestErrorFromBareStatus(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		err  error
		want error
	}{
		{"transport unavailable", context.Background(), status.Error(codes.Unavailable, "connection refused"), driver.ErrPluginExited},
		{"connection closing", context.Background(), status.Error(codes.Canceled, "grpc: the client connection is closing"), driver.ErrPluginExited},
		{"caller cancelled", cancelled, status.Error(codes.Canceled, "context canceled"), context.Canceled},
		{"caller deadline", context.Background(), status.Error(codes.DeadlineExceeded, "deadline exceeded"), context.DeadlineExceeded},
		{"not found by code", context.Background(), status.Error(codes.NotFound, "no such thing"), driver.ErrInstanceNotFound},
		{"precondition by code", context.Background(), status.Error(codes.FailedPrecondition, "no image"), driver.ErrImageNotFound},
		{"unimplemented method", context.Background(), status.Error(codes.Unimplemented, "method Pause not implemented"), driver.ErrNotSupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fromStatus(tt.ctx, tt.err)
			if !errors.Is(got, tt.want) {
				t.Errorf("fromStatus(%v) = %v, want it to wrap %v", tt.err, got, tt.want)
			}
		})
	}
	plain := errors.New("not a status")
	if got := fromStatus(context.Background(), plain); got != plain {
		t.Errorf("a non-status error changed: %v", got)
	}
}
