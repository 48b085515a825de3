package registry_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/hearthfn/hearth/api"
	"github.com/hearthfn/hearth/scheduler/metrics"
	"github.com/hearthfn/hearth/scheduler/pool"
	"github.com/hearthfn/hearth/scheduler/registry"
	"github.com/hearthfn/hearth/scheduler/stats"
	"github.com/hearthfn/hearth/scheduler/store/sqlstore"
)

// BenchmarkDeployAmong measures hearth's own part of a deploy of a new function (the build
// is the fake builder's: none) into a server that has 10 or 1,000 functions already: the
// registry, the store, the pool and the dashboard's figures, as the server wires them. The two
// should cost the same (docs/performance.md). A deploy at 1,000 also reads a GET and a page of
// the list, which must not grow either.
func BenchmarkDeployAmong(b *testing.B) {
	for _, n := range []int{10, 1000} {
		b.Run(fmt.Sprintf("functions=%d", n), func(b *testing.B) {
			ctx := context.Background()
			st, err := sqlstore.Open(ctx, filepath.Join(b.TempDir(), "hearth.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			log := slog.New(slog.DiscardHandler)
			m := metrics.New(log)
			p := pool.New(pool.Config{Observer: m}, log)
			defer p.Shutdown(false)
			sc := stats.New(stats.Config{Pool: p, Log: log})
			workDir := filepath.Join(b.TempDir(), "work")
			fb := &fakeBuilder{workDir: workDir}
			reg := registry.New(registry.Config{BaseURL: baseURL, WorkDir: workDir}, st, fb, statsPool{p, sc, m}, log)
			for i := range n {
				name := fmt.Sprintf("fn-%04d", i)
				if _, err := st.AddVersion(ctx, name, api.Version{Image: "img", Spec: api.FunctionSpec{Name: name, Runtime: "go"}}); err != nil {
					b.Fatal(err)
				}
			}
			if err := reg.Restore(ctx); err != nil {
				b.Fatal(err)
			}
			// The sources are packed before the clock starts: the client's work, not the server's.
			srcs := make([][]byte, b.N)
			for i := range srcs {
				name := fmt.Sprintf("new-%06d", i)
				srcs[i] = pack(b, source("name: "+name+"\nruntime: go\n", "// "+name))
			}
			b.ResetTimer()
			for i := range b.N {
				name := fmt.Sprintf("new-%06d", i)
				if _, _, err := reg.Deploy(ctx, name, bytes.NewReader(srcs[i]), nil); err != nil {
					b.Fatal(err)
				}
				if _, err := reg.Get(ctx, name); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			fb.mu.Lock()
			fb.reqs = nil
			fb.mu.Unlock()
		})
	}
}
