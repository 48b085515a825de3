package plugin

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hearthfn/hearth/agent/driver"
	driverpb "github.com/hearthfn/hearth/agent/driver/plugin/proto"
)

// errorTable is the two-way mapping between the driver sentinels (plus the context errors) and
// gRPC codes. It is the only place errors are translated at the plugin boundary: the server side
// walks it in order to pick a code, the client side to rebuild an error that errors.Is recognises.
// The name rides in an ErrorDetail so the client can tell a driver's answer ("Docker is
// unavailable") from a transport failure with the same code ("the plugin is gone").
var errorTable = []struct {
	err  error
	code codes.Code
	name string
}{
	{driver.ErrInstanceNotFound, codes.NotFound, "instance_not_found"},
	{driver.ErrImageNotFound, codes.FailedPrecondition, "image_not_found"},
	{driver.ErrNotSupported, codes.Unimplemented, "not_supported"},
	{driver.ErrUnavailable, codes.Unavailable, "unavailable"},
	{driver.ErrNoCapacity, codes.ResourceExhausted, "no_capacity"},
	// A driver that itself talks to a plugin may report that plugin's exit; Aborted is otherwise
	// unused here, so it cannot be confused with a transport failure.
	{driver.ErrPluginExited, codes.Aborted, "plugin_exited"},
	{context.DeadlineExceeded, codes.DeadlineExceeded, "deadline_exceeded"},
	{context.Canceled, codes.Canceled, "canceled"},
}

// toStatus turns a driver error into the gRPC status the plugin sends. The message is the error's
// full text, so the host's error reads exactly like the plugin's.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	code, name := codes.Unknown, ""
	for _, e := range errorTable {
		if errors.Is(err, e.err) {
			code, name = e.code, e.name
			break
		}
	}
	st := status.New(code, err.Error())
	if withDetail, derr := st.WithDetails(&driverpb.ErrorDetail{Sentinel: name}); derr == nil {
		st = withDetail
	}
	return st.Err()
}

// fromStatus turns the error of a gRPC call made with ctx back into a driver error. It is the
// inverse of toStatus for errors the plugin sent; an error gRPC produced itself means the plugin
// process is unreachable (ErrPluginExited), unless the caller's own ctx ended, which wins.
func fromStatus(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	detail, fromPlugin := sentinelDetail(st)
	if !fromPlugin {
		switch {
		case ctx.Err() != nil && (st.Code() == codes.Canceled || st.Code() == codes.DeadlineExceeded):
			return &remoteError{msg: st.Message(), sentinel: ctx.Err()}
		case st.Code() == codes.Unavailable || st.Code() == codes.Canceled:
			// The connection broke or was closed under the call: the plugin exited or was
			// killed, and the driver must be dispensed again.
			return &remoteError{msg: "driver plugin: " + st.Message(), sentinel: driver.ErrPluginExited}
		}
	}
	for _, e := range errorTable {
		if (fromPlugin && detail == e.name) || (!fromPlugin && st.Code() == e.code) {
			return &remoteError{msg: st.Message(), sentinel: e.err}
		}
	}
	return &remoteError{msg: st.Message()}
}

// sentinelDetail reports the sentinel name the plugin attached to st, and whether it attached one
// at all (an empty name means "no sentinel" but still "sent by the plugin").
func sentinelDetail(st *status.Status) (string, bool) {
	for _, d := range st.Details() {
		if ed, ok := d.(*driverpb.ErrorDetail); ok {
			return ed.GetSentinel(), true
		}
	}
	return "", false
}

// remoteError is an error rebuilt on the host side of the plugin boundary. Its text is the
// plugin's own; Unwrap exposes the sentinel so errors.Is works as if no process boundary existed.
type remoteError struct {
	msg      string
	sentinel error
}

func (e *remoteError) Error() string { return e.msg }

func (e *remoteError) Unwrap() error { return e.sentinel }
