package main

import (
	"context"

	"github.com/hearthfn/hearth/runtimes"
)

// runtimeSamples is how many cold starts a runtime without a cold row gets.
const runtimeSamples = 3

// runtimeRow is one runtime's image size, first build and time to ready.
type runtimeRow struct {
	Runtime     string  `json:"runtime"`
	ImageBytes  int64   `json:"image_bytes"`
	BuildMS     float64 `json:"first_build_ms"`
	ColdStart   summary `json:"cold_start"`
	Description string  `json:"description"`
}

// runtimeRow measures a runtime's scaffold: its image, its build and its time to ready (the
// first call with no instance, as in the cold rows). A runtime whose no-op function already had
// a cold row reuses that row's function and samples.
func (b *bench) runtimeRow(ctx context.Context, rt runtimes.Runtime, done map[string]coldRun) (runtimeRow, error) {
	cr, ok := done[rt.Name]
	if !ok {
		logf("runtime %s: deploy and %d cold starts", rt.Name, runtimeSamples)
		fn, err := b.deployScaffold(ctx, rt.Name, namePrefix+rt.Name, coldYAML)
		if err != nil {
			return runtimeRow{}, err
		}
		size, err := imageSize(ctx, fn.image)
		if err != nil {
			return runtimeRow{}, err
		}
		hs, _, err := b.coldSamples(ctx, fn, runtimeSamples, false)
		if err != nil {
			return runtimeRow{}, err
		}
		if err := b.remove(ctx, fn.name); err != nil {
			return runtimeRow{}, err
		}
		cr = coldRun{fn: fn, size: size, hearth: hs}
	}
	return runtimeRow{Runtime: rt.Name, Description: rt.Description, ImageBytes: cr.size,
		BuildMS: float64(cr.fn.buildTime.Microseconds()) / 1000, ColdStart: cr.hearth.summarize()}, nil
}
