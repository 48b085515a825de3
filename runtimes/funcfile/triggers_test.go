package funcfile

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hearthfn/hearth/api"
)

func TestParseTriggers(t *testing.T) {
	spec, err := Parse([]byte(base + `triggers:
  - type: http
    name: web
    source: /hello
  - type: cron
    schedule: "*/5 * * * *"
  - name: nightly
    type: cron
    schedule: "30 2 * * *"
    timezone: Europe/Berlin
    path: /tick?from=cron
    body: '{"job": "report"}'
    headers:
      Content-Type: application/json
  - type: cron
    schedule: "@every 2s"
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []api.Trigger{
		{Name: "cron-1", Type: "cron", Schedule: "*/5 * * * *"},
		{Name: "nightly", Type: "cron", Schedule: "30 2 * * *", Timezone: "Europe/Berlin", Path: "/tick?from=cron",
			Body: `{"job": "report"}`, Headers: map[string]string{"Content-Type": "application/json"}},
		{Name: "cron-3", Type: "cron", Schedule: "@every 2s"},
	}
	if !reflect.DeepEqual(spec.Triggers, want) {
		t.Fatalf("triggers:\n got %+v\nwant %+v", spec.Triggers, want)
	}
}

func TestParseTriggersErrors(t *testing.T) {
	tests := []struct {
		name, yaml, field, reason string
	}{
		{"not a list", "triggers: {type: cron}\n", "triggers", "must be a list"},
		{"item not a mapping", "triggers: [cron]\n", "triggers[0]", "must be a mapping"},
		{"no type", "triggers: [{schedule: '@hourly'}]\n", "triggers[0].type", "is required"},
		{"unknown type near", "triggers: [{type: corn, schedule: '@hourly'}]\n", "triggers[0].type", `did you mean "cron"`},
		{"unknown type", "triggers: [{type: queue}]\n", "triggers[0].type", `"queue" is not a trigger type`},
		{"unknown key near", "triggers: [{type: cron, schedle: '@hourly'}]\n", "triggers[0].schedle", `did you mean "schedule"`},
		{"unknown key", "triggers: [{type: cron, schedule: '@hourly', colour: red}]\n", "triggers[0].colour", "a cron trigger takes name, type, schedule"},
		{"http key on cron", "triggers: [{type: cron, schedule: '@hourly', source: /x}]\n", "triggers[0].source", "unknown key"},
		{"no schedule", "triggers: [{type: cron}]\n", "triggers[0].schedule", "schedule is required"},
		{"six fields", "triggers: [{type: cron, schedule: '0 */5 * * * *'}]\n", "triggers[0].schedule", "use 5 fields"},
		{"bad field", "triggers: [{type: cron, schedule: '61 * * * *'}]\n", "triggers[0].schedule", "61"},
		{"never", "triggers: [{type: cron, schedule: '0 0 30 2 *'}]\n", "triggers[0].schedule", "no time that ever comes"},
		{"every too short", "triggers: [{type: cron, schedule: '@every 500ms'}]\n", "triggers[0].schedule", "at least 1s"},
		{"every not whole seconds", "triggers: [{type: cron, schedule: '@every 1500ms'}]\n", "triggers[0].schedule", "whole number of seconds"},
		{"tz in schedule", "triggers: [{type: cron, schedule: 'CRON_TZ=UTC 0 * * * *'}]\n", "triggers[0].schedule", "timezone key"},
		{"bad timezone", "triggers: [{type: cron, schedule: '@hourly', timezone: Mars/Olympus}]\n", "triggers[0].timezone", "IANA zone"},
		{"Local is not a zone", "triggers: [{type: cron, schedule: '@hourly', timezone: Local}]\n", "triggers[0].timezone", "IANA zone"},
		{"duplicate names", "triggers: [{type: cron, schedule: '@hourly', name: a}, {type: cron, schedule: '@daily', name: a}]\n",
			"triggers[1].name", "names must be unique"},
		{"default name taken", "triggers: [{type: cron, schedule: '@hourly'}, {type: cron, schedule: '@daily', name: cron-1}]\n",
			"triggers[1].name", "unique"},
		{"bad name", "triggers: [{type: cron, schedule: '@hourly', name: 'Every Hour'}]\n", "triggers[0].name", "lowercase"},
		{"path without slash", "triggers: [{type: cron, schedule: '@hourly', path: tick}]\n", "triggers[0].path", "must be a path"},
		{"path with host", "triggers: [{type: cron, schedule: '@hourly', path: 'http://x/tick'}]\n", "triggers[0].path", "must be a path"},
		{"body not a string", "triggers: [{type: cron, schedule: '@hourly', body: {a: 1}}]\n", "triggers[0].body", "must be a string"},
		{"headers not a mapping", "triggers: [{type: cron, schedule: '@hourly', headers: [a]}]\n", "triggers[0].headers", "mapping"},
		{"reserved header", "triggers: [{type: cron, schedule: '@hourly', headers: {hearth-trigger: x}}]\n", "triggers[0].headers.hearth-trigger", "set by hearth"},
		{"bad header name", "triggers: [{type: cron, schedule: '@hourly', headers: {'a b': x}}]\n", "triggers[0].headers.a b", "not a header name"},
		{"key twice", "triggers: [{type: cron, schedule: '@hourly', schedule: '@daily'}]\n", "triggers[0].schedule", "set twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(base + tt.yaml))
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("want a FieldError, got %v", err)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error does not wrap ErrInvalid: %v", err)
			}
			if fe.Field != tt.field || !strings.Contains(fe.Reason, tt.reason) {
				t.Fatalf("got field %q reason %q; want field %q reason containing %q", fe.Field, fe.Reason, tt.field, tt.reason)
			}
		})
	}
}

// TestValidateTriggers: a spec that did not come from func.yaml (the API, the store) is checked
// the same way.
func TestValidateTriggers(t *testing.T) {
	s := api.FunctionSpec{Name: "hello", Runtime: "go", Triggers: []api.Trigger{{Name: "x", Type: "cron", Schedule: "bad"}}}
	var fe *FieldError
	if err := Validate(s); !errors.As(err, &fe) || fe.Field != "triggers[0].schedule" {
		t.Fatalf("got %v", err)
	}
	s.Triggers[0].Schedule = "@daily"
	if err := Validate(s); err != nil {
		t.Fatal(err)
	}
}

func TestParseScheduleTimes(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		schedule, tz string
		from, want   time.Time
	}{
		{"*/5 * * * *", "", time.Date(2030, 1, 1, 10, 2, 3, 0, time.UTC), time.Date(2030, 1, 1, 10, 5, 0, 0, time.UTC)},
		{"@hourly", "", time.Date(2030, 1, 1, 10, 2, 3, 0, time.UTC), time.Date(2030, 1, 1, 11, 0, 0, 0, time.UTC)},
		{"@every 2s", "", time.Date(2030, 1, 1, 10, 2, 3, 0, time.UTC), time.Date(2030, 1, 1, 10, 2, 5, 0, time.UTC)},
		// 09:00 in Berlin is 08:00 UTC in winter, 07:00 UTC in summer.
		{"0 9 * * *", "Europe/Berlin", time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC), time.Date(2030, 1, 2, 9, 0, 0, 0, berlin)},
		{"0 9 * * *", "Europe/Berlin", time.Date(2030, 7, 1, 12, 0, 0, 0, time.UTC), time.Date(2030, 7, 2, 7, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		sched, loc, err := ParseSchedule(tt.schedule, tt.tz)
		if err != nil {
			t.Fatalf("%s: %v", tt.schedule, err)
		}
		if got := sched.Next(tt.from.In(loc)); !got.Equal(tt.want) {
			t.Errorf("%s in %q after %s: got %s, want %s", tt.schedule, tt.tz, tt.from, got, tt.want)
		}
	}
}
