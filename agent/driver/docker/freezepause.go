package docker

import (
	"context"

	"github.com/docker/docker/api/types/container"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
)

// The driver's side of the freezer (freezer.go): Pause, Resume, Stop, Inspect and List try it
// first and fall back to Docker's API whenever it does not apply or fails, so that the
// behaviour without it is exactly the one before it.

// freezePause pauses instance id through its cgroup freezer. done is false when the freezer
// does not apply (the container is not running, Docker paused it, its cgroup cannot be used
// from here) or failed: the caller then pauses through Docker, which also reports the errors
// it always did. err is only for an answer final either way (the container does not exist).
func (d *Driver) freezePause(ctx context.Context, id string) (done bool, err error) {
	if !d.frz.usable() {
		return false, nil
	}
	octx, cancel := d.opCtx(ctx)
	info, err := d.api.ContainerInspect(octx, containerName(id))
	cancel()
	if err != nil {
		if isNotFound(err) {
			return true, d.wrapErr(ctx, err, driver.ErrInstanceNotFound, "pause %s", id)
		}
		return false, nil
	}
	if !runningPerDocker(info) {
		return false, nil
	}
	dir, err := d.frz.dirOf(info.ID, info.State.Pid)
	if err != nil {
		d.cfg.Logger.Debug("pausing through Docker: no cgroup freezer", "instance", id, "error", err)
		return false, nil
	}
	if err := d.frz.freeze(ctx, dir); err != nil {
		d.frz.refused(err)
		if ctx.Err() != nil {
			return true, d.wrapErr(ctx, err, nil, "pause %s", id)
		}
		d.cfg.Logger.Warn("pausing through Docker: cgroup freeze failed", "instance", id, "error", err)
		return false, nil
	}
	d.frz.markFrozen(id, info.ID)
	return true, nil
}

// thawResume resumes instance id through its cgroup freezer: at once when this driver froze it,
// else after an inspect (a freeze by an earlier run of the driver). done is false when the
// freezer does not apply (Docker paused it, it is not frozen, no freezer) or failed: the caller
// then resumes through Docker.
func (d *Driver) thawResume(ctx context.Context, id string) (done bool, err error) {
	if !d.frz.usable() {
		return false, nil
	}
	if dir, ok := d.frz.frozenDir(id); ok && dir != "" {
		if err := d.frz.thaw(dir); err == nil {
			d.frz.unmarkFrozen(id)
			return true, nil
		}
		// Its cgroup is gone or refused the write: look the container up again.
		d.frz.forget(id, "")
	}
	octx, cancel := d.opCtx(ctx)
	info, err := d.api.ContainerInspect(octx, containerName(id))
	cancel()
	if err != nil {
		if isNotFound(err) {
			return true, d.wrapErr(ctx, err, driver.ErrInstanceNotFound, "resume %s", id)
		}
		return false, nil
	}
	dir, frozen := d.frozenByUs(info)
	if !frozen {
		return false, nil
	}
	if err := d.frz.thaw(dir); err != nil {
		d.frz.refused(err)
		d.cfg.Logger.Warn("resuming through Docker: cgroup thaw failed", "instance", id, "error", err)
		return false, nil
	}
	d.frz.unmarkFrozen(id)
	return true, nil
}

// frozenByUs reports whether the container of info is frozen through its cgroup freezer while
// Docker believes it runs (a freeze Docker did not make), and its cgroup directory. A container
// Docker paused is not: it is resumed, and reported, the way Docker knows it.
func (d *Driver) frozenByUs(info container.InspectResponse) (string, bool) {
	if d.frz == nil || !runningPerDocker(info) {
		return "", false
	}
	dir, err := d.frz.dirOf(info.ID, info.State.Pid)
	if err != nil {
		return "", false
	}
	frozen, err := d.frz.isFrozen(dir)
	return dir, err == nil && frozen
}

// runningPerDocker reports whether Docker believes the container runs (and has not paused it).
func runningPerDocker(info container.InspectResponse) bool {
	return info.ContainerJSONBase != nil && info.State != nil && info.State.Status == container.StateRunning && !info.State.Paused
}

// thawForStop thaws a container frozen through the freezer before it is stopped: a frozen task
// cannot act on SIGTERM (and on cgroup v1 not even die of SIGKILL until thawed). A failure is
// logged: the stop goes on, and Docker's kill reports what is wrong.
func (d *Driver) thawForStop(id string, info container.InspectResponse) {
	dir, frozen := d.frozenByUs(info)
	d.frz.forget(id, info.ID)
	if !frozen {
		return
	}
	if err := d.frz.thaw(dir); err != nil {
		d.cfg.Logger.Warn("cannot thaw a frozen container before stopping it", "instance", id, "error", err)
	}
}

// pausedByFreezer corrects a status built from Docker's inspect: a running container frozen
// through the freezer is paused.
func (d *Driver) pausedByFreezer(st *instance.Status, info container.InspectResponse) {
	if st.State != instance.StateRunning {
		return
	}
	if _, frozen := d.frozenByUs(info); frozen {
		st.State = instance.StatePaused
	}
}

// pausedInList corrects List's statuses the same way. The list API carries no PID: the cgroup
// directory comes from the cache or Docker's default places (no Docker call), and only for a
// container in neither from one inspect, whose answer is cached for the next List.
func (d *Driver) pausedInList(ctx context.Context, list []instance.Status) {
	if d.frz == nil {
		return
	}
	live := make(map[string]bool, len(list))
	for i := range list {
		st := &list[i]
		cid := st.Instance.DriverRef
		live[cid] = true
		if st.State != instance.StateRunning {
			continue
		}
		dir, known := d.frz.guessDir(cid)
		if !known {
			octx, cancel := d.opCtx(ctx)
			info, err := d.api.ContainerInspect(octx, cid)
			cancel()
			if err != nil || info.ContainerJSONBase == nil || info.State == nil {
				continue
			}
			dir, _ = d.frz.dirOf(cid, info.State.Pid)
		}
		if dir == "" {
			continue
		}
		if frozen, err := d.frz.isFrozen(dir); err == nil && frozen {
			st.State = instance.StatePaused
		}
	}
	d.frz.prune(live)
}

// UsesFreezer reports whether the driver pauses and resumes through the cgroup freezer (else
// through Docker's API only), for reports such as the bench's.
func (d *Driver) UsesFreezer() bool { return d.frz.usable() }
