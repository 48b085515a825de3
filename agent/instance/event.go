package instance

import "time"

// Event is a change of one instance's state on its node, as the engine reports it (a container
// that died, was paused or removed), or a Resync marker. Drivers that implement driver.Watcher
// send them; the pool applies each to the one instance it names instead of listing the node.
type Event struct {
	// Resync says the stream of events (re)started: changes before it may have been missed, and
	// every change after it will be reported. Whoever keeps a view of the node lists it once
	// upon a Resync; the other fields are empty.
	Resync bool `json:"resync,omitempty"`
	// InstanceID is hearth's id of the instance (not the engine's container id).
	InstanceID string `json:"instance_id,omitempty"`
	// Function is the pool entry the instance belongs to, from its labels.
	Function string `json:"function,omitempty"`
	// State is the instance's state after the change: running (started, or thawed), paused,
	// or exited. Gone says the engine no longer has the instance at all (removed).
	State State `json:"state,omitempty"`
	Gone  bool  `json:"gone,omitempty"`
	// ExitCode and OOMKilled describe an exit (State exited).
	ExitCode  int  `json:"exit_code,omitempty"`
	OOMKilled bool `json:"oom_killed,omitempty"`
	// Reason is the engine's word for the change ("die", "oom", "destroy", "pause"...).
	Reason string `json:"reason,omitempty"`
	// Time is when the engine made the change (zero when it does not say).
	Time time.Time `json:"time,omitzero"`
}
