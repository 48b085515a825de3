package sqlstore_test

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"path/filepath"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/store/sqlstore"
)

// BenchmarkRecordCalls measures storing call records in batches as the recorder does, with ids
// that grow with time (as the router makes them) and, for comparison, with random ids: the
// difference is why call ids start with a timestamp.
func BenchmarkRecordCalls(b *testing.B) {
	b.Run("ordered-ids", func(b *testing.B) {
		benchRecord(b, func(t time.Time) string {
			var x [16]byte
			binary.BigEndian.PutUint64(x[:8], uint64(t.UnixMilli())<<16)
			_, _ = rand.Read(x[6:])
			return hex.EncodeToString(x[:])
		})
	})
	b.Run("random-ids", func(b *testing.B) {
		benchRecord(b, func(time.Time) string {
			var x [16]byte
			_, _ = rand.Read(x[:])
			return hex.EncodeToString(x[:])
		})
	})
}

func benchRecord(b *testing.B, id func(time.Time) string) {
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, filepath.Join(b.TempDir(), "hearth.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	batch := make([]api.Call, 256)
	b.ResetTimer()
	for i := 0; i < b.N; i += len(batch) {
		now := time.Now()
		for j := range batch {
			batch[j] = api.Call{ID: id(now), Function: "f", Status: api.CallSucceeded, HTTPStatus: 200,
				CreatedAt: now, StartedAt: now, FinishedAt: now, Instance: "abc"}
		}
		if err := st.RecordCalls(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
}
