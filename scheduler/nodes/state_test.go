package nodes

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/hearthfn/hearth/agent"
	"github.com/hearthfn/hearth/agent/driver"
	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/agent/remote"
	"github.com/hearthfn/hearth/scheduler/store"
)

// gone is the "state" of a node that is not there.
const gone State = "(gone)"

// step is one thing that happens to a node, and what must follow.
type step struct {
	// op: join (an agent joins), connect (its session begins, with a hello), beat (a
	// heartbeat on the latest session), end (the latest session ends), end-old (the session
	// before it ends), wait (the clock moves by d, then the ticker runs), drain, undrain,
	// remove, restart (a new Manager on the same store), local (AddLocal).
	op   string
	node string
	d    time.Duration
	// want is the node's state after the step: gone for a node that is not there, "" for
	// no check.
	want State
	// calls are the pool calls the step makes, in order.
	calls []string
	// err is the error the step must fail with (drain, remove, connect).
	err error
}

func TestStateMachine(t *testing.T) {
	cases := []struct {
		name  string
		steps []step
	}{
		{"a joined node is disconnected until it connects, then ready while it beats", []step{
			{op: "join", node: "a", want: Disconnected},
			{op: "connect", node: "a", want: Ready, calls: []string{"add a role=web,zone=a"}},
			{op: "wait", d: 10 * time.Second, want: Ready},
			{op: "beat", node: "a", want: Ready},
			{op: "wait", d: 10 * time.Second, want: Ready},
			{op: "beat", node: "a", want: Ready},
			{op: "wait", d: 15 * time.Second, want: Ready},
		}},
		{"a session that ends is disconnected, then down after the timeout", []step{
			{op: "join", node: "a", want: Disconnected},
			{op: "connect", node: "a", want: Ready, calls: []string{"add a role=web,zone=a"}},
			{op: "end", node: "a", want: Disconnected, calls: []string{"disconnected a"}},
			{op: "wait", d: 14 * time.Second, want: Disconnected},
			{op: "wait", d: 2 * time.Second, want: Down, calls: []string{"lost a"}},
			{op: "wait", d: time.Hour, want: Down},
			{op: "connect", node: "a", want: Ready, calls: []string{"add a role=web,zone=a"}},
		}},
		{"a silent session is closed and the node is down", []step{
			{op: "join", node: "a"},
			{op: "connect", node: "a", want: Ready, calls: []string{"add a role=web,zone=a"}},
			{op: "wait", d: 16 * time.Second, want: Down, calls: []string{"lost a"}},
			{op: "end", node: "a", want: Down}, // its read loop ends after the close: nothing more
			{op: "beat", node: "a", want: Down},
		}},
		{"a node that never connects goes down without the pool hearing of it", []step{
			{op: "join", node: "a", want: Disconnected},
			{op: "wait", d: 16 * time.Second, want: Down},
			{op: "connect", node: "a", want: Ready, calls: []string{"add a role=web,zone=a"}},
		}},
		{"a second session replaces the first", []step{
			{op: "join", node: "a"},
			{op: "connect", node: "a", want: Ready, calls: []string{"add a role=web,zone=a"}},
			{op: "connect", node: "a", want: Ready, calls: []string{"add a role=web,zone=a"}},
			{op: "end-old", node: "a", want: Ready},
			{op: "end", node: "a", want: Disconnected, calls: []string{"disconnected a"}},
		}},
		{"drain is stored, survives a restart and is applied when the node connects", []step{
			{op: "join", node: "a"},
			{op: "connect", node: "a", want: Ready, calls: []string{"add a role=web,zone=a"}},
			{op: "drain", node: "a", want: Draining, calls: []string{"drain a true"}},
			{op: "drain", node: "a", want: Draining},
			{op: "end", node: "a", want: Disconnected, calls: []string{"disconnected a"}},
			{op: "restart", node: "a", want: Disconnected},
			{op: "connect", node: "a", want: Draining, calls: []string{"add a role=web,zone=a", "drain a true"}},
			{op: "undrain", node: "a", want: Ready, calls: []string{"drain a false"}},
			{op: "restart", node: "a", want: Disconnected},
			{op: "connect", node: "a", want: Ready, calls: []string{"add a role=web,zone=a"}},
		}},
		{"a node drained before it connects is told to the pool when it does", []step{
			{op: "join", node: "a"},
			{op: "drain", node: "a", want: Disconnected},
			{op: "connect", node: "a", want: Draining, calls: []string{"add a role=web,zone=a", "drain a true"}},
		}},
		{"remove closes the session, forgets the node and refuses it", []step{
			{op: "join", node: "a"},
			{op: "connect", node: "a", want: Ready, calls: []string{"add a role=web,zone=a"}},
			{op: "remove", node: "a", want: gone, calls: []string{"remove a"}},
			{op: "end", node: "a", want: gone},
			{op: "connect", node: "a", want: gone, err: ErrNodeUnknown},
			{op: "remove", node: "a", want: gone, err: store.ErrNotFound},
			{op: "drain", node: "a", want: gone, err: store.ErrNotFound},
			{op: "restart", node: "a", want: gone},
		}},
		{"the local node is always ready, may be drained and cannot be removed", []step{
			{op: "local", node: "l", want: Ready, calls: []string{"add l kind=local"}},
			{op: "wait", d: time.Hour, want: Ready},
			{op: "remove", node: "l", want: Ready, err: ErrLocalNode},
			{op: "drain", node: "l", want: Draining, calls: []string{"drain l true"}},
			{op: "undrain", node: "l", want: Ready, calls: []string{"drain l false"}},
			{op: "connect", node: "l", want: Ready, err: ErrNodeUnknown},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			var sessions []*fakeSession
			var gens []uint64
			for i, s := range tc.steps {
				var err error
				switch s.op {
				case "join":
					rec, uerr := e.st.UpsertNode(t.Context(), store.NodeRecord{ID: s.node, Name: s.node,
						Labels: map[string]string{"zone": "a"}, State: store.NodeReady, JoinedAt: e.clock.Now()})
					if uerr != nil {
						t.Fatal(uerr)
					}
					e.m.joined(rec)
				case "connect":
					sess := &fakeSession{}
					var gen uint64
					gen, err = e.m.connected(t.Context(), s.node, remote.Hello{NodeID: s.node,
						Labels: map[string]string{"zone": "b", "role": "web"}}, &fakeAgent{id: s.node}, sess)
					if err == nil {
						for _, old := range sessions {
							if !old.isClosed() {
								t.Fatalf("step %d: an earlier session was left open", i)
							}
						}
						sessions, gens = append(sessions, sess), append(gens, gen)
					}
				case "beat":
					e.m.heartbeat(s.node, gens[len(gens)-1], remote.Heartbeat{})
				case "end":
					sessions[len(sessions)-1].Close()
					e.m.disconnected(s.node, gens[len(gens)-1], errors.New("EOF"))
				case "end-old":
					sessions[len(sessions)-2].Close()
					e.m.disconnected(s.node, gens[len(gens)-2], errors.New("EOF"))
				case "wait":
					e.m.tick(e.clock.Add(s.d))
				case "drain", "undrain":
					_, err = e.m.Drain(t.Context(), s.node, s.op == "drain")
				case "remove":
					err = e.m.Remove(t.Context(), s.node)
					if err == nil && len(sessions) > 0 && !sessions[len(sessions)-1].isClosed() {
						t.Fatalf("step %d: remove left the session open", i)
					}
				case "restart":
					e = newEnvOn(t, e.dir, e.st)
					sessions, gens = nil, nil
				case "local":
					err = e.m.AddLocal(s.node, &fakeAgent{id: s.node}, map[string]string{"kind": "local"})
				default:
					t.Fatalf("step %d: unknown op %q", i, s.op)
				}
				if s.err == nil && err != nil || s.err != nil && !errors.Is(err, s.err) {
					t.Fatalf("step %d (%s): error %v, want %v", i, s.op, err, s.err)
				}
				if got := e.pool.take(); !slices.Equal(got, s.calls) {
					t.Fatalf("step %d (%s): pool calls %q, want %q", i, s.op, got, s.calls)
				}
				node := s.node
				if node == "" {
					node = tc.steps[0].node
				}
				v, gerr := e.m.Get(t.Context(), node)
				switch {
				case s.want == "":
				case s.want == gone:
					if !errors.Is(gerr, store.ErrNotFound) {
						t.Fatalf("step %d (%s): node %s is %+v, %v; want it gone", i, s.op, node, v, gerr)
					}
				case gerr != nil || v.State != s.want:
					t.Fatalf("step %d (%s): node %s is %q (%v), want %q", i, s.op, node, v.State, gerr, s.want)
				}
			}
		})
	}
}

// TestSilentSessionIsClosed: a session that sends nothing past the timeout is closed, so that
// its agent reconnects.
func TestSilentSessionIsClosed(t *testing.T) {
	e := newEnv(t)
	join(t, e, "a", nil)
	sess := &fakeSession{}
	if _, err := e.m.connected(t.Context(), "a", remote.Hello{NodeID: "a"}, &fakeAgent{id: "a"}, sess); err != nil {
		t.Fatal(err)
	}
	e.m.tick(e.clock.Add(15 * time.Second))
	if sess.isClosed() {
		t.Fatal("closed at the timeout, before it passed")
	}
	e.m.tick(e.clock.Add(time.Second))
	if !sess.isClosed() {
		t.Fatal("a silent session was left open")
	}
	v, _ := e.m.Get(t.Context(), "a")
	if v.Problem == "" || v.Connected {
		t.Fatalf("down node: %+v; want a problem and not connected", v)
	}
}

func join(t *testing.T, e *env, id string, labels map[string]string) {
	t.Helper()
	rec, err := e.st.UpsertNode(t.Context(), store.NodeRecord{ID: id, Name: id, Labels: labels,
		State: store.NodeReady, JoinedAt: e.clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	e.m.joined(rec)
}

// TestEventsReachThePool: the pool's handle of a session is an agent.Watcher: a Resync first,
// then the session's events in order (a resync event from the agent as a Resync, a vanished
// instance as Gone); a stale session's events go nowhere; the watch ends with
// driver.ErrUnavailable once the pool was told the session ended, and at once for a watch of
// an ended session.
func TestEventsReachThePool(t *testing.T) {
	e := newEnv(t)
	join(t, e, "a", nil)
	gen, err := e.m.connected(t.Context(), "a", remote.Hello{NodeID: "a"}, &fakeAgent{id: "a"}, &fakeSession{})
	if err != nil {
		t.Fatal(err)
	}
	events, ended := e.pool.watch(t, "a")
	if ev := nextEvent(t, events); !ev.Resync {
		t.Fatalf("first event %+v, want the Resync", ev)
	}
	e.clock.Add(10 * time.Second)
	e.m.event("a", gen+7, remote.Event{InstanceID: "stale", State: instance.StateExited})
	e.m.event("a", gen, remote.Event{InstanceID: "i1", Function: "hello", State: instance.StateExited, ExitCode: 137, OOMKilled: true, Reason: "die"})
	e.m.event("a", gen, remote.Event{InstanceID: "i2", Function: "hello", State: instance.StateExited, Reason: remote.ReasonGone})
	e.m.event("a", gen, remote.Event{Reason: remote.ReasonResync})
	e.m.event("a", gen, remote.Event{InstanceID: "i3", Function: "hello", State: instance.StatePaused, Reason: "pause"})
	want := []instance.Event{
		{InstanceID: "i1", Function: "hello", State: instance.StateExited, ExitCode: 137, OOMKilled: true, Reason: "die"},
		{InstanceID: "i2", Function: "hello", State: instance.StateExited, Gone: true, Reason: remote.ReasonGone},
		{Resync: true},
		{InstanceID: "i3", Function: "hello", State: instance.StatePaused, Reason: "pause"},
	}
	for i, w := range want {
		if ev := nextEvent(t, events); ev != w {
			t.Fatalf("event %d: %+v, want %+v", i, ev, w)
		}
	}
	// An event is as good as a heartbeat.
	if v, _ := e.m.Get(t.Context(), "a"); !v.LastSeen.Equal(e.clock.Now()) {
		t.Fatalf("last seen %v after an event at %v", v.LastSeen, e.clock.Now())
	}

	e.m.disconnected("a", gen, errors.New("connection reset"))
	select {
	case err := <-ended:
		if !errors.Is(err, driver.ErrUnavailable) {
			t.Fatalf("the watch of an ended session returned %v, want driver.ErrUnavailable", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the watch did not end with its session")
	}
	if got := e.pool.take(); !slices.Equal(got, []string{"add a ", "disconnected a"}) {
		t.Fatalf("pool calls %q", got)
	}
	e.m.event("a", gen, remote.Event{InstanceID: "late", State: instance.StateExited})
	select {
	case ev := <-events:
		t.Fatalf("an event after the session ended reached the pool: %+v", ev)
	default:
	}
	if err := e.pool.agent("a").(agent.Watcher).WatchInstances(t.Context(), func(instance.Event) {
		t.Error("a watch of an ended session got an event")
	}); !errors.Is(err, driver.ErrUnavailable) {
		t.Fatalf("a watch of an ended session returned %v, want driver.ErrUnavailable at once", err)
	}
}

// TestEventsEndWithTheSession: a second session ends the first one's watch (after the pool
// got the new handle, whose watch goes on), and so does the node timeout (after NodeLost).
func TestEventsEndWithTheSession(t *testing.T) {
	e := newEnv(t)
	join(t, e, "a", nil)
	if _, err := e.m.connected(t.Context(), "a", remote.Hello{NodeID: "a"}, &fakeAgent{id: "a"}, &fakeSession{}); err != nil {
		t.Fatal(err)
	}
	_, firstEnded := e.pool.watch(t, "a")
	gen, err := e.m.connected(t.Context(), "a", remote.Hello{NodeID: "a"}, &fakeAgent{id: "a"}, &fakeSession{})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-firstEnded; !errors.Is(err, driver.ErrUnavailable) {
		t.Fatalf("the first session's watch returned %v, want driver.ErrUnavailable", err)
	}
	events, ended := e.pool.watch(t, "a")
	nextEvent(t, events) // its Resync
	e.m.event("a", gen, remote.Event{InstanceID: "i1", State: instance.StateExited})
	if ev := nextEvent(t, events); ev.InstanceID != "i1" {
		t.Fatalf("event %+v, want i1's", ev)
	}
	e.m.tick(e.clock.Add(16 * time.Second))
	if err := <-ended; !errors.Is(err, driver.ErrUnavailable) {
		t.Fatalf("the watch of a node that went down returned %v, want driver.ErrUnavailable", err)
	}
	if got := e.pool.take(); !slices.Equal(got, []string{"add a ", "add a ", "lost a"}) {
		t.Fatalf("pool calls %q", got)
	}
}

// TestUnavailableEndsTheWatch: an agent that says its engine cannot be reached ends the pool's
// watch with driver.ErrUnavailable (the pool then lists the node until it answers); the next
// watch of the same session gets its Resync and the events again.
func TestUnavailableEndsTheWatch(t *testing.T) {
	e := newEnv(t)
	join(t, e, "a", nil)
	gen, err := e.m.connected(t.Context(), "a", remote.Hello{NodeID: "a"}, &fakeAgent{id: "a"}, &fakeSession{})
	if err != nil {
		t.Fatal(err)
	}
	events, ended := e.pool.watch(t, "a")
	nextEvent(t, events) // its Resync
	e.m.event("a", gen, remote.Event{Reason: remote.ReasonUnavailable})
	if err := <-ended; !errors.Is(err, driver.ErrUnavailable) {
		t.Fatalf("the watch returned %v, want driver.ErrUnavailable", err)
	}
	events, _ = e.pool.watch(t, "a")
	if ev := nextEvent(t, events); !ev.Resync {
		t.Fatalf("first event of the new watch %+v, want a Resync", ev)
	}
	e.m.event("a", gen, remote.Event{InstanceID: "i1", State: instance.StateExited})
	if ev := nextEvent(t, events); ev.InstanceID != "i1" {
		t.Fatalf("event %+v, want i1's", ev)
	}
}

// TestListShowsHeartbeatInfo: a heartbeat's info replaces the hello's; List reports the
// driver without its image list, with the count.
func TestListShowsHeartbeatInfo(t *testing.T) {
	e := newEnv(t)
	join(t, e, "b", map[string]string{"zone": "a"})
	join(t, e, "a", nil)
	hello := remote.Hello{NodeID: "b", Version: "v1.2.3", AdvertiseAddr: "10.0.0.2", Labels: map[string]string{"zone": "x", "gpu": "no"},
		Info: agent.NodeInfo{ID: "b", Driver: driver.Fingerprint{Name: "docker", Version: "28.0", Images: []string{"i1"}}}}
	gen, err := e.m.connected(t.Context(), "b", hello, &fakeAgent{id: "b"}, &fakeSession{})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Add(3 * time.Second)
	e.m.heartbeat("b", gen, remote.Heartbeat{Info: &agent.NodeInfo{ID: "b",
		Driver: driver.Fingerprint{Name: "docker", Version: "28.1", Images: []string{"i1", "i2"}}}})
	if err := e.m.AddLocal("local", &fakeAgent{id: "local", fp: driver.Fingerprint{Name: "fake", Images: []string{"x"}}}, nil); err != nil {
		t.Fatal(err)
	}
	list := e.m.List(t.Context())
	if len(list) != 3 || list[0].ID != "a" || list[1].ID != "b" || list[2].ID != "local" {
		t.Fatalf("list sorted by id: %+v", list)
	}
	b := list[1]
	if b.State != Ready || !b.Connected || b.Version != "v1.2.3" || b.AdvertiseAddr != "10.0.0.2" ||
		b.Driver.Version != "28.1" || b.Driver.Images != nil || b.Images != 2 ||
		b.Labels["zone"] != "a" || b.Labels["gpu"] != "no" || !b.LastSeen.Equal(e.clock.Now()) {
		t.Fatalf("node b: %+v", b)
	}
	if l := list[2]; !l.Local || l.Driver.Name != "fake" || l.Images != 1 || l.State != Ready {
		t.Fatalf("local node: %+v", l)
	}
	if a := list[0]; a.State != Disconnected || a.Connected || !a.LastSeen.IsZero() {
		t.Fatalf("node a: %+v", a)
	}
	rec, err := e.st.GetNode(t.Context(), "b")
	if err != nil || rec.AdvertiseAddr != "10.0.0.2" || len(rec.Labels) != 1 {
		t.Fatalf("stored node b: %+v, %v; want the hello's address and the token's labels only", rec, err)
	}
}

// TestLastSeenIsStoredInBatches: heartbeats are written when TouchEvery passed, not each.
func TestLastSeenIsStoredInBatches(t *testing.T) {
	e := newEnv(t)
	join(t, e, "a", nil)
	gen, err := e.m.connected(t.Context(), "a", remote.Hello{NodeID: "a"}, &fakeAgent{id: "a"}, &fakeSession{})
	if err != nil {
		t.Fatal(err)
	}
	if touch := e.m.tick(e.clock.Now()); len(touch) != 0 {
		t.Fatalf("touches right after the connect stored its time: %v", touch)
	}
	e.clock.Add(2 * time.Second)
	e.m.heartbeat("a", gen, remote.Heartbeat{})
	if touch := e.m.tick(e.clock.Now()); len(touch) != 0 {
		t.Fatalf("touched before TouchEvery: %v", touch)
	}
	beat := e.clock.Add(8 * time.Second)
	e.m.heartbeat("a", gen, remote.Heartbeat{})
	touch := e.m.tick(e.clock.Now())
	if !touch["a"].Equal(beat) || len(touch) != 1 {
		t.Fatalf("touches %v, want a at %v", touch, beat)
	}
	e.m.storeTouches(t.Context(), touch)
	rec, err := e.st.GetNode(t.Context(), "a")
	if err != nil || !rec.LastSeen.Equal(beat) {
		t.Fatalf("stored last seen %v (%v), want %v", rec.LastSeen, err, beat)
	}
	if touch := e.m.tick(e.clock.Add(10 * time.Second)); len(touch) != 0 {
		t.Fatalf("touched again with nothing new: %v", touch)
	}
}

func TestAddLocalTwice(t *testing.T) {
	e := newEnv(t)
	if err := e.m.AddLocal("l", &fakeAgent{}, nil); err != nil {
		t.Fatal(err)
	}
	if err := e.m.AddLocal("l", &fakeAgent{}, nil); err == nil {
		t.Fatal("a second local node with the same id was added")
	}
	if a, ok := e.m.Agent("l"); !ok || a == nil {
		t.Fatal("Agent of the local node")
	}
	if _, ok := e.m.Agent("nope"); ok {
		t.Fatal("Agent of an unknown node")
	}
}
