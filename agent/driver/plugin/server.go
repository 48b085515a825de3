package plugin

import (
	"context"
	"fmt"
	"io"

	"google.golang.org/grpc"

	"github.com/hearthfn/hearth/agent/driver"
	driverpb "github.com/hearthfn/hearth/agent/driver/plugin/proto"
	"github.com/hearthfn/hearth/agent/instance"
)

// logChunkSize bounds one LogsChunk: big enough to batch a burst of lines, small enough to stay
// far below gRPC's default 4 MiB message limit.
const logChunkSize = 32 << 10

// server exposes a driver.Driver as the gRPC Driver service, inside the plugin process. Each
// method forwards the request's ctx (which gRPC cancels when the host's ctx ends) and turns the
// driver's error into a status through toStatus.
type server struct {
	driverpb.UnimplementedDriverServer
	impl driver.Driver
}

var _ driverpb.DriverServer = (*server)(nil)

func (s *server) Fingerprint(ctx context.Context, _ *driverpb.FingerprintRequest) (*driverpb.FingerprintResponse, error) {
	f, err := s.impl.Fingerprint(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	return fingerprintToPB(f), nil
}

func (s *server) EnsureImage(ctx context.Context, req *driverpb.EnsureImageRequest) (*driverpb.EnsureImageResponse, error) {
	if err := s.impl.EnsureImage(ctx, req.GetRef()); err != nil {
		return nil, toStatus(err)
	}
	return &driverpb.EnsureImageResponse{}, nil
}

func (s *server) Start(ctx context.Context, req *driverpb.StartRequest) (*driverpb.StartResponse, error) {
	inst, err := s.impl.Start(ctx, specFromPB(req.GetSpec()))
	if err != nil {
		return nil, toStatus(err)
	}
	return &driverpb.StartResponse{Instance: instanceToPB(inst)}, nil
}

func (s *server) Prepare(ctx context.Context, req *driverpb.PrepareRequest) (*driverpb.PrepareResponse, error) {
	p, ok := s.impl.(driver.Preparer)
	if !ok {
		return nil, toStatus(fmt.Errorf("driver does not prepare instances: %w", driver.ErrNotSupported))
	}
	if err := p.Prepare(ctx, specFromPB(req.GetSpec())); err != nil {
		return nil, toStatus(err)
	}
	return &driverpb.PrepareResponse{}, nil
}

func (s *server) Pause(ctx context.Context, req *driverpb.PauseRequest) (*driverpb.PauseResponse, error) {
	if err := s.impl.Pause(ctx, req.GetId()); err != nil {
		return nil, toStatus(err)
	}
	return &driverpb.PauseResponse{}, nil
}

func (s *server) Resume(ctx context.Context, req *driverpb.ResumeRequest) (*driverpb.ResumeResponse, error) {
	if err := s.impl.Resume(ctx, req.GetId()); err != nil {
		return nil, toStatus(err)
	}
	return &driverpb.ResumeResponse{}, nil
}

func (s *server) Stop(ctx context.Context, req *driverpb.StopRequest) (*driverpb.StopResponse, error) {
	if err := s.impl.Stop(ctx, req.GetId(), durationFromPB(req.GetGrace())); err != nil {
		return nil, toStatus(err)
	}
	return &driverpb.StopResponse{}, nil
}

func (s *server) Inspect(ctx context.Context, req *driverpb.InspectRequest) (*driverpb.InspectResponse, error) {
	st, err := s.impl.Inspect(ctx, req.GetId())
	if err != nil {
		return nil, toStatus(err)
	}
	return &driverpb.InspectResponse{Status: statusToPB(st)}, nil
}

func (s *server) List(ctx context.Context, _ *driverpb.ListRequest) (*driverpb.ListResponse, error) {
	list, err := s.impl.List(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &driverpb.ListResponse{Instances: make([]*driverpb.Status, 0, len(list))}
	for _, st := range list {
		resp.Instances = append(resp.Instances, statusToPB(st))
	}
	return resp, nil
}

// Logs copies the driver's log stream into chunks. The stream's ctx ends when the host cancels
// or closes its reader; closing the driver's reader then as well guarantees the copy loop stops
// even if a driver's reader ignored its ctx.
func (s *server) Logs(req *driverpb.LogsRequest, stream grpc.ServerStreamingServer[driverpb.LogsChunk]) error {
	ctx := stream.Context()
	rc, err := s.impl.Logs(ctx, req.GetId(), driver.LogOptions{
		Follow:     req.GetFollow(),
		Since:      timeFromPB(req.GetSince()),
		Tail:       int(req.GetTail()),
		Stream:     driver.Stream(req.GetStream()),
		Timestamps: req.GetTimestamps(),
	})
	if err != nil {
		return toStatus(err)
	}
	stop := context.AfterFunc(ctx, func() { _ = rc.Close() })
	defer func() {
		stop()
		_ = rc.Close()
	}()
	// The empty first chunk tells the host the stream is open (see driver.proto).
	if err := stream.Send(&driverpb.LogsChunk{}); err != nil {
		return err
	}
	buf := make([]byte, logChunkSize)
	for {
		n, rerr := rc.Read(buf)
		if n > 0 {
			if err := stream.Send(&driverpb.LogsChunk{Data: buf[:n]}); err != nil {
				return err
			}
		}
		switch {
		case rerr == io.EOF:
			return nil
		case rerr != nil:
			if ctx.Err() != nil {
				return toStatus(ctx.Err())
			}
			return toStatus(rerr)
		}
	}
}

// Watch streams the driver's events, or answers ErrNotSupported (Unimplemented) when the driver
// is no driver.Watcher. fn runs on the driver's watching goroutine: a host that reads slowly
// slows the driver's stream (gRPC's flow control), which the contract allows ("fn must not
// block for long"); a send that fails ends the watch.
func (s *server) Watch(_ *driverpb.WatchRequest, stream grpc.ServerStreamingServer[driverpb.InstanceEvent]) error {
	w, ok := s.impl.(driver.Watcher)
	if !ok {
		return toStatus(fmt.Errorf("driver does not watch its instances: %w", driver.ErrNotSupported))
	}
	ctx, cancel := context.WithCancelCause(stream.Context())
	defer cancel(nil)
	err := w.Watch(ctx, func(ev instance.Event) {
		if ctx.Err() != nil {
			return
		}
		if err := stream.Send(eventToPB(ev)); err != nil {
			cancel(err)
		}
	})
	if cause := context.Cause(ctx); cause != nil && stream.Context().Err() == nil {
		return cause // the send failed: the stream is broken, gRPC knows why
	}
	return toStatus(err)
}
