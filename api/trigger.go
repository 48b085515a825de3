package api

import "time"

// Trigger types a func.yaml may declare. Only cron triggers do anything: an http trigger (Fn's
// `{type: http, source: /x}`) is accepted so that an Fn function deploys unchanged, and dropped,
// since every function already has its URL.
const (
	TriggerCron = "cron"
	TriggerHTTP = "http"
)

// HeaderTrigger is on every call a trigger makes: "cron/<name>". A caller of /invoke can set it
// too, so a handler must not trust it for authorization; the call record's Trigger is set only
// by the server.
const HeaderTrigger = "Hearth-Trigger"

// HeaderTriggerTime is the scheduled time a trigger's call stands for (RFC 3339, in the
// trigger's timezone); for a catch-up call, the latest missed time.
const HeaderTriggerTime = "Hearth-Trigger-Time"

// HeaderTriggerMissed is on a catch-up call only: how many scheduled times it stands for.
const HeaderTriggerMissed = "Hearth-Trigger-Missed"

// Trigger is a cron trigger of a function (func.yaml `triggers`). Each firing is an async call
// to the function, with a call record, retries and callback like any other
// (docs/user/triggers.md).
type Trigger struct {
	// Name identifies the trigger within its function; func.yaml defaults it to "cron-1",
	// "cron-2"... by position.
	Name string `json:"name"`
	// Type is TriggerCron.
	Type string `json:"type"`
	// Schedule is a 5-field cron expression ("*/5 * * * *"), a descriptor such as "@hourly", or
	// hearth's "@every 30s" (at least 1 s).
	Schedule string `json:"schedule"`
	// Timezone is an IANA zone name ("Europe/Berlin") the schedule is read in; empty for UTC.
	Timezone string `json:"timezone,omitempty"`
	// Path is the path (and query) the call is made to; empty for "/".
	Path string `json:"path,omitempty"`
	// Body is the call's request body.
	Body string `json:"body,omitempty"`
	// Headers are set on the call's request.
	Headers map[string]string `json:"headers,omitempty"`
}

// TriggerStatus is one trigger as GET /v1/functions/{name}/triggers reports it.
type TriggerStatus struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Schedule string `json:"schedule"`
	// Timezone is the zone the schedule is read in ("UTC" when the trigger names none).
	Timezone string `json:"timezone"`
	// Next is the next scheduled time; zero until the server has scheduled the trigger.
	Next time.Time `json:"next,omitzero"`
	// LastFired is the scheduled time of the last firing (for a catch-up, the latest missed
	// time); zero when it has not fired.
	LastFired time.Time `json:"last_fired,omitzero"`
	// LastCallID is the async call of the last firing, and LastStatus that call's status now
	// ("" when its record is gone).
	LastCallID string     `json:"last_call_id,omitempty"`
	LastStatus CallStatus `json:"last_status,omitempty"`
}

// TriggerList is the body of GET /v1/functions/{name}/triggers, in func.yaml's order.
type TriggerList struct {
	Items []TriggerStatus `json:"items"`
}
