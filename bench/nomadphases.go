package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"time"
)

// nomadPhases is one cold start on Nomad as Nomad and Docker recorded it, each field in ms since
// the sample began (hearth's call, or the floor's Start). Their timestamps come from the same
// machine's clock as the bench's, so the two sides can be set side by side.
type nomadPhases struct {
	// Offset is how long after the Nomad client's last report (the previous sample's
	// allocation ending) the sample began; see alignSample.
	Offset float64 `json:"offset_ms"`
	// Registered is the job's SubmitTime: the servers took the registration.
	Registered float64 `json:"registered_ms"`
	// Placed is the allocation's CreateTime: the evaluation ran and its plan was applied.
	Placed float64 `json:"placed_ms"`
	// Received is the task's "Received" event: the client has the allocation.
	Received float64 `json:"received_ms"`
	// Created and ContainerStarted are Docker's: the container's creation and the start of its
	// process.
	Created          float64 `json:"container_created_ms"`
	ContainerStarted float64 `json:"container_started_ms"`
	// Started is the task's "Started" event: the client's docker driver returned from the start.
	Started float64 `json:"started_ms"`
	// Reported is the allocation's ModifyTime, read while it runs: when the servers got the
	// client's report that it runs, which is what the driver's Start waits for.
	Reported float64 `json:"reported_ms"`
	// StartReturned is when the driver's Start returned (the floor only: hearth's is inside
	// the server).
	StartReturned float64 `json:"start_returned_ms,omitempty"`
	// Answered is the first 200.
	Answered float64 `json:"answered_ms"`
}

// nomadPhaseReport is every cold sample's phases, both sides.
type nomadPhaseReport struct {
	Hearth []nomadPhases `json:"hearth"`
	Floor  []nomadPhases `json:"floor"`
}

// nomadHTTP reads what the bench needs from Nomad's HTTP API directly: hashicorp's client is
// the nomad driver's alone (scripts/check-imports.sh).
type nomadHTTP struct {
	addr string
	hc   *http.Client // no timeout: the event stream stays open; requests carry a ctx
}

// nomadAlloc is the part of Nomad's allocation the bench reads.
type nomadAlloc struct {
	ID           string
	ClientStatus string
	// CreateTime and ModifyTime are Unix ns, stamped by the servers.
	CreateTime, ModifyTime int64
	Job                    *struct{ SubmitTime int64 }
	TaskStates             map[string]struct {
		Events []struct {
			Type string
			Time int64
		}
	}
}

// terminal reports whether the client reported the allocation ended.
func (a nomadAlloc) terminal() bool {
	switch a.ClientStatus {
	case "complete", "failed", "lost":
		return true
	}
	return false
}

// get makes one GET of the API, bounded in time, and decodes its answer into v.
func (n nomadHTTP) get(ctx context.Context, path string, v any) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, n.addr+path, nil)
	if err != nil {
		return err
	}
	resp, err := n.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// readPhases reads an allocation's timestamps from Nomad, and its container's from Docker,
// relative to t0. It must run while the allocation runs: Nomad forgets it once its job is
// purged.
func readPhases(ctx context.Context, napi nomadHTTP, allocID string, t0 time.Time) (nomadPhases, error) {
	var a nomadAlloc
	if err := napi.get(ctx, "/v1/allocation/"+url.PathEscape(allocID), &a); err != nil {
		return nomadPhases{}, fmt.Errorf("read allocation %s: %w", allocID, err)
	}
	since := func(t time.Time) float64 { return msOf(t.Sub(t0)) }
	nano := func(unixNano int64) float64 { return since(time.Unix(0, unixNano)) }
	ph := nomadPhases{Placed: nano(a.CreateTime), Reported: nano(a.ModifyTime)}
	if a.Job != nil {
		ph.Registered = nano(a.Job.SubmitTime)
	}
	task := ""
	for name, ts := range a.TaskStates { // the job has one task
		task = name
		for _, ev := range ts.Events {
			switch ev.Type {
			case "Received":
				ph.Received = nano(ev.Time)
			case "Started":
				ph.Started = nano(ev.Time)
			}
		}
	}
	// Nomad's docker driver names a task's container "<task>-<allocation id>".
	out, err := exec.CommandContext(ctx, "docker", "inspect", "--format", "{{.Created}} {{.State.StartedAt}}", task+"-"+allocID).Output()
	if err != nil {
		return nomadPhases{}, fmt.Errorf("docker inspect the container of allocation %s: %w", allocID, err)
	}
	f := strings.Fields(string(out))
	if len(f) != 2 {
		return nomadPhases{}, fmt.Errorf("docker inspect the container of allocation %s: %q", allocID, out)
	}
	for i, dst := range []*float64{&ph.Created, &ph.ContainerStarted} {
		t, err := time.Parse(time.RFC3339Nano, f[i])
		if err != nil {
			return nomadPhases{}, fmt.Errorf("docker inspect the container of allocation %s: %w", allocID, err)
		}
		*dst = since(t)
	}
	return ph, nil
}

func msOf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// phaseSteps are the steps of a cold start on Nomad, each the time between two marks.
var phaseSteps = []struct {
	name string
	of   func(p nomadPhases) float64
}{
	{"register", func(p nomadPhases) float64 { return p.Registered }},
	{"evaluate+place", func(p nomadPhases) float64 { return p.Placed - p.Registered }},
	{"to the client", func(p nomadPhases) float64 { return p.Received - p.Placed }},
	{"client prepares", func(p nomadPhases) float64 { return p.Created - p.Received }},
	{"docker create+start", func(p nomadPhases) float64 { return p.ContainerStarted - p.Created }},
	{"client after start", func(p nomadPhases) float64 { return p.Started - p.ContainerStarted }},
	{"report wait", func(p nomadPhases) float64 { return p.Reported - p.Started }},
	{"ready+call", func(p nomadPhases) float64 { return p.Answered - p.Reported }},
}

// medianOf is the median of a figure over a side's samples.
func medianOf(ps []nomadPhases, of func(nomadPhases) float64) float64 {
	if len(ps) == 0 {
		return 0
	}
	v := make([]float64, len(ps))
	for i, p := range ps {
		v[i] = of(p)
	}
	sort.Float64s(v)
	return v[len(v)/2]
}

// endReports follows Nomad's event stream of allocations and remembers when each one's client
// reported that it ended: the allocation's ModifyTime in the first event that shows it terminal
// (the servers stamp every client report as it arrives). Events, unlike a blocking query's
// answer, show every state an allocation went through: the job is purged a few ms after the
// report, and a query answered after the purge would not show the allocation at all.
type endReports struct {
	mu    sync.Mutex
	ended map[string]time.Time
	err   error // why the stream ended early
	done  chan struct{}
}

// followEndReports subscribes to the stream; it ends with ctx, and then closes done.
func followEndReports(ctx context.Context, napi nomadHTTP) (*endReports, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, napi.addr+"/v1/event/stream?topic=Allocation", nil)
	if err != nil {
		return nil, err
	}
	resp, err := napi.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("nomad event stream: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("nomad event stream: %s", resp.Status)
	}
	r := &endReports{ended: map[string]time.Time{}, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		defer resp.Body.Close()
		// One JSON object per index with its events; "{}" as a heartbeat.
		dec := json.NewDecoder(resp.Body)
		for {
			var frame struct {
				Events []struct {
					Payload struct{ Allocation *nomadAlloc }
				}
			}
			if err := dec.Decode(&frame); err != nil {
				if ctx.Err() == nil {
					r.mu.Lock()
					r.err = err
					r.mu.Unlock()
				}
				return
			}
			r.mu.Lock()
			for _, ev := range frame.Events {
				a := ev.Payload.Allocation
				if a == nil {
					continue
				}
				if _, seen := r.ended[a.ID]; !seen && a.terminal() {
					r.ended[a.ID] = time.Unix(0, a.ModifyTime)
				}
			}
			r.mu.Unlock()
		}
	}()
	return r, nil
}

// endedAt waits until the report that an allocation ended is known.
func (r *endReports) endedAt(ctx context.Context, allocID string) (time.Time, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		r.mu.Lock()
		t, ok := r.ended[allocID]
		err := r.err
		r.mu.Unlock()
		switch {
		case ok:
			return t, nil
		case err != nil:
			return time.Time{}, fmt.Errorf("nomad event stream: %w", err)
		case time.Now().After(deadline):
			return time.Time{}, fmt.Errorf("no report of allocation %s ending seen within 10 s", allocID)
		}
		if err := sleep(ctx, 2*time.Millisecond); err != nil {
			return time.Time{}, err
		}
	}
}
