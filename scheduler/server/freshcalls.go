package server

import (
	"context"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/calls"
	"github.com/hearthfn/hearth/scheduler/httpapi"
	"github.com/hearthfn/hearth/scheduler/store"
)

// freshCalls reads call records after the recorder has written what it holds, so that a call
// that returned is listed at once (`hearth calls` right after `hearth invoke`), not up to a
// flush interval later. The wait is bounded: a store that cannot be written makes reads no
// slower than flushWait.
type freshCalls struct {
	httpapi.CallReader
	rec *calls.Recorder
}

// flushWait bounds how long a read waits for the recorder's write.
const flushWait = time.Second

func (f freshCalls) flush(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, flushWait)
	defer cancel()
	_ = f.rec.Flush(ctx) // on timeout the read shows what the store has
}

func (f freshCalls) GetCall(ctx context.Context, id string) (api.Call, error) {
	f.flush(ctx)
	return f.CallReader.GetCall(ctx, id)
}

func (f freshCalls) ListCalls(ctx context.Context, filter store.CallFilter) ([]api.Call, error) {
	f.flush(ctx)
	return f.CallReader.ListCalls(ctx, filter)
}
