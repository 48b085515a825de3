package store

import (
	"context"
	"time"
)

// TriggerState is where one cron trigger of a function is, kept so that a restarted server
// knows which scheduled times it missed (scheduler/triggers).
type TriggerState struct {
	Function string
	Name     string
	// Schedule identifies the schedule the state belongs to (the trigger's schedule and
	// timezone, as scheduler/triggers writes it): a trigger whose schedule changed starts
	// afresh.
	Schedule string
	// RegisteredAt is when the trigger was first scheduled with this schedule: no time before
	// it is ever missed.
	RegisteredAt time.Time
	// LastFired is the scheduled time of the last firing (zero: none), and LastCallID its call.
	LastFired  time.Time
	LastCallID string
}

// TriggerStore keeps the state of cron triggers.
type TriggerStore interface {
	// ListTriggerStates returns every trigger state, by function then name.
	ListTriggerStates(ctx context.Context) ([]TriggerState, error)

	// PutTriggerState stores s, replacing the state of the same function and name.
	PutTriggerState(ctx context.Context, s TriggerState) error

	// DeleteTriggerState removes the state of one trigger; name "" removes every trigger of
	// the function. Removing what is not there is no error.
	DeleteTriggerState(ctx context.Context, function, name string) error
}
