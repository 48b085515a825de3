package remote_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/hearthfn/hearth/agent"
	"github.com/hearthfn/hearth/agent/instance"
	"github.com/hearthfn/hearth/agent/remote"
)

func TestMessagesRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	enc := remote.NewEncoder(&buf)
	info := agent.NodeInfo{ID: "web-1a2b3c4d"}
	msgs := []remote.Message{
		remote.NewHello(remote.Hello{NodeID: "web-1a2b3c4d", Name: "web", Labels: map[string]string{"zone": "a"},
			AdvertiseAddr: "10.0.0.7", Version: "dev", Info: info}),
		remote.NewWelcome(remote.Welcome{HeartbeatIntervalMS: 2000}),
		remote.NewHeartbeat(remote.Heartbeat{}),
		remote.NewHeartbeat(remote.Heartbeat{Info: &info}),
		remote.NewEvent(remote.Event{InstanceID: "i1", Function: "f", State: instance.StateExited, ExitCode: 137, OOMKilled: true, Reason: "OOMKilled"}),
	}
	for _, m := range msgs {
		if err := enc.Send(m); err != nil {
			t.Fatal(err)
		}
	}
	if got := strings.Count(buf.String(), "\n"); got != len(msgs) {
		t.Fatalf("%d lines for %d messages:\n%s", got, len(msgs), buf.String())
	}
	first, _, _ := strings.Cut(buf.String(), "\n")
	if !strings.HasPrefix(first, `{"type":"hello","version":1,"hello":{"node_id":"web-1a2b3c4d","name":"web",`) {
		t.Errorf("the wire form changed: %s", first)
	}
	dec := remote.NewDecoder(&buf)
	for i, want := range msgs {
		got, err := dec.Next()
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if got.Type != want.Type || got.Version != remote.ProtocolVersion {
			t.Fatalf("message %d: %+v", i, got)
		}
	}
	if m := msgs[0]; m.Hello.Labels["zone"] != "a" {
		t.Error("labels lost")
	}
	if _, err := dec.Next(); err != io.EOF {
		t.Fatalf("after the last message: %v, want io.EOF", err)
	}
}

func TestDecoderRefuses(t *testing.T) {
	for _, tc := range []struct {
		line string
		is   error
		want string
	}{
		{`{"type":"heartbeat","version":2,"heartbeat":{}}`, remote.ErrProtocolVersion, "version 2"},
		{`{"type":"heartbeat","heartbeat":{}}`, remote.ErrProtocolVersion, "version 0"},
		{`{"type":"hello","version":1}`, nil, `without its "hello" payload`},
		{`not json`, nil, "bad message"},
		{`{"type":"event","version":1,"event":` + strings.Repeat(" ", 5<<20) + `{}}`, nil, "too long"},
	} {
		_, err := remote.NewDecoder(strings.NewReader(tc.line + "\n")).Next()
		if err == nil || (tc.is != nil && !errors.Is(err, tc.is)) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%.60s: %v, want an error saying %q", tc.line, err, tc.want)
		}
	}
}

func TestDecoderPassesUnknownTypes(t *testing.T) {
	dec := remote.NewDecoder(strings.NewReader("\n" + `{"type":"drain","version":1,"drain":{"x":1}}` + "\n"))
	m, err := dec.Next()
	if err != nil || m.Type != "drain" {
		t.Fatalf("an unknown type: %+v, %v", m, err)
	}
}

// TestEventConversions checks the wire form of instance events both ways: a resync, an exit, a
// removal, and an older agent's vanished instance (no Gone field).
func TestEventConversions(t *testing.T) {
	for _, ev := range []instance.Event{
		{Resync: true},
		{InstanceID: "i1", Function: "f", State: instance.StateExited, ExitCode: 137, OOMKilled: true, Reason: "die"},
		{InstanceID: "i1", Function: "f", State: instance.StateExited, Gone: true, Reason: "destroy"},
		{InstanceID: "i1", Function: "f", State: instance.StatePaused, Reason: "pause"},
	} {
		wire := remote.EventOf(ev)
		if wire.IsResync() != ev.Resync {
			t.Errorf("%+v: IsResync = %v", ev, wire.IsResync())
		}
		if got := wire.InstanceEvent(); got != ev {
			t.Errorf("round trip of %+v = %+v", ev, got)
		}
	}
	if r := remote.EventOf(instance.Event{Resync: true}); r.Reason != "resync" || r.InstanceID != "" {
		t.Errorf("the wire form of a resync changed: %+v", r)
	}
	old := remote.Event{InstanceID: "i1", Function: "f", State: instance.StateExited, Reason: remote.ReasonGone}
	if got := old.InstanceEvent(); !got.Gone {
		t.Errorf("an older agent's vanished instance = %+v, want Gone", got)
	}
	if (remote.Event{InstanceID: "i1", Reason: remote.ReasonResync}).IsResync() {
		t.Error("an event about an instance read as a resync")
	}
}
