package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/hearthfn/hearth/agent/driver/nomad"
	"github.com/hearthfn/hearth/runtimes/contract"
)

// nomadReportCycle is how often a Nomad client reports allocations to the servers when nothing
// is urgent: every 5th tick of 200 ms after its last report (Nomad 1.11's client, allocSync). A
// new allocation is never urgent, so the report that it runs, which the driver's Start waits
// for, comes at the first such tick after the task started: every cold start on Nomad waits for
// it, whoever registered the job, and how long depends on where in the cycle the job came.
const nomadReportCycle = time.Second

// minOffset is the earliest a sample begins after the report that the previous sample's
// allocation ended: later than the bench can see that the previous job is gone (the servers
// batch a report for 50 ms, then the job is purged, then the pool or the driver returns).
const minOffset = 300 * time.Millisecond

// nomadColdRow compares hearth's first call with no instance, on Nomad, with the floor: the
// same job registered with the Nomad API (nomadFloor), samples alternating as in coldRow. For
// every sample of both sides it also reads Nomad's and Docker's record of the start
// (nomadPhases).
//
// Nomad cannot pause: the pool stops an instance at idle_timeout, and a sample starts once the
// pool shows none and the job is gone from Nomad. Both samples of a pair begin at the same point
// of the client's report cycle (alignSample); the pairs' points are spread evenly over it.
func (b *bench) nomadColdRow(ctx context.Context, nd *nomad.Driver, napi nomadHTTP, rt string) (row, *nomadPhaseReport, error) {
	fn, err := b.deployScaffold(ctx, rt, namePrefix+b.names+rt, coldYAML)
	if err != nil {
		return row{}, nil, err
	}
	rctx, cancel := context.WithCancel(ctx)
	reports, err := followEndReports(rctx, napi)
	if err != nil {
		cancel()
		return row{}, nil, err
	}
	defer func() { cancel(); <-reports.done }()

	n := b.cfg.nomadCold
	logf("nomad: %d cold starts, hearth and the same job through the Nomad API alternating", n)
	// The first call starts the first instance and is not counted, as in coldSamples.
	t0 := time.Now()
	if err := call(b.hc, b.client.InvokeURL(fn.name)); err != nil {
		return row{}, nil, err
	}
	_, prev, err := b.hearthPhases(ctx, nd, napi, fn.name, t0)
	if err != nil {
		return row{}, nil, err
	}
	var hs, fs sample
	phases := &nomadPhaseReport{}
	for i := 0; i < n; i++ {
		offset := minOffset + time.Duration(i)*nomadReportCycle/time.Duration(n)
		if err := b.waitStopped(ctx, fn); err != nil {
			return row{}, nil, err
		}
		// The floor first, while the function has no instance: no stop by the pool overlaps
		// it. Its job is stopped and purged before hearth's sample begins.
		ended, err := alignSample(ctx, reports, prev, offset)
		if err != nil {
			return row{}, nil, err
		}
		d, ph, alloc, err := b.nomadFloor(ctx, nd, napi, fn, ended)
		if err != nil {
			return row{}, nil, err
		}
		fs, phases.Floor = append(fs, d), append(phases.Floor, ph)

		if ended, err = alignSample(ctx, reports, alloc, offset); err != nil {
			return row{}, nil, err
		}
		t0 := time.Now()
		if err := call(b.hc, b.client.InvokeURL(fn.name)); err != nil {
			return row{}, nil, err
		}
		d = time.Since(t0)
		// Read at once: the pool stops the instance, and Nomad forgets its job, a second later.
		if ph, prev, err = b.hearthPhases(ctx, nd, napi, fn.name, t0); err != nil {
			return row{}, nil, err
		}
		ph.Offset, ph.Answered = msOf(t0.Sub(ended)), msOf(d)
		hs, phases.Hearth = append(hs, d), append(phases.Hearth, ph)
	}
	if err := b.remove(ctx, fn.name); err != nil {
		return row{}, nil, err
	}
	paired := make(sample, n)
	for i := range paired {
		paired[i] = hs[i] - fs[i]
	}
	ps := paired.summarize()
	return row{Function: rt, Kind: kindNomadCold, Name: "first call, no instance", Hearth: hs.summarize(), Floor: fs.summarize(),
		Paired: &ps, FloorName: "Nomad API: the same job registered, reported running, ready + call"}, phases, nil
}

// alignSample waits until offset after the report that the previous sample's allocation ended,
// the report from which the client counts its cycle, and returns that report's time. Where a
// cold start falls in the cycle decides up to a second of its time (nomadReportCycle): both
// sides of a pair begin at the same point, so that they wait alike.
func alignSample(ctx context.Context, reports *endReports, prevAlloc string, offset time.Duration) (time.Time, error) {
	ended, err := reports.endedAt(ctx, prevAlloc)
	if err != nil {
		return time.Time{}, err
	}
	if d := time.Until(ended.Add(offset)); d > 0 {
		if err := sleep(ctx, d); err != nil {
			return time.Time{}, err
		}
	}
	return ended, nil
}

// nomadFloor times the floor: the job hearth's node would register for the function (same
// image, memory, CPU, env and confinement, and the same driver configuration), registered
// through the nomad driver's Start, which returns once the servers know the allocation runs,
// as it does inside hearth; then GET /_/ready polled every 1 ms and one call. Nomad's record of
// the job is read before the job is stopped and purged. It returns the allocation's id.
func (b *bench) nomadFloor(ctx context.Context, nd *nomad.Driver, napi nomadHTTP, fn deployed, ended time.Time) (time.Duration, nomadPhases, string, error) {
	spec := rawSpec(fn)
	t0 := time.Now()
	in, err := nd.Start(ctx, spec)
	if err != nil {
		return 0, nomadPhases{}, "", err
	}
	returned := time.Since(t0)
	defer nd.Stop(context.WithoutCancel(ctx), spec.ID, time.Second) //nolint:errcheck // best effort; stopLeftovers catches a failure
	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for call(hc, "http://"+in.Endpoint+contract.ReadyPath) != nil {
		if time.Since(t0) > 30*time.Second {
			return 0, nomadPhases{}, "", fmt.Errorf("the floor's job for %s not ready in 30 s", fn.image)
		}
		time.Sleep(time.Millisecond)
	}
	if err := call(hc, "http://"+in.Endpoint+"/"); err != nil {
		return 0, nomadPhases{}, "", err
	}
	took := time.Since(t0)
	ph, err := readPhases(ctx, napi, in.DriverRef, t0)
	ph.Offset, ph.StartReturned, ph.Answered = msOf(t0.Sub(ended)), msOf(returned), msOf(took)
	return took, ph, in.DriverRef, err
}

// hearthPhases reads Nomad's record of the start of the function's one instance, and returns
// its allocation's id.
func (b *bench) hearthPhases(ctx context.Context, nd *nomad.Driver, napi nomadHTTP, name string, t0 time.Time) (nomadPhases, string, error) {
	insts, err := b.pool(ctx, name)
	if err != nil {
		return nomadPhases{}, "", err
	}
	if len(insts) != 1 {
		return nomadPhases{}, "", fmt.Errorf("want one instance of %s after a call, the pool has %d", name, len(insts))
	}
	// The allocation is Nomad's name for the instance; the driver's view of Nomad may take a
	// round trip to learn it.
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, err := nd.Inspect(ctx, insts[0].ID)
		if err != nil {
			return nomadPhases{}, "", err
		}
		if alloc := st.Instance.DriverRef; alloc != "" {
			ph, err := readPhases(ctx, napi, alloc, t0)
			return ph, alloc, err
		}
		if time.Now().After(deadline) {
			return nomadPhases{}, "", fmt.Errorf("no allocation known for instance %s of %s", insts[0].ID, name)
		}
		if err := sleep(ctx, 5*time.Millisecond); err != nil {
			return nomadPhases{}, "", err
		}
	}
}
