package daemon_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/hearthfn/hearth/agent/daemon"
	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/agent/remote"
)

// watchingAgent is a fakeAgent whose engine reports its changes as events, as the Docker driver
// does: what the server asks for makes the events Docker would make, and the test adds others
// (engine) as if made behind hearth's back. An event with InstanceID "break" breaks the stream.
type watchingAgent struct {
	*fakeAgent
	engine      chan instance.Event
	unsupported bool
	watches     atomic.Int32 // WatchInstances calls
	lists       atomic.Int32 // Instances calls
}

func newWatchingAgent() *watchingAgent {
	return &watchingAgent{fakeAgent: newFakeAgent(), engine: make(chan instance.Event, 100)}
}

func (w *watchingAgent) WatchInstances(ctx context.Context, fn func(instance.Event)) error {
	if w.unsupported {
		return fmt.Errorf("watch: %w", driver.ErrNotSupported)
	}
	w.watches.Add(1)
	fn(instance.Event{Resync: true})
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev := <-w.engine:
			if ev.InstanceID == "break" {
				return errors.New("event stream broke")
			}
			if ev.InstanceID == "engine-gone" {
				return fmt.Errorf("events: %w", driver.ErrUnavailable)
			}
			fn(ev)
		}
	}
}

func (w *watchingAgent) emit(id string, state instance.State, gone bool, exit int) {
	w.engine <- instance.Event{InstanceID: id, Function: "fn", State: state, Gone: gone, ExitCode: exit}
}

func (w *watchingAgent) StartInstance(ctx context.Context, spec instance.Spec) (instance.Instance, error) {
	in, err := w.fakeAgent.StartInstance(ctx, spec)
	w.emit(spec.ID, instance.StateRunning, false, 0)
	return in, err
}

func (w *watchingAgent) PauseInstance(ctx context.Context, id string) error {
	err := w.fakeAgent.PauseInstance(ctx, id)
	w.emit(id, instance.StatePaused, false, 0)
	return err
}

func (w *watchingAgent) ResumeInstance(ctx context.Context, id string) error {
	err := w.fakeAgent.ResumeInstance(ctx, id)
	w.emit(id, instance.StateRunning, false, 0)
	return err
}

// StopInstance makes what Docker reports of stopping a paused container: its thaw, its exit and
// its removal.
func (w *watchingAgent) StopInstance(ctx context.Context, id string) error {
	err := w.fakeAgent.StopInstance(ctx, id)
	w.emit(id, instance.StateRunning, false, 0)
	w.emit(id, instance.StateExited, false, 143)
	w.emit(id, instance.StateExited, true, 143)
	return err
}

func (w *watchingAgent) Instances(ctx context.Context) ([]instance.Status, error) {
	w.lists.Add(1)
	return w.fakeAgent.Instances(ctx)
}

// nextEvent returns the next event message.
func (s *clusterServer) nextEvent(t *testing.T) remote.Event {
	t.Helper()
	return *s.next(t, remote.TypeEvent).Event
}

// TestEventsFollowedNotPolled runs the agent on a node that reports its changes: the server
// hears a resync first, then only the changes it did not ask for, a new resync after the stream
// broke, and the agent never lists the node.
func TestEventsFollowedNotPolled(t *testing.T) {
	s := newClusterServer(t)
	cfg := config(t, s, filepath.Join(t.TempDir(), "agent"))
	cred, err := daemon.Join(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	wa := newWatchingAgent()
	wa.id = cred.NodeID
	wa.set("i1", instance.StateRunning, 0)
	wa.set("i2", instance.StateRunning, 0)
	cfg.Agent = wa
	stop, _ := run(t, cfg, cred)
	ss := s.session(t)

	if ev := s.nextEvent(t); !ev.IsResync() || ev.Reason != remote.ReasonResync {
		t.Fatalf("first event %+v, want a resync", ev)
	}
	// What the server asks for is no news: none of these events reaches it...
	ctx := context.Background()
	if _, err := ss.client.StartInstance(ctx, instance.Spec{ID: "i3"}); err != nil {
		t.Fatal(err)
	}
	if err := ss.client.PauseInstance(ctx, "i3"); err != nil {
		t.Fatal(err)
	}
	if err := ss.client.ResumeInstance(ctx, "i3"); err != nil {
		t.Fatal(err)
	}
	if err := ss.client.StopInstance(ctx, "i1"); err != nil {
		t.Fatal(err)
	}
	// ...so the next one the server hears is the crash behind its back, in order.
	wa.emit("i2", instance.StateExited, false, 137)
	if ev := s.nextEvent(t); ev.InstanceID != "i2" || ev.State != instance.StateExited || ev.ExitCode != 137 || ev.Gone || ev.Function != "fn" {
		t.Errorf("event %+v, want i2 exited 137", ev)
	}
	wa.emit("i3", instance.StatePaused, false, 0)
	if ev := s.nextEvent(t); ev.InstanceID != "i3" || ev.State != instance.StatePaused {
		t.Errorf("event %+v, want i3 paused (behind the server's back)", ev)
	}

	// A broken stream is watched again, with a new resync for the server.
	wa.engine <- instance.Event{InstanceID: "break"}
	if ev := s.nextEvent(t); !ev.IsResync() {
		t.Errorf("event %+v, want a resync after the stream broke", ev)
	}
	wa.emit("i2", instance.StateExited, true, 137)
	if ev := s.nextEvent(t); ev.InstanceID != "i2" || !ev.Gone || !ev.InstanceEvent().Gone {
		t.Errorf("event %+v, want i2 gone", ev)
	}

	// An engine that cannot be reached is news for the server, which lists the node on no
	// timer: an unavailable event, then the resync of the watch that works again.
	wa.engine <- instance.Event{InstanceID: "engine-gone"}
	if ev := s.nextEvent(t); !ev.IsUnavailable() {
		t.Errorf("event %+v, want unavailable", ev)
	}
	if ev := s.nextEvent(t); !ev.IsResync() {
		t.Errorf("event %+v, want a resync once the engine answers again", ev)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if n := wa.watches.Load(); n != 3 {
		t.Errorf("%d watches, want 3", n)
	}
	if n := wa.lists.Load(); n != 0 {
		t.Errorf("the agent listed its instances %d times while it could follow their events", n)
	}
}

// TestEventsUnsupportedPolls runs the agent on a node whose driver cannot watch after all: it
// lists the instances as before, and sends no resync.
func TestEventsUnsupportedPolls(t *testing.T) {
	s := newClusterServer(t)
	cfg := config(t, s, filepath.Join(t.TempDir(), "agent"))
	cred, err := daemon.Join(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	wa := newWatchingAgent()
	wa.unsupported = true
	wa.id = cred.NodeID
	wa.set("i1", instance.StateRunning, 0)
	cfg.Agent = wa
	stop, _ := run(t, cfg, cred)
	s.session(t)
	for wa.lists.Load() < 2 { // the baseline and one more: the diff runs
		s.next(t, remote.TypeHeartbeat)
	}
	wa.set("i1", instance.StateExited, 1)
	if ev := s.nextEvent(t); ev.IsResync() || ev.InstanceID != "i1" || ev.State != instance.StateExited || ev.ExitCode != 1 {
		t.Errorf("event %+v, want i1 exited 1, found by a listing", ev)
	}
	wa.remove("i1")
	if ev := s.nextEvent(t); ev.InstanceID != "i1" || ev.Reason != remote.ReasonGone || !ev.Gone {
		t.Errorf("event %+v, want i1 gone", ev)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}
