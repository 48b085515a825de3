package remote

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/hearthfn/hearth/agent"
	"github.com/hearthfn/hearth/agent/instance"
)

// ProtocolVersion is the version of the control stream's messages. Every message carries it; a
// peer that reads another version refuses the session (ErrProtocolVersion).
const ProtocolVersion = 1

// Message types on the control stream. The agent sends hello first, then heartbeats and events;
// the server answers hello with one welcome and sends nothing else.
const (
	TypeHello     = "hello"
	TypeWelcome   = "welcome"
	TypeHeartbeat = "heartbeat"
	TypeEvent     = "event"
)

// maxMessageBytes bounds one line of the control stream. A hello carries the node's image list,
// which is the largest thing sent; a peer that sends more is broken or hostile.
const maxMessageBytes = 4 << 20

// ErrProtocolVersion: the peer speaks another version of the control stream.
var ErrProtocolVersion = errors.New("unsupported control protocol version")

// Message is one line of the control stream: a JSON object with the type, the protocol
// version, and the payload of that type under the key named like the type, e.g.
//
//	{"type":"heartbeat","version":1,"heartbeat":{}}
type Message struct {
	Type      string     `json:"type"`
	Version   int        `json:"version"`
	Hello     *Hello     `json:"hello,omitempty"`
	Welcome   *Welcome   `json:"welcome,omitempty"`
	Heartbeat *Heartbeat `json:"heartbeat,omitempty"`
	Event     *Event     `json:"event,omitempty"`
}

// Hello is the agent's first message: who it is and what it offers.
type Hello struct {
	NodeID        string            `json:"node_id"`
	Name          string            `json:"name"`
	Labels        map[string]string `json:"labels,omitempty"`
	AdvertiseAddr string            `json:"advertise_addr,omitempty"`
	// Version is the agent's hearth version (e.g. "v0.11.0", "dev").
	Version string         `json:"version"`
	Info    agent.NodeInfo `json:"info"`
}

// Welcome is the server's answer to hello.
type Welcome struct {
	// HeartbeatIntervalMS is how often the agent sends a heartbeat, in milliseconds.
	HeartbeatIntervalMS int64 `json:"heartbeat_interval_ms"`
}

// Heartbeat says the agent is alive. Info is set when the node's info changed since the last
// one that carried it, and at least every 10 s; otherwise nil.
type Heartbeat struct {
	Info *agent.NodeInfo `json:"info,omitempty"`
}

// Event says an instance changed state on the agent's node, or vanished from it (Gone, with
// State instance.StateExited; Reason "gone" when the driver no longer lists it, the engine's
// word when its event stream said so), or, with Reason ReasonResync and no instance, that the
// agent's report of changes (re)started and the server should list the node once.
type Event struct {
	InstanceID string         `json:"instance_id"`
	Function   string         `json:"function"`
	State      instance.State `json:"state"`
	ExitCode   int            `json:"exit_code"`
	OOMKilled  bool           `json:"oom_killed"`
	Reason     string         `json:"reason,omitempty"`
	// Gone says the engine no longer has the instance. Agents before it sent a vanished
	// instance as State exited with Reason "gone" only; they still do both.
	Gone bool `json:"gone,omitempty"`
}

// Reasons of an Event that are not the engine's own words.
const (
	// ReasonGone is the Event.Reason of an instance the driver stopped listing.
	ReasonGone = "gone"
	// ReasonResync is the Event.Reason of a resync (instance.Event.Resync): the agent watches
	// its driver's events and its stream of them (re)started, so changes just before may not
	// have been reported; every change after it will be. The server lists the node once. A
	// server that predates it reads it as an event about an unknown instance, which it answers
	// the same way: by listing the node.
	ReasonResync = "resync"
	// ReasonUnavailable is the Event.Reason, with no instance, of an agent whose engine cannot
	// be reached (its driver's event stream ended with driver.ErrUnavailable): the server takes
	// the node's engine for unreachable until listings of it work again, as when its own
	// listing fails. An agent whose events resume sends a resync. A server that predates it
	// reads it as an event about an unknown instance and lists the node, which fails alike.
	ReasonUnavailable = "unavailable"
)

// IsUnavailable reports whether e says the agent's engine cannot be reached.
func (e Event) IsUnavailable() bool { return e.Reason == ReasonUnavailable && e.InstanceID == "" }

// IsResync reports whether e is a resync rather than news of one instance.
func (e Event) IsResync() bool { return e.Reason == ReasonResync && e.InstanceID == "" }

// EventOf is the wire form of a driver's instance event (a resync included).
func EventOf(ev instance.Event) Event {
	if ev.Resync {
		return Event{Reason: ReasonResync}
	}
	return Event{InstanceID: ev.InstanceID, Function: ev.Function, State: ev.State, ExitCode: ev.ExitCode,
		OOMKilled: ev.OOMKilled, Reason: ev.Reason, Gone: ev.Gone}
}

// InstanceEvent is e as a driver's instance event, for a server that follows a remote node's
// events as it follows a local driver's. A vanished instance from an agent that predates Gone
// (Reason "gone") is Gone too. The wire carries no event time: Time is zero.
func (e Event) InstanceEvent() instance.Event {
	if e.IsResync() {
		return instance.Event{Resync: true}
	}
	return instance.Event{InstanceID: e.InstanceID, Function: e.Function, State: e.State, ExitCode: e.ExitCode,
		OOMKilled: e.OOMKilled, Reason: e.Reason, Gone: e.Gone || e.Reason == ReasonGone}
}

// Encoder writes messages to a control stream, one JSON object per line. It is safe for
// concurrent use (the heartbeat and the event watcher share one stream).
type Encoder struct {
	mu sync.Mutex
	w  io.Writer
}

// NewEncoder returns an Encoder writing to w.
func NewEncoder(w io.Writer) *Encoder { return &Encoder{w: w} }

// Send writes m as one line, with Version set to ProtocolVersion.
func (e *Encoder) Send(m Message) error {
	m.Version = ProtocolVersion
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode %s message: %w", m.Type, err)
	}
	b = append(b, '\n')
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, err := e.w.Write(b); err != nil {
		return fmt.Errorf("send %s message: %w", m.Type, err)
	}
	return nil
}

// Decoder reads messages from a control stream. It is not safe for concurrent use.
type Decoder struct {
	s *bufio.Scanner
}

// NewDecoder returns a Decoder reading from r.
func NewDecoder(r io.Reader) *Decoder {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 0, 64<<10), maxMessageBytes)
	return &Decoder{s: s}
}

// Next returns the next message. It returns io.EOF when the stream ends cleanly, and
// ErrProtocolVersion (wrapped) for a message of another version. Messages of a type this
// version does not know are returned as they are: the caller skips them.
func (d *Decoder) Next() (Message, error) {
	for d.s.Scan() {
		line := d.s.Bytes()
		if len(line) == 0 {
			continue
		}
		var m Message
		if err := json.Unmarshal(line, &m); err != nil {
			return Message{}, fmt.Errorf("control stream: bad message: %w", err)
		}
		if m.Version != ProtocolVersion {
			return Message{}, fmt.Errorf("control stream: message version %d, this side speaks %d: %w", m.Version, ProtocolVersion, ErrProtocolVersion)
		}
		if err := m.check(); err != nil {
			return Message{}, err
		}
		return m, nil
	}
	if err := d.s.Err(); err != nil {
		return Message{}, fmt.Errorf("control stream: %w", err)
	}
	return Message{}, io.EOF
}

// check makes sure a known message type carries its payload, so readers need not check for nil.
func (m Message) check() error {
	missing := false
	switch m.Type {
	case TypeHello:
		missing = m.Hello == nil
	case TypeWelcome:
		missing = m.Welcome == nil
	case TypeHeartbeat:
		missing = m.Heartbeat == nil
	case TypeEvent:
		missing = m.Event == nil
	}
	if missing {
		return fmt.Errorf("control stream: %s message without its %q payload", m.Type, m.Type)
	}
	return nil
}

// NewHello wraps a hello in its Message.
func NewHello(h Hello) Message { return Message{Type: TypeHello, Hello: &h} }

// NewWelcome wraps a welcome in its Message.
func NewWelcome(w Welcome) Message { return Message{Type: TypeWelcome, Welcome: &w} }

// NewHeartbeat wraps a heartbeat in its Message.
func NewHeartbeat(h Heartbeat) Message { return Message{Type: TypeHeartbeat, Heartbeat: &h} }

// NewEvent wraps an event in its Message.
func NewEvent(e Event) Message { return Message{Type: TypeEvent, Event: &e} }
