package nomad

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/hashicorp/nomad/api"
)

// This file holds the watcher: two loops of blocking queries, one on the list of hearth's jobs
// and one on their allocations, that keep the view (view.go) current. A blocking query returns
// as soon as Nomad's index for that list moves past the one the loop last saw, so an instance
// that fails or is killed shows in List (and as an event to Watch, events.go) within one round
// trip, and a quiet cluster costs one request per list every WaitTime, whatever the number of
// instances or watchers.

// Backoff between failed queries of the watcher.
const (
	minBackoff = 200 * time.Millisecond
	maxBackoff = 10 * time.Second
)

// allocFilter selects the allocations of jobs named like hearth's (a bexpr filter, evaluated by
// the server). Ownership is then read from the job's meta.
var allocFilter = `JobID matches "^` + jobPrefix + `"`

// watch runs both loops until ctx ends.
func (d *Driver) watch(ctx context.Context) {
	defer close(d.watchDone)
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.watchLoop(ctx, "jobs", func(ctx context.Context, index uint64) (uint64, error) {
			jobs, at, err := d.fetchJobs(ctx, jobPrefix, index)
			if err == nil {
				d.view.setJobs(jobs, at)
			}
			return at, err
		}, func(err error) { d.view.unsynced(true, err) })
	}()
	d.watchLoop(ctx, "allocations", func(ctx context.Context, index uint64) (uint64, error) {
		allocs, at, err := d.fetchAllocs(ctx, allocFilter, index)
		if err == nil {
			d.view.setAllocs(allocs, at)
		}
		return at, err
	}, func(err error) { d.view.unsynced(false, err) })
	<-done
}

// watchLoop calls fetch with the index of its last answer until ctx ends. After a failure it
// marks its list stale (unsynced), waits (doubling, up to maxBackoff) and starts over from a
// full listing. The first failure in a row is a warning, the next ones are debug.
func (d *Driver) watchLoop(ctx context.Context, what string, fetch func(context.Context, uint64) (uint64, error), unsynced func(error)) {
	var index uint64
	backoff, failing := minBackoff, false
	for ctx.Err() == nil {
		at, err := fetch(ctx, index)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			unsynced(err)
			level := slog.LevelWarn
			if failing {
				level = slog.LevelDebug
			}
			d.cfg.Logger.Log(ctx, level, "watching Nomad failed; listing again", "list", what, "error", err, "retry_in", backoff)
			failing = true
			index = 0
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, maxBackoff)
			continue
		}
		if failing {
			d.cfg.Logger.Info("watching Nomad again", "list", what)
		}
		backoff, failing = minBackoff, false
		switch {
		case at < index:
			// The index went backwards (a cluster restored from a snapshot, or a new one at the
			// same address): Nomad's advice is to start over.
			index = 0
		case at == 0:
			index = 1 // an index of 0 would not block: the next query would spin
		default:
			index = at
		}
	}
}

// queryOpts are the options of one list query: blocking when index > 0, with a bound on the
// whole request that outlasts the server's wait (plus its jitter of up to WaitTime/16).
func (d *Driver) queryOpts(ctx context.Context, index uint64) (*api.QueryOptions, context.CancelFunc) {
	timeout := d.cfg.OpTimeout
	q := &api.QueryOptions{}
	if index > 0 {
		q.WaitIndex, q.WaitTime = index, d.cfg.WaitTime
		timeout += d.cfg.WaitTime + d.cfg.WaitTime/16
	}
	qctx, cancel := context.WithTimeout(ctx, timeout)
	return q.WithContext(qctx), cancel
}

// fetchJobs lists the jobs whose ID starts with prefix, with their meta, and the index of the
// answer. It blocks until the jobs change when index > 0.
func (d *Driver) fetchJobs(ctx context.Context, prefix string, index uint64) ([]jobEntry, uint64, error) {
	q, cancel := d.queryOpts(ctx, index)
	defer cancel()
	q.Prefix = prefix
	stubs, qm, err := d.api.Jobs().ListOptions(&api.JobListOptions{Fields: &api.JobListFields{Meta: true}}, q)
	if err != nil {
		return nil, 0, d.wrapErr(ctx, err, nil, "list jobs")
	}
	jobs := make([]jobEntry, 0, len(stubs))
	for _, s := range stubs {
		jobs = append(jobs, jobFromStub(s))
	}
	return jobs, qm.LastIndex, nil
}

// fetchAllocs lists the allocations that filter selects, with their resources (for the
// endpoint) and task states (for exit codes), and the index of the answer. It blocks until the
// allocations change when index > 0.
func (d *Driver) fetchAllocs(ctx context.Context, filter string, index uint64) ([]*api.AllocationListStub, uint64, error) {
	q, cancel := d.queryOpts(ctx, index)
	defer cancel()
	q.Filter = filter
	q.Params = map[string]string{"resources": "true", "task_states": "true"}
	allocs, qm, err := d.api.Allocations().List(q)
	if err != nil {
		return nil, 0, d.wrapErr(ctx, err, nil, "list allocations")
	}
	return allocs, qm.LastIndex, nil
}

// fetchInstance asks Nomad directly for one instance's job and allocations: what Inspect, Stop
// and Logs do when the view does not know the instance. A missing job, or one not hearth's, is
// found false.
func (d *Driver) fetchInstance(ctx context.Context, id string) (jobEntry, *api.AllocationListStub, bool, error) {
	q, cancel := d.queryOpts(ctx, 0)
	job, _, err := d.api.Jobs().Info(jobID(id), q)
	cancel()
	if statusCode(err) == 404 {
		return jobEntry{}, nil, false, nil
	}
	if err != nil {
		return jobEntry{}, nil, false, d.wrapErr(ctx, err, nil, "read job %s", jobID(id))
	}
	j := jobFromJob(job)
	if !j.owned() {
		return jobEntry{}, nil, false, nil
	}
	allocs, _, err := d.fetchAllocs(ctx, "JobID == "+strconv.Quote(j.ID), 0)
	if err != nil {
		return jobEntry{}, nil, false, err
	}
	return j, instanceAlloc(j, allocs), true, nil
}
