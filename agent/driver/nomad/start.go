package nomad

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
)

// Start registers the job "hearth-<id>" (see jobFor) and waits, with blocking queries, until
// its allocation runs: its endpoint is the allocation's host address and mapped port. It does
// not wait for readiness, nor for any deployment (the job has none). On any failure it
// deregisters and purges the job again, so nothing is left behind:
//   - Nomad cannot place it (no node with the memory or CPU, none with Docker, a constraint):
//     ErrNoCapacity with Nomad's reason, as soon as the evaluation says so;
//   - its client cannot pull the image: ErrImageNotFound;
//   - the task fails to start or exits before it is seen running: its reason and exit code;
//   - ctx ends first: ctx's error.
func (d *Driver) Start(ctx context.Context, spec instance.Spec) (instance.Instance, error) {
	if err := d.checkImage(spec.Image); err != nil {
		return instance.Instance{}, fmt.Errorf("start %s: %w", spec.ID, err)
	}
	ratio, err := d.cpuRatio(ctx)
	if err != nil {
		return instance.Instance{}, fmt.Errorf("start %s: %w", spec.ID, err)
	}
	job, err := jobFor(spec, jobParams{datacenters: d.cfg.Datacenters, mhzPerCore: ratio, killTimeout: d.cfg.KillTimeout,
		auth: d.registryAuth()})
	if err != nil {
		return instance.Instance{}, fmt.Errorf("start %s: %w", spec.ID, err)
	}
	id := *job.ID
	octx, cancel := d.opCtx(ctx)
	// EnforceIndex with index 0: register only if no job of that name exists, never replace one.
	resp, _, err := d.api.Jobs().RegisterOpts(job, &api.RegisterOptions{EnforceIndex: true}, d.writeOpts(octx))
	cancel()
	if err != nil {
		err = d.wrapErr(ctx, err, nil, "start %s: register job %s", spec.ID, id)
		if ctx.Err() != nil || errors.Is(err, driver.ErrUnavailable) {
			// The register may have reached Nomad before the answer was lost.
			d.purgeQuietly(ctx, id)
		}
		return instance.Instance{}, err
	}
	if resp.Warnings != "" {
		d.cfg.Logger.Warn("Nomad warned about a job", "instance", spec.ID, "job", id, "warnings", resp.Warnings)
	}
	inst, err := d.waitRunning(ctx, spec.ID, resp)
	if err != nil {
		d.purgeQuietly(ctx, id)
		return instance.Instance{}, fmt.Errorf("start %s: %w", spec.ID, err)
	}
	return inst, nil
}

// waitRunning waits for the evaluation of a registered job, then for its allocation to run.
func (d *Driver) waitRunning(ctx context.Context, id string, reg *api.JobRegisterResponse) (instance.Instance, error) {
	if err := d.waitPlaced(ctx, reg.EvalID, reg.EvalCreateIndex); err != nil {
		return instance.Instance{}, err
	}
	jid := jobID(id)
	var index uint64
	for {
		q, cancel := d.queryOpts(ctx, index)
		allocs, qm, err := d.api.Jobs().Allocations(jid, true, q)
		cancel()
		if err != nil {
			return instance.Instance{}, d.wrapErr(ctx, err, nil, "wait for the allocation of job %s", jid)
		}
		// The allocation made for this registration: none older (of an earlier job of the name).
		a := instanceAlloc(jobEntry{ID: jid, CreateIndex: reg.JobModifyIndex}, allocs)
		switch {
		case a == nil || a.ClientStatus == api.AllocClientStatusPending:
			index = max(qm.LastIndex, 1)
			continue
		case a.ClientStatus == api.AllocClientStatusRunning:
			return d.running(ctx, id, reg.JobModifyIndex, a.ID)
		}
		return instance.Instance{}, allocFailure(a)
	}
}

// waitPlaced waits until Nomad has processed the registration's evaluation, and fails with
// ErrNoCapacity when it could not place the allocation.
func (d *Driver) waitPlaced(ctx context.Context, evalID string, index uint64) error {
	if evalID == "" {
		return nil // Nomad made no evaluation; the allocation wait will tell
	}
	for {
		q, cancel := d.queryOpts(ctx, index)
		ev, qm, err := d.api.Evaluations().Info(evalID, q)
		cancel()
		if err != nil {
			return d.wrapErr(ctx, err, nil, "wait for evaluation %s", evalID)
		}
		switch ev.Status {
		case api.EvalStatusPending, api.EvalStatusBlocked:
			index = max(qm.LastIndex, index, 1)
			continue
		case api.EvalStatusComplete:
			if m := ev.FailedTGAllocs[taskName]; m != nil {
				return fmt.Errorf("no node can take it: %s: %w", placementFailure(m), driver.ErrNoCapacity)
			}
			return nil
		}
		return fmt.Errorf("evaluation %s of the job ended %s: %s", evalID, ev.Status, ev.StatusDescription)
	}
}

// placementFailure says, in Nomad's terms, why no node took an allocation.
func placementFailure(m *api.AllocationMetric) string {
	var parts []string
	available := 0
	for _, n := range m.NodesAvailable {
		available += n
	}
	if m.NodesEvaluated == 0 || (available == 0 && len(m.NodesAvailable) > 0) {
		parts = append(parts, "no node in the job's datacenters and node pool")
	}
	for _, k := range slices.Sorted(maps.Keys(m.ClassFiltered)) {
		parts = append(parts, fmt.Sprintf("class %q filtered %s", k, nodes(m.ClassFiltered[k])))
	}
	for _, k := range slices.Sorted(maps.Keys(m.ConstraintFiltered)) {
		parts = append(parts, fmt.Sprintf("constraint %q filtered %s", k, nodes(m.ConstraintFiltered[k])))
	}
	for _, k := range slices.Sorted(maps.Keys(m.DimensionExhausted)) {
		parts = append(parts, fmt.Sprintf("dimension %q exhausted on %s", k, nodes(m.DimensionExhausted[k])))
	}
	for _, q := range m.QuotaExhausted {
		parts = append(parts, fmt.Sprintf("quota exhausted: %s", q))
	}
	if len(parts) == 0 {
		parts = append(parts, fmt.Sprintf("%s evaluated, %d filtered, %d exhausted", nodes(m.NodesEvaluated), m.NodesFiltered, m.NodesExhausted))
	}
	return strings.Join(parts, "; ")
}

func nodes(n int) string {
	if n == 1 {
		return "1 node"
	}
	return fmt.Sprintf("%d nodes", n)
}

// allocFailure explains an allocation that ended before it was seen running. A pull that
// failed is ErrImageNotFound: Nomad's docker driver reports it as "Failed to pull `ref`: ...".
func allocFailure(a *api.AllocationListStub) error {
	code, oom, reason := exitOf(a)
	where := ""
	if a.NodeName != "" {
		where = " on node " + a.NodeName
	}
	if strings.Contains(reason, "Failed to pull") {
		return fmt.Errorf("the Nomad client%s cannot pull the image (%s): deploy the function again (hearth deploy) to push it to the registry: %w",
			where, reason, driver.ErrImageNotFound)
	}
	switch {
	case oom:
		return fmt.Errorf("allocation %s%s was killed: out of memory", a.ID, where)
	case code != 0:
		return fmt.Errorf("allocation %s%s %s: the task exited with code %d: %s", a.ID, where, a.ClientStatus, code, reason)
	}
	return fmt.Errorf("allocation %s%s %s: %s", a.ID, where, a.ClientStatus, reason)
}

// running reads a running allocation in full and records the instance in the view.
func (d *Driver) running(ctx context.Context, id string, jobIndex uint64, allocID string) (instance.Instance, error) {
	q, cancel := d.queryOpts(ctx, 0)
	full, _, err := d.api.Allocations().Info(allocID, q)
	cancel()
	if err != nil {
		return instance.Instance{}, d.wrapErr(ctx, err, nil, "read allocation %s", allocID)
	}
	a := stubOf(full)
	j := jobEntry{ID: jobID(id), CreateIndex: jobIndex, ModifyIndex: jobIndex}
	if full.Job != nil {
		j = jobFromJob(full.Job)
	}
	st := statusOf(j, a)
	if st.Instance.Endpoint == "" {
		return instance.Instance{}, fmt.Errorf("allocation %s runs but has no %q port", allocID, portLabel)
	}
	d.view.started(j, a)
	st.Instance.ID = id
	return st.Instance, nil
}

// Stop stops the instance's job, waits until its allocation has stopped, and purges the job, so
// that Nomad forgets it at once. The wait is bounded by Config.KillTimeout (which Nomad fixed
// when it registered the job: grace cannot change it, and only lengthens the bound) plus
// OpTimeout; after it the job is purged anyway. The order matters: once a job is purged, Nomad's
// servers forget its allocations too, and their end can no longer be seen. A job not hearth's
// is ErrInstanceNotFound, never stopped.
func (d *Driver) Stop(ctx context.Context, id string, grace time.Duration) error {
	j, a, err := d.instance(ctx, id)
	if err != nil {
		return fmt.Errorf("stop %s: %w", id, err)
	}
	stopped := false
	if a != nil && !terminal(a) {
		octx, cancel := d.opCtx(ctx)
		evalID, _, err := d.api.Jobs().Deregister(j.ID, false, d.writeOpts(octx))
		cancel()
		if err != nil {
			return d.wrapErr(ctx, err, driver.ErrInstanceNotFound, "stop %s", id)
		}
		stopped = evalID != ""
		wctx, cancel := context.WithTimeout(ctx, max(grace, d.cfg.KillTimeout)+d.cfg.OpTimeout)
		// From the allocation's last index the driver knows: the query answers at its next change.
		err = d.waitStopped(wctx, a.ID, a.ModifyIndex)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("stop %s: %w", id, ctx.Err())
			}
			d.cfg.Logger.Warn("the allocation of a stopped job did not stop in time; purging the job anyway",
				"instance", id, "allocation", a.ID, "error", err)
		}
	}
	octx, cancel := d.opCtx(ctx)
	evalID, wm, err := d.api.Jobs().Deregister(j.ID, true, d.writeOpts(octx))
	cancel()
	if err != nil {
		return d.wrapErr(ctx, err, driver.ErrInstanceNotFound, "stop %s: purge", id)
	}
	if evalID == "" && !stopped {
		// Nomad had no such job any more: a concurrent Stop purged it.
		return fmt.Errorf("stop %s: %w", id, driver.ErrInstanceNotFound)
	}
	d.view.purged(j.ID, wm.LastIndex)
	return nil
}

// waitStopped blocks until an allocation is terminal (or gone) or ctx ends.
func (d *Driver) waitStopped(ctx context.Context, allocID string, index uint64) error {
	for {
		q, cancel := d.queryOpts(ctx, index)
		a, qm, err := d.api.Allocations().Info(allocID, q)
		cancel()
		if statusCode(err) == 404 {
			return nil
		}
		if err != nil {
			return d.wrapErr(ctx, err, nil, "wait for allocation %s to stop", allocID)
		}
		if terminal(stubOf(a)) {
			return nil
		}
		index = max(qm.LastIndex, index, 1)
	}
}

// purgeQuietly deregisters and purges a job that must not be left behind, on a ctx of its own:
// the caller's may be what just ended. Failures are logged: the node's reconciliation removes
// whatever carries its label at the next start.
func (d *Driver) purgeQuietly(ctx context.Context, id string) {
	pctx, cancel := d.opCtx(context.WithoutCancel(ctx))
	defer cancel()
	evalID, wm, err := d.api.Jobs().Deregister(id, true, d.writeOpts(pctx))
	if err != nil {
		d.cfg.Logger.Warn("cannot purge the job of a failed start", "job", id, "error", err)
		return
	}
	if evalID != "" {
		d.view.purged(id, wm.LastIndex)
	}
}
