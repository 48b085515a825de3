package plugin

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"

	"github.com/hearthfn/hearth/agent/driver"
	driverpb "github.com/hearthfn/hearth/agent/driver/plugin/proto"
	"github.com/hearthfn/hearth/agent/instance"
)

// client implements driver.Driver on the host side over the gRPC stub. Every call passes the
// caller's ctx to gRPC, which carries its deadline and cancellation into the plugin process, and
// every error goes back through fromStatus.
type client struct {
	rpc driverpb.DriverClient
}

var (
	_ driver.Driver   = (*client)(nil)
	_ driver.Preparer = (*client)(nil)
	_ driver.Watcher  = (*client)(nil)
)

func (c *client) Fingerprint(ctx context.Context) (driver.Fingerprint, error) {
	resp, err := c.rpc.Fingerprint(ctx, &driverpb.FingerprintRequest{})
	if err != nil {
		return driver.Fingerprint{}, fromStatus(ctx, err)
	}
	return fingerprintFromPB(resp), nil
}

func (c *client) EnsureImage(ctx context.Context, ref string) error {
	_, err := c.rpc.EnsureImage(ctx, &driverpb.EnsureImageRequest{Ref: ref})
	return fromStatus(ctx, err)
}

func (c *client) Start(ctx context.Context, spec instance.Spec) (instance.Instance, error) {
	resp, err := c.rpc.Start(ctx, &driverpb.StartRequest{Spec: specToPB(spec)})
	if err != nil {
		return instance.Instance{}, fromStatus(ctx, err)
	}
	return instanceFromPB(resp.GetInstance()), nil
}

// Prepare implements driver.Preparer: ErrNotSupported when the plugin's driver is no Preparer,
// or the plugin predates the RPC (gRPC's Unimplemented maps to it).
func (c *client) Prepare(ctx context.Context, spec instance.Spec) error {
	_, err := c.rpc.Prepare(ctx, &driverpb.PrepareRequest{Spec: specToPB(spec)})
	return fromStatus(ctx, err)
}

func (c *client) Pause(ctx context.Context, id string) error {
	_, err := c.rpc.Pause(ctx, &driverpb.PauseRequest{Id: id})
	return fromStatus(ctx, err)
}

func (c *client) Resume(ctx context.Context, id string) error {
	_, err := c.rpc.Resume(ctx, &driverpb.ResumeRequest{Id: id})
	return fromStatus(ctx, err)
}

func (c *client) Stop(ctx context.Context, id string, grace time.Duration) error {
	_, err := c.rpc.Stop(ctx, &driverpb.StopRequest{Id: id, Grace: durationToPB(grace)})
	return fromStatus(ctx, err)
}

func (c *client) Inspect(ctx context.Context, id string) (instance.Status, error) {
	resp, err := c.rpc.Inspect(ctx, &driverpb.InspectRequest{Id: id})
	if err != nil {
		return instance.Status{}, fromStatus(ctx, err)
	}
	return statusFromPB(resp.GetStatus()), nil
}

func (c *client) List(ctx context.Context) ([]instance.Status, error) {
	resp, err := c.rpc.List(ctx, &driverpb.ListRequest{})
	if err != nil {
		return nil, fromStatus(ctx, err)
	}
	list := make([]instance.Status, 0, len(resp.GetInstances()))
	for _, st := range resp.GetInstances() {
		list = append(list, statusFromPB(st))
	}
	return list, nil
}

// Logs opens the server stream and waits for its first (empty) chunk, so that errors such as
// ErrInstanceNotFound come from Logs itself. The stream runs on a child of ctx that Close
// cancels: closing the reader early reaches the plugin just like cancelling ctx does.
func (c *client) Logs(ctx context.Context, id string, opts driver.LogOptions) (io.ReadCloser, error) {
	sctx, cancel := context.WithCancel(ctx)
	stream, err := c.rpc.Logs(sctx, &driverpb.LogsRequest{
		Id:         id,
		Follow:     opts.Follow,
		Since:      timeToPB(opts.Since),
		Tail:       int32(opts.Tail),
		Stream:     string(opts.Stream),
		Timestamps: opts.Timestamps,
	})
	if err == nil {
		_, err = stream.Recv()
	}
	if err != nil {
		cancel()
		if errors.Is(err, io.EOF) {
			// A server that ends the stream before its first chunk broke the protocol; report
			// it as a plain error rather than as an empty log.
			return nil, errors.New("driver plugin: log stream ended before it opened")
		}
		return nil, fromStatus(ctx, err)
	}
	return &logReader{ctx: ctx, stream: stream, cancel: cancel}, nil
}

// Watch implements driver.Watcher by reading the plugin's event stream: the first event the
// plugin sends is its driver's Resync. ErrNotSupported when the plugin's driver cannot watch, or
// the plugin predates the RPC (gRPC's Unimplemented maps to it); the stream's end otherwise
// carries the driver's error (ErrUnavailable, ctx.Err()...), or ErrPluginExited when the plugin
// went away.
func (c *client) Watch(ctx context.Context, fn func(instance.Event)) error {
	stream, err := c.rpc.Watch(ctx, &driverpb.WatchRequest{})
	if err != nil {
		return fromStatus(ctx, err)
	}
	for {
		ev, err := stream.Recv()
		switch {
		case errors.Is(err, io.EOF):
			// Watch never ends well: only ctx or an error ends a driver's stream.
			return errors.New("driver plugin: event stream ended without an error")
		case err != nil:
			return fromStatus(ctx, err)
		}
		fn(eventFromPB(ev))
	}
}

// logReader turns the chunk stream back into an io.ReadCloser.
type logReader struct {
	ctx    context.Context // the caller's ctx, for error mapping
	stream grpc.ServerStreamingClient[driverpb.LogsChunk]
	cancel context.CancelFunc
	// closed is set before cancel, so a Read that cancel unblocks reports a closed reader
	// rather than a broken plugin.
	closed atomic.Bool

	mu  sync.Mutex // serialises Reads; guards buf
	buf []byte
}

func (r *logReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for len(r.buf) == 0 {
		if r.closed.Load() {
			return 0, io.ErrClosedPipe
		}
		chunk, err := r.stream.Recv()
		switch {
		case errors.Is(err, io.EOF):
			return 0, io.EOF
		case err != nil && r.closed.Load():
			return 0, io.ErrClosedPipe
		case err != nil:
			return 0, fromStatus(r.ctx, err)
		}
		r.buf = chunk.GetData()
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// Close cancels the stream, which ends the driver's reader in the plugin, and makes further
// reads fail. It is safe to call while a Read is blocked: the cancellation unblocks it.
func (r *logReader) Close() error {
	r.closed.Store(true)
	r.cancel()
	return nil
}
