package docker

import (
	"context"
	"errors"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/client"

	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
)

// eventsStub scripts Docker's event stream the way the client delivers it: the messages one at
// a time on an unbuffered channel, then the error that ended the stream. A nil script means
// the request itself failed with end.
type eventsStub struct {
	dockerAPI
	script []events.Message
	end    error
	opts   events.ListOptions
}

func (s *eventsStub) Events(ctx context.Context, opts events.ListOptions) (<-chan events.Message, <-chan error) {
	s.opts = opts
	msgs, errs := make(chan events.Message), make(chan error, 1)
	if s.script == nil {
		errs <- s.end // as the client does: on errs before the caller looks
		close(errs)
		return msgs, errs
	}
	go func() {
		defer close(errs)
		for _, m := range s.script {
			select {
			case msgs <- m:
			case <-ctx.Done():
				errs <- ctx.Err()
				return
			}
		}
		if s.end == nil {
			<-ctx.Done()
			errs <- ctx.Err()
			return
		}
		errs <- s.end
	}()
	return msgs, errs
}

// containerEvent is a Docker event of the container cid with the given labels.
func containerEvent(action events.Action, cid string, attrs map[string]string) events.Message {
	return events.Message{Type: events.ContainerEventType, Action: action, TimeNano: 1_700_000_000_123_456_789,
		Actor: events.Actor{ID: cid, Attributes: attrs}}
}

func TestWatchTranslatesEvents(t *testing.T) {
	inst := map[string]string{instance.LabelOwner: instance.OwnerValue, instance.LabelInstance: "a1",
		instance.LabelFunction: "hello", "image": "hello:abc", "name": "hearth-a1"}
	die := map[string]string{"exitCode": "137"}
	for k, v := range inst {
		die[k] = v
	}
	sandbox := map[string]string{instance.LabelOwner: instance.OwnerValue, labelSandbox: "a1", "name": "hearth-sb-a1"}
	api := &eventsStub{end: io.EOF, script: []events.Message{
		containerEvent(events.ActionStart, "c1", inst),
		containerEvent(events.ActionStart, "s1", sandbox), // a network sandbox: no instance
		{Type: events.ImageEventType, Action: events.ActionPull, Actor: events.Actor{ID: "hello:abc", Attributes: inst}},
		containerEvent(events.ActionPause, "c1", inst),
		containerEvent(events.ActionUnPause, "c1", inst),
		containerEvent(events.ActionOOM, "c1", inst),
		containerEvent(events.ActionKill, "c1", inst), // not asked for; ignored if it comes
		containerEvent(events.ActionDie, "c1", die),
		containerEvent(events.ActionDestroy, "c1", inst),
		containerEvent(events.ActionDie, "c2", map[string]string{instance.LabelOwner: instance.OwnerValue,
			instance.LabelInstance: "b2", "exitCode": "3"}),
	}}
	d := newStubbed(Config{}, api)
	var got []instance.Event
	before := time.Now()
	err := d.Watch(t.Context(), func(ev instance.Event) { got = append(got, ev) })
	if err == nil || errors.Is(err, driver.ErrUnavailable) {
		t.Errorf("Watch = %v, want a plain error for a stream the engine ended", err)
	}

	at := time.Unix(0, 1_700_000_000_123_456_789)
	want := []instance.Event{
		{Resync: true},
		{InstanceID: "a1", Function: "hello", State: instance.StateRunning, Reason: "start", Time: at},
		{InstanceID: "a1", Function: "hello", State: instance.StatePaused, Reason: "pause", Time: at},
		{InstanceID: "a1", Function: "hello", State: instance.StateRunning, Reason: "unpause", Time: at},
		{InstanceID: "a1", Function: "hello", State: instance.StateExited, ExitCode: 137, OOMKilled: true, Reason: "die", Time: at},
		{InstanceID: "a1", Function: "hello", State: instance.StateExited, Gone: true, Reason: "destroy", Time: at},
		{InstanceID: "b2", State: instance.StateExited, ExitCode: 3, Reason: "die", Time: at},
	}
	if !slices.Equal(got, want) {
		t.Errorf("events:\n got %+v\nwant %+v", got, want)
	}

	// The request asks for instance containers only, from a moment before it was made.
	f := api.opts.Filters
	if !f.ExactMatch("type", "container") || !f.ExactMatch("label", instance.LabelOwner+"="+instance.OwnerValue) ||
		!f.ExactMatch("label", instance.LabelInstance) {
		t.Errorf("filters %v do not select hearth's instance containers", f)
	}
	for _, a := range []string{"start", "die", "oom", "pause", "unpause", "destroy"} {
		if !f.ExactMatch("event", a) {
			t.Errorf("filters %v lack event=%s", f, a)
		}
	}
	since, err := time.Parse(time.RFC3339Nano, api.opts.Since)
	if err != nil || !since.Before(before) {
		t.Errorf("Since %q (%v) is not before the request (%v)", api.opts.Since, err, before)
	}
}

func TestWatchOOMWithoutDie(t *testing.T) {
	// An oom is remembered per container until its die or destroy: it marks no other
	// container's exit, and a destroyed container's is forgotten.
	var tr eventTranslator
	tr.oom = map[string]bool{}
	a := map[string]string{instance.LabelOwner: instance.OwnerValue, instance.LabelInstance: "a1", "exitCode": "1"}
	b := map[string]string{instance.LabelOwner: instance.OwnerValue, instance.LabelInstance: "b1", "exitCode": "1"}
	if _, ok := tr.translate(containerEvent(events.ActionOOM, "ca", a)); ok {
		t.Error("an oom event alone was reported")
	}
	if ev, _ := tr.translate(containerEvent(events.ActionDie, "cb", b)); ev.OOMKilled {
		t.Error("another container's oom marked b1's exit")
	}
	if ev, _ := tr.translate(containerEvent(events.ActionDestroy, "ca", a)); !ev.Gone || len(tr.oom) != 0 {
		t.Errorf("destroy: %+v, oom left %v", ev, tr.oom)
	}
}

func TestWatchUnreachable(t *testing.T) {
	api := &eventsStub{end: client.ErrorConnectionFailed("unix:///nonexistent/docker.sock")}
	d := newStubbed(Config{Host: "unix:///nonexistent/docker.sock"}, api)
	resynced := false
	err := d.Watch(t.Context(), func(instance.Event) { resynced = true })
	if !errors.Is(err, driver.ErrUnavailable) {
		t.Errorf("Watch = %v, want ErrUnavailable", err)
	}
	if resynced {
		t.Error("a Resync was sent for a stream that never opened")
	}
}

func TestWatchEndsWithCtx(t *testing.T) {
	inst := map[string]string{instance.LabelOwner: instance.OwnerValue, instance.LabelInstance: "a1"}
	api := &eventsStub{script: []events.Message{containerEvent(events.ActionPause, "c1", inst)}}
	d := newStubbed(Config{}, api)
	ctx, cancel := context.WithCancel(t.Context())
	var got []instance.Event
	err := d.Watch(ctx, func(ev instance.Event) {
		got = append(got, ev)
		if ev.State == instance.StatePaused {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Watch = %v, want context.Canceled", err)
	}
	if len(got) != 2 || !got[0].Resync {
		t.Errorf("events %+v, want the Resync and the pause", got)
	}
}

// TestWatchRealClientUnreachable runs the real client against no engine: the error must come
// back as ErrUnavailable, naming the host.
func TestWatchRealClientUnreachable(t *testing.T) {
	d, err := New(Config{Host: "unix:///nonexistent/docker.sock"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = d.Close() }()
	err = d.Watch(t.Context(), func(instance.Event) {})
	if !errors.Is(err, driver.ErrUnavailable) {
		t.Errorf("Watch = %v, want ErrUnavailable", err)
	}
}
